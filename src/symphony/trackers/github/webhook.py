"""GitHub webhooks: the signature, and which issue an event is about.

GitHub signs every delivery: ``X-Hub-Signature-256`` is ``sha256=`` and the hex HMAC-SHA256 of
the raw body keyed with the webhook's secret. ``X-GitHub-Delivery`` names the delivery (a GUID,
the same when GitHub or a person redelivers it, so a replay is refused by the runtime) and
``X-GitHub-Event`` the kind of event. GitHub sends no timestamp to check: a captured delivery
can only be replayed under its own delivery id, or under a new one with the same signed body,
and the runtime refuses both (``WebhookNotice.fingerprint``).

Events that can change which issues run:

- ``issues`` (opened, edited, closed, reopened, labeled, unlabeled, assigned, transferred, ...):
  ``issue.node_id`` is the issue, ``repository.full_name`` its repository;
- ``projects_v2_item`` (created, edited, deleted, archived, restored, converted, ...): the item's
  ``content_node_id`` is the issue when ``content_type`` is ``Issue``, ``project_node_id`` the
  board. GitHub sends these only to organisation webhooks and GitHub Apps, never for boards
  owned by a user (docs/trackers/github.md says what to do then).

Comments, pull requests, labels themselves and every other event change nothing the scheduler
reads; they are answered and ignored, as is the ``ping`` GitHub sends when a webhook is made.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any

from symphony.trackers.github.settings import GitHubSettings
from symphony.webhooks import (
    WEBHOOKS_NOT_ENABLED,
    WebhookDelivery,
    WebhookNotice,
    WebhookRejected,
    WebhookScope,
)

PROVIDER = "github"
SIGNATURE_HEADER = "x-hub-signature-256"
DELIVERY_HEADER = "x-github-delivery"
EVENT_HEADER = "x-github-event"
_SIGNATURE_PREFIX = "sha256="

INVALID_SIGNATURE = "invalid_signature"
INVALID_JSON = "invalid_json"
INVALID_WEBHOOK = "invalid_webhook"


def repository_scope(full_name: str) -> str:
    """The scope an ``issues`` event names: its repository, ``owner/name`` in any case."""
    return "repository:" + full_name.strip().lower()


def project_scope(project_node_id: str) -> str:
    """The scope a ``projects_v2_item`` event names: its board's node id."""
    return "project:" + project_node_id.strip()


def read_delivery(secret: str, delivery: WebhookDelivery) -> WebhookNotice:
    """Check one delivery and say what it is about; raises ``WebhookRejected``.

    The signature is checked before the body is parsed, so nothing unsigned is ever read.
    """
    expected = hmac.new(secret.encode(), delivery.body, hashlib.sha256).hexdigest()
    given = delivery.headers.get(SIGNATURE_HEADER, "").strip()
    if not given:
        raise WebhookRejected(401, INVALID_SIGNATURE, "the X-Hub-Signature-256 header is missing")
    digest = given.removeprefix(_SIGNATURE_PREFIX).lower()
    if not given.startswith(_SIGNATURE_PREFIX) or not hmac.compare_digest(
        expected.encode(), digest.encode("utf-8", "replace")
    ):
        raise WebhookRejected(
            401,
            INVALID_SIGNATURE,
            "X-Hub-Signature-256 does not match the body signed with "
            "tracker.provider.webhook_secret (is it the secret of this webhook?)",
        )
    delivery_id = delivery.headers.get(DELIVERY_HEADER, "").strip()
    if not delivery_id:
        raise WebhookRejected(400, INVALID_WEBHOOK, "the X-GitHub-Delivery header is missing")
    event = delivery.headers.get(EVENT_HEADER, "").strip()
    if not event:
        raise WebhookRejected(400, INVALID_WEBHOOK, "the X-GitHub-Event header is missing")
    payload = _json_object(delivery.body)
    if event == "issues":
        return _issue_event(payload, delivery_id, expected)
    if event == "projects_v2_item":
        return _item_event(payload, delivery_id, expected)
    note = (
        "GitHub's ping: the webhook reaches Symphony"
        if event == "ping"
        else f"GitHub {event} events do not change which issues run"
    )
    return WebhookNotice(delivery_id, expected, subject=f"{event} event", note=note)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except ValueError as exc:  # also UnicodeDecodeError
        raise WebhookRejected(
            400,
            INVALID_JSON,
            f"the body is not JSON: {exc} (set the webhook's content type to application/json)",
        ) from None
    if not isinstance(payload, dict):
        raise WebhookRejected(400, INVALID_JSON, "the body is JSON but not an object")
    return payload


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _verb(payload: dict[str, Any]) -> str:
    return _text(payload.get("action")) or "change"


def _issue_event(payload: dict[str, Any], delivery_id: str, fingerprint: str) -> WebhookNotice:
    issue = payload.get("issue")
    repository = payload.get("repository")
    node_id = _text(issue.get("node_id")) if isinstance(issue, dict) else None
    full_name = _text(repository.get("full_name")) if isinstance(repository, dict) else None
    if node_id is None or full_name is None:
        raise WebhookRejected(
            400, INVALID_WEBHOOK, "an issues event without issue.node_id or repository.full_name"
        )
    assert isinstance(issue, dict)
    number = issue.get("number")
    label = f"{full_name}#{number}" if isinstance(number, int) else node_id
    return WebhookNotice(
        delivery_id,
        fingerprint,
        subject=f"Issue {label} ({_verb(payload)})",
        issue_ids=(node_id,),
        scopes=frozenset({repository_scope(full_name)}),
    )


def _item_event(payload: dict[str, Any], delivery_id: str, fingerprint: str) -> WebhookNotice:
    item = payload.get("projects_v2_item")
    if not isinstance(item, dict):
        raise WebhookRejected(400, INVALID_WEBHOOK, "a projects_v2_item event without the item")
    project = _text(item.get("project_node_id"))
    content = _text(item.get("content_node_id"))
    kind = _text(item.get("content_type")) or "item"
    subject = f"Project item {_text(item.get('node_id')) or '?'} ({_verb(payload)})"
    if kind != "Issue":
        # Pull requests and draft issues on the board never get an agent.
        note = f"a {kind} on the board is not an issue Symphony works on"
        return WebhookNotice(delivery_id, fingerprint, subject=subject, note=note)
    if project is None or content is None:
        raise WebhookRejected(
            400,
            INVALID_WEBHOOK,
            "a projects_v2_item event without project_node_id or content_node_id",
        )
    return WebhookNotice(
        delivery_id,
        fingerprint,
        subject=subject,
        issue_ids=(content,),
        scopes=frozenset({project_scope(project)}),
    )


class GitHubWebhooks:
    """The webhook side of one GitHub adapter: its secret, and the scope it answers for (the
    repository, and in board mode the board's node id, which the adapter resolves once)."""

    def __init__(
        self, settings: GitHubSettings, board_id: Callable[[], Awaitable[str]] | None
    ) -> None:
        self._settings = settings
        self._board_id = board_id

    def problem(self) -> str | None:
        if self._settings.webhook_secret:
            return None
        return (
            "GitHub webhooks are off: set tracker.provider.webhook_secret to the secret of the "
            "repository's (or organization's) webhook (for example "
            "webhook_secret: $GITHUB_WEBHOOK_SECRET)"
        )

    def verify(self, delivery: WebhookDelivery) -> WebhookNotice:
        secret = self._settings.webhook_secret
        if not secret:
            raise WebhookRejected(404, WEBHOOKS_NOT_ENABLED, self.problem() or "")
        return read_delivery(secret, delivery)

    async def scope(self, notice: WebhookNotice) -> WebhookScope:
        if not notice.issue_ids:
            return WebhookScope((), notice.note)
        settings = self._settings
        # An issue event names its repository (the targeted read then asks for the issue's
        # status on this board); a board item event names only its board, whose id is asked
        # for once per adapter.
        if repository_scope(settings.repository) in notice.scopes:
            return WebhookScope(notice.issue_ids)
        where = f"repository {settings.repository}"
        if self._board_id is not None:
            if project_scope(await self._board_id()) in notice.scopes:
                return WebhookScope(notice.issue_ids)
            where += f" or board {settings.project_owner}/{settings.project_number}"
        return WebhookScope((), f"{notice.subject} is not in {where}")
