"""GitHub webhook deliveries: the signature, and which issue each event is about."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import replace
from typing import Any

import pytest

from symphony.trackers.github.webhook import project_scope, read_delivery, repository_scope
from symphony.webhooks import WebhookDelivery, WebhookRejected
from tests.support.fake_github import FakeGitHub
from tests.trackers.github.conftest import MakeAdapter

SECRET = "whsec-github-test"
ISSUE_NODE = "I_kwDOAbc123"
PROJECT_NODE = "PVT_kwDOAbc"


def signed(
    event: str,
    payload: Any,
    *,
    secret: str = SECRET,
    delivery: str = "72d3162e-cc78-11e3-81ab-4c9367dc0958",
    raw: bytes | None = None,
) -> WebhookDelivery:
    body = raw if raw is not None else json.dumps(payload).encode()
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "x-hub-signature-256": f"sha256={digest}",
        "x-github-delivery": delivery,
        "x-github-event": event,
        "content-type": "application/json",
    }
    return WebhookDelivery(headers, body)


def issues_event(action: str = "labeled") -> dict[str, Any]:
    return {
        "action": action,
        "issue": {"node_id": ISSUE_NODE, "number": 42, "state": "open", "title": "Fix it"},
        "repository": {"full_name": "Acme/App", "node_id": "R_kgDO"},
        "label": {"name": "status: Todo"},
    }


def item_event(content_type: str = "Issue", action: str = "edited") -> dict[str, Any]:
    return {
        "action": action,
        "projects_v2_item": {
            "node_id": "PVTI_lADOAbc",
            "project_node_id": PROJECT_NODE,
            "content_node_id": ISSUE_NODE if content_type == "Issue" else "PR_kwDO",
            "content_type": content_type,
        },
        "changes": {"field_value": {"field_node_id": "PVTSSF_x", "field_type": "single_select"}},
        "organization": {"login": "acme"},
    }


def test_an_issue_event_names_the_issue_and_its_repository() -> None:
    notice = read_delivery(SECRET, signed("issues", issues_event()))
    assert notice.issue_ids == (ISSUE_NODE,)
    assert notice.scopes == {repository_scope("acme/app")}
    assert notice.subject == "Issue Acme/App#42 (labeled)"
    assert notice.delivery_id == "72d3162e-cc78-11e3-81ab-4c9367dc0958"
    # The fingerprint is the body's signature: the same body under another delivery id matches.
    again = read_delivery(SECRET, signed("issues", issues_event(), delivery="other"))
    assert again.fingerprint == notice.fingerprint
    closed = read_delivery(SECRET, signed("issues", issues_event("closed")))
    assert closed.fingerprint != notice.fingerprint


def test_a_board_item_event_names_the_issue_and_the_board() -> None:
    notice = read_delivery(SECRET, signed("projects_v2_item", item_event()))
    assert notice.issue_ids == (ISSUE_NODE,)
    assert notice.scopes == {project_scope(PROJECT_NODE)}
    assert notice.subject == "Project item PVTI_lADOAbc (edited)"


@pytest.mark.parametrize("content_type", ["PullRequest", "DraftIssue"])
def test_board_items_that_are_not_issues_are_ignored(content_type: str) -> None:
    notice = read_delivery(SECRET, signed("projects_v2_item", item_event(content_type)))
    assert notice.issue_ids == () and notice.note is not None and content_type in notice.note


@pytest.mark.parametrize("event", ["ping", "issue_comment", "pull_request", "label"])
def test_other_events_are_answered_and_ignored(event: str) -> None:
    notice = read_delivery(SECRET, signed(event, {"zen": "Keep it logically awesome."}))
    assert notice.issue_ids == () and notice.scopes == frozenset()
    assert notice.note is not None and (event in notice.note or "ping" in notice.note)


def rejected(delivery: WebhookDelivery) -> WebhookRejected:
    with pytest.raises(WebhookRejected) as info:
        read_delivery(SECRET, delivery)
    return info.value


def test_a_wrong_or_missing_signature_is_refused_before_the_body_is_read() -> None:
    good = signed("issues", issues_event())
    cases = {
        "wrong secret": signed("issues", issues_event(), secret="another-secret"),
        "no header": WebhookDelivery(
            {k: v for k, v in good.headers.items() if k != "x-hub-signature-256"}, good.body
        ),
        "sha1 style": WebhookDelivery(
            {**good.headers, "x-hub-signature-256": good.headers["x-hub-signature-256"][7:]},
            good.body,
        ),
        "body changed": WebhookDelivery(good.headers, good.body + b" "),
        # Not even JSON, but unsigned: refused for the signature, never parsed.
        "garbage": WebhookDelivery(good.headers, b"\xff\xfe not json"),
    }
    for name, delivery in cases.items():
        error = rejected(delivery)
        assert (error.status, error.code) == (401, "invalid_signature"), name
    assert "X-Hub-Signature-256" in rejected(cases["no header"]).message
    assert "webhook_secret" in rejected(cases["wrong secret"]).message
    # Upper-case hex is the same signature.
    upper = WebhookDelivery(
        {
            **good.headers,
            "x-hub-signature-256": "sha256=" + good.headers["x-hub-signature-256"][7:].upper(),
        },
        good.body,
    )
    assert read_delivery(SECRET, upper).issue_ids == (ISSUE_NODE,)


def test_signed_but_malformed_deliveries_are_bad_requests() -> None:
    good = signed("issues", issues_event())
    headers = {k: v for k, v in good.headers.items() if k != "x-github-delivery"}
    cases = {
        "X-GitHub-Delivery header is missing": WebhookDelivery(headers, good.body),
        "X-GitHub-Event header is missing": signed("", issues_event()),
        # A webhook made with the form content type: the error says which one to pick.
        "set the webhook's content type to application/json": signed(
            "issues", None, raw=b"payload=%7B%7D"
        ),
        "JSON but not an object": signed("issues", [1, 2]),
        "without issue.node_id": signed("issues", {**issues_event(), "issue": {"number": 1}}),
        "without project_node_id or content_node_id": signed(
            "projects_v2_item",
            {"action": "created", "projects_v2_item": {"content_type": "Issue"}},
        ),
    }
    for fragment, delivery in cases.items():
        error = rejected(delivery)
        assert error.status == 400 and fragment in error.message, (fragment, error.message)


async def test_the_adapter_answers_for_its_repository_and_its_board(
    github: FakeGitHub, make_github_adapter: MakeAdapter
) -> None:
    board = github.add_project("acme", 1)
    off = make_github_adapter(board=True)
    assert off.webhook_provider == "github"
    assert "tracker.provider.webhook_secret" in (off.webhook_problem() or "")
    with pytest.raises(WebhookRejected) as info:
        off.verify_webhook(signed("issues", issues_event()), 0)
    assert info.value.status == 404

    adapter = make_github_adapter(board=True, webhook_secret=SECRET)
    assert adapter.webhook_problem() is None
    ours = adapter.verify_webhook(signed("issues", issues_event()), 0)
    assert (await adapter.webhook_scope(ours)).issue_ids == (ISSUE_NODE,)
    assert github.requests == []  # the repository decides; the board's id is not needed
    on_board = read_delivery(SECRET, signed("projects_v2_item", item_event()))
    on_board = replace(on_board, scopes=frozenset({project_scope(board.id)}))
    assert (await adapter.webhook_scope(on_board)).issue_ids == (ISSUE_NODE,)
    elsewhere = await adapter.webhook_scope(
        read_delivery(SECRET, signed("projects_v2_item", item_event()))
    )
    assert elsewhere.issue_ids == () and "board acme/1" in (elsewhere.note or "")

    # Labels mode: only the repository counts, and no board is asked for.
    labels = make_github_adapter(webhook_secret=SECRET)
    before = len(github.requests)
    assert (await labels.webhook_scope(on_board)).issue_ids == ()
    assert (await labels.webhook_scope(ours)).issue_ids == (ISSUE_NODE,)
    assert len(github.requests) == before
