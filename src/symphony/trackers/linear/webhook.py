"""Linear webhooks: the signature, the timestamp, and which issue an event is about.

Linear signs every delivery: ``Linear-Signature`` is the hex HMAC-SHA256 of the raw body keyed
with the webhook's signing secret. The body's ``webhookTimestamp`` (ms since the epoch) says
when it was sent, and ``Linear-Delivery`` names the delivery (the body's ``webhookId`` names
the webhook itself, the same on every delivery, so it cannot tell deliveries apart).

Only ``Issue`` events can change which issues run: ``data.id`` is the issue, ``data.projectId``
its project, and ``updatedFrom.projectId`` the project it left, when it moved. Comments,
attachments, reactions, labels, projects and cycles change nothing the scheduler reads (an
issue's labels changing arrives as an ``Issue`` event), so they are answered and ignored.

The configured project is named by its slug; events carry its id. The id is asked for once per
adapter (``SymphonyProjectId``) and cached; a failed lookup is not cached.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from typing import Any

from symphony.logs import get_logger
from symphony.trackers.base import TRACKER_RESPONSE, TrackerError
from symphony.trackers.linear.client import LinearClient
from symphony.trackers.linear.settings import LinearSettings
from symphony.webhooks import (
    WEBHOOKS_NOT_ENABLED,
    WebhookDelivery,
    WebhookNotice,
    WebhookRejected,
    WebhookScope,
)

log = get_logger("symphony.trackers.linear")

PROVIDER = "linear"
SIGNATURE_HEADER = "linear-signature"
DELIVERY_HEADER = "linear-delivery"
# Linear's guidance: refuse deliveries sent more than a minute ago (or, with a skewed clock,
# a minute ahead), which bounds how long a captured delivery could be replayed.
TIMESTAMP_TOLERANCE_MS = 60_000

INVALID_SIGNATURE = "invalid_signature"
STALE_WEBHOOK = "stale_webhook"
INVALID_JSON = "invalid_json"
INVALID_WEBHOOK = "invalid_webhook"

PROJECT_OPERATION = "SymphonyProjectId"
PROJECT_QUERY = """
query SymphonyProjectId($projectSlug: String!) {
  projects(filter: {slugId: {eq: $projectSlug}}, first: 1) { nodes { id } }
}
"""


def read_delivery(secret: str, delivery: WebhookDelivery, now_ms: float) -> WebhookNotice:
    """Check one delivery and say what it is about; raises ``WebhookRejected``.

    The signature is checked before the body is parsed, so nothing unsigned is ever read.
    """
    expected = hmac.new(secret.encode(), delivery.body, hashlib.sha256).hexdigest()
    given = delivery.headers.get(SIGNATURE_HEADER, "").strip().lower()
    if not given:
        raise WebhookRejected(401, INVALID_SIGNATURE, "the Linear-Signature header is missing")
    if not hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace")):
        raise WebhookRejected(
            401,
            INVALID_SIGNATURE,
            "Linear-Signature does not match the body signed with "
            "tracker.provider.webhook_secret (is it the secret of this webhook?)",
        )
    payload = _json_object(delivery.body)
    _check_timestamp(payload.get("webhookTimestamp"), now_ms)
    delivery_id = delivery.headers.get(DELIVERY_HEADER, "").strip()
    if not delivery_id:
        raise WebhookRejected(400, INVALID_WEBHOOK, "the Linear-Delivery header is missing")
    return _notice(payload, delivery_id, expected)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except ValueError as exc:  # also UnicodeDecodeError
        raise WebhookRejected(400, INVALID_JSON, f"the body is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise WebhookRejected(400, INVALID_JSON, "the body is JSON but not an object")
    return payload


def _check_timestamp(value: Any, now_ms: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise WebhookRejected(
            400, INVALID_WEBHOOK, "webhookTimestamp (ms since the epoch) is missing or not a number"
        )
    skew_ms = now_ms - value
    if abs(skew_ms) > TIMESTAMP_TOLERANCE_MS:
        when = "old" if skew_ms > 0 else "in the future"
        raise WebhookRejected(
            401,
            STALE_WEBHOOK,
            f"webhookTimestamp is {abs(skew_ms) / 1000:.0f} s {when}; deliveries more than "
            f"{TIMESTAMP_TOLERANCE_MS // 1000} s off this machine's clock are refused (a replay, "
            "or a clock that needs NTP)",
        )


def _notice(payload: dict[str, Any], delivery_id: str, fingerprint: str) -> WebhookNotice:
    kind = payload.get("type")
    action = payload.get("action")
    data = payload.get("data")
    if kind != "Issue":
        name = kind if isinstance(kind, str) and kind else "untyped"
        return WebhookNotice(
            delivery_id,
            fingerprint,
            subject=f"{name} event",
            note=f"Linear {name} events do not change which issues run",
        )
    issue_id = data.get("id") if isinstance(data, dict) else None
    if not isinstance(issue_id, str) or not issue_id.strip():
        raise WebhookRejected(400, INVALID_WEBHOOK, "an Issue event without data.id")
    assert isinstance(data, dict)
    identifier = data.get("identifier")
    previous = payload.get("updatedFrom")
    projects = [data.get("projectId")]
    if isinstance(previous, dict):
        projects.append(previous.get("projectId"))
    verb = action if isinstance(action, str) and action else "change"
    label = identifier if isinstance(identifier, str) and identifier else issue_id
    return WebhookNotice(
        delivery_id,
        fingerprint,
        subject=f"Issue {label} ({verb})",
        issue_ids=(issue_id.strip(),),
        scopes=frozenset(p for p in projects if isinstance(p, str) and p),
    )


class LinearWebhooks:
    """The webhook side of one Linear adapter: its secret, and its project's id once known."""

    def __init__(self, settings: LinearSettings, client: LinearClient) -> None:
        self._settings = settings
        self._client = client
        self._project_id: str | None = None
        self._lock = asyncio.Lock()

    def problem(self) -> str | None:
        if self._settings.webhook_secret:
            return None
        return (
            "Linear webhooks are off: set tracker.provider.webhook_secret to the signing secret "
            "Linear shows for the webhook (for example webhook_secret: $LINEAR_WEBHOOK_SECRET)"
        )

    def verify(self, delivery: WebhookDelivery, now_ms: float) -> WebhookNotice:
        secret = self._settings.webhook_secret
        if not secret:
            raise WebhookRejected(404, WEBHOOKS_NOT_ENABLED, self.problem() or "")
        return read_delivery(secret, delivery, now_ms)

    async def scope(self, notice: WebhookNotice) -> WebhookScope:
        if not notice.issue_ids:
            return WebhookScope((), notice.note)
        if await self.project_id() in notice.scopes:
            return WebhookScope(notice.issue_ids)
        slug = self._settings.project_slug
        return WebhookScope((), f"{notice.subject} is not in project {slug}")

    async def project_id(self) -> str:
        """The configured project's id, asked once per adapter; a failure is not cached."""
        async with self._lock:
            if self._project_id is not None:
                return self._project_id
            op = PROJECT_OPERATION
            body = await self._client.graphql(
                PROJECT_QUERY, {"projectSlug": self._settings.project_slug}, operation=op
            )
            data = body.get("data")
            projects = data.get("projects") if isinstance(data, dict) else None
            nodes = projects.get("nodes") if isinstance(projects, dict) else None
            first = nodes[0] if isinstance(nodes, list) and nodes else None
            found = first.get("id") if isinstance(first, dict) else None
            if body.get("errors") or not isinstance(found, str) or not found:
                raise TrackerError(
                    TRACKER_RESPONSE,
                    f"Linear returned no project with slugId {self._settings.project_slug!r} "
                    "for this key; check tracker.provider.project_slug",
                )
            self._project_id = found
            log.info("linear project resolved", project_slug=self._settings.project_slug)
            return found
