"""Linear webhook deliveries for tests, shaped like Linear's ``EntityWebhookPayload`` with an
``IssueWebhookPayload`` as ``data`` (``../shared/schemas/linear.graphql``), signed the way
Linear signs them: ``Linear-Signature`` = hex HMAC-SHA256 of the raw body."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from tests.support.fake_linear import FakeLinear
from tests.support.fake_linear_data import IssueRecord

WEBHOOK_ID = "0b9b7d6c-3f0e-4a57-9c1d-5e2f8a7b6c4d"  # the subscription: the same on every delivery


@dataclass(frozen=True)
class Delivery:
    """One delivery as Linear would POST it."""

    body: bytes
    headers: dict[str, str]


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def issue_payload(
    linear: FakeLinear,
    issue: IssueRecord,
    *,
    action: str = "update",
    updated_from: dict[str, Any] | None = None,
    timestamp_ms: float | None = None,
) -> dict[str, Any]:
    with linear.data.lock:
        state = linear.data.states[issue.state_id]
        data = {
            "id": issue.id,
            "identifier": issue.identifier,
            "number": issue.number,
            "title": issue.title,
            "priority": issue.priority,
            "stateId": state.id,
            "state": {"id": state.id, "name": state.name, "type": state.type},
            "teamId": issue.team_id,
            "projectId": issue.project_id,
            "labelIds": list(issue.label_ids),
            "assigneeId": issue.assignee_id,
            "createdAt": issue.created_at.isoformat(),
            "updatedAt": issue.updated_at.isoformat(),
            "url": f"https://linear.app/fake/issue/{issue.identifier}",
        }
    payload: dict[str, Any] = {
        "action": action,
        "type": "Issue",
        "createdAt": "2026-01-05T09:00:00.000Z",
        "organizationId": "f1b2c3d4-0000-4000-8000-000000000001",
        "webhookId": WEBHOOK_ID,
        "webhookTimestamp": timestamp_ms if timestamp_ms is not None else time.time() * 1000,
        "url": data["url"],
        "data": data,
    }
    if updated_from is not None:
        payload["updatedFrom"] = updated_from
    return payload


def comment_payload(issue: IssueRecord, *, timestamp_ms: float | None = None) -> dict[str, Any]:
    """A ``Comment`` event: it names the issue (``issueId``) but not its project."""
    return {
        "action": "create",
        "type": "Comment",
        "createdAt": "2026-01-05T09:00:00.000Z",
        "organizationId": "f1b2c3d4-0000-4000-8000-000000000001",
        "webhookId": WEBHOOK_ID,
        "webhookTimestamp": timestamp_ms if timestamp_ms is not None else time.time() * 1000,
        "data": {"id": str(uuid.uuid4()), "body": "Looks good", "issueId": issue.id},
    }


def deliver(
    secret: str,
    payload: dict[str, Any],
    *,
    delivery_id: str | None = None,
    signature: str | None = None,
) -> Delivery:
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Linear-Delivery": delivery_id or str(uuid.uuid4()),
        "Linear-Event": str(payload.get("type")),
        "Linear-Signature": signature if signature is not None else sign(secret, body),
        "User-Agent": "Linear-Webhook",
    }
    return Delivery(body, headers)
