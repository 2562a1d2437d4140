"""Linear webhooks: signature, timestamp, delivery id, what an event is about, the project scope,
and ``tracker.provider.webhook_secret`` (docs/trackers/linear.md, "Webhooks")."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLSchema, parse, validate

from symphony.logs import REDACTOR
from symphony.trackers.base import (
    INVALID_TRACKER_CONFIG,
    MISSING_TRACKER_SECRET,
    TrackerConfigError,
    TrackerError,
    WebhookSource,
)
from symphony.trackers.linear import PROFILE, parse_settings
from symphony.trackers.linear.webhook import (
    PROJECT_OPERATION,
    PROJECT_QUERY,
    TIMESTAMP_TOLERANCE_MS,
    read_delivery,
)
from symphony.webhooks import WebhookDelivery, WebhookNotice, WebhookRejected
from tests.support.fake_linear import Failure, FakeLinear
from tests.support.linear_webhooks import comment_payload, deliver, issue_payload, sign
from tests.trackers.linear.conftest import MakeAdapter, tracker_config

SECRET = "lin_wh_testSECRET0123456789abcdef"


def as_delivery(secret: str, payload: dict[str, Any], **kw: Any) -> WebhookDelivery:
    sent = deliver(secret, payload, **kw)
    return WebhookDelivery({k.lower(): v for k, v in sent.headers.items()}, sent.body)


def rejected(delivery: WebhookDelivery, now_ms: float | None = None) -> WebhookRejected:
    with pytest.raises(WebhookRejected) as caught:
        read_delivery(SECRET, delivery, time.time() * 1000 if now_ms is None else now_ms)
    return caught.value


def test_a_signed_issue_event_names_the_issue_and_its_projects(linear: FakeLinear) -> None:
    issue = linear.add_issue("Fix it")
    payload = issue_payload(linear, issue, updated_from={"projectId": "old-project"})
    delivery = as_delivery(SECRET, payload, delivery_id="delivery-1")
    notice = read_delivery(SECRET, delivery, time.time() * 1000)
    assert notice.issue_ids == (issue.id,)
    assert notice.scopes == {issue.project_id, "old-project"}
    assert notice.delivery_id == "delivery-1"
    assert notice.fingerprint == sign(SECRET, delivery.body)
    assert notice.subject == f"Issue {issue.identifier} (update)"


def test_the_signature_must_be_there_and_cover_these_exact_bytes(linear: FakeLinear) -> None:
    payload = issue_payload(linear, linear.add_issue("Fix it"))
    good = as_delivery(SECRET, payload)
    upper = WebhookDelivery(
        {**good.headers, "linear-signature": good.headers["linear-signature"].upper()}, good.body
    )
    read_delivery(SECRET, upper, time.time() * 1000)  # hex is hex, whatever its case
    missing = WebhookDelivery(
        {k: v for k, v in good.headers.items() if k != "linear-signature"}, good.body
    )
    assert (rejected(missing).status, rejected(missing).code) == (401, "invalid_signature")
    assert "missing" in rejected(missing).message
    other_secret = as_delivery("another-secret", payload)
    assert (rejected(other_secret).status, rejected(other_secret).code) == (
        401,
        "invalid_signature",
    )
    # The same JSON with other spacing is another body: the signature no longer matches.
    respaced = WebhookDelivery(good.headers, json.dumps(payload, indent=1).encode())
    assert rejected(respaced).code == "invalid_signature"
    garbage = WebhookDelivery({**good.headers, "linear-signature": "zz\u00e9"}, good.body)
    assert rejected(garbage).code == "invalid_signature"


def test_a_signed_body_that_is_not_a_json_object_is_a_400() -> None:
    for body in (b"{not json", b"\xff\xfe", b"[1, 2]"):
        delivery = WebhookDelivery(
            {"linear-signature": sign(SECRET, body), "linear-delivery": "d"}, body
        )
        error = rejected(delivery)
        assert (error.status, error.code) == (400, "invalid_json"), body


def test_the_timestamp_must_be_within_a_minute_of_now(linear: FakeLinear) -> None:
    issue = linear.add_issue("Fix it")
    now = time.time() * 1000
    for offset in (-TIMESTAMP_TOLERANCE_MS + 1_000, TIMESTAMP_TOLERANCE_MS - 1_000):
        fresh = as_delivery(SECRET, issue_payload(linear, issue, timestamp_ms=now + offset))
        read_delivery(SECRET, fresh, now)
    old = as_delivery(SECRET, issue_payload(linear, issue, timestamp_ms=now - 61_000))
    error = rejected(old, now)
    assert (error.status, error.code) == (401, "stale_webhook")
    assert "61 s old" in error.message
    ahead = as_delivery(SECRET, issue_payload(linear, issue, timestamp_ms=now + 61_000))
    assert "in the future" in rejected(ahead, now).message
    payload = issue_payload(linear, issue)
    for value in (None, "1700000000000", True):
        payload["webhookTimestamp"] = value
        error = rejected(as_delivery(SECRET, payload), now)
        assert (error.status, error.code) == (400, "invalid_webhook")


def test_the_delivery_id_header_is_required(linear: FakeLinear) -> None:
    good = as_delivery(SECRET, issue_payload(linear, linear.add_issue("Fix it")))
    headers = {k: v for k, v in good.headers.items() if k != "linear-delivery"}
    error = rejected(WebhookDelivery(headers, good.body))
    assert (error.status, error.code) == (400, "invalid_webhook")
    assert "Linear-Delivery" in error.message


def test_events_other_than_issues_name_no_issue(linear: FakeLinear) -> None:
    delivery = as_delivery(SECRET, comment_payload(linear.add_issue("Fix it")))
    notice = read_delivery(SECRET, delivery, time.time() * 1000)
    assert notice.issue_ids == () and notice.scopes == frozenset()
    assert notice.note == "Linear Comment events do not change which issues run"
    payload = issue_payload(linear, linear.add_issue("Fix it"))
    payload["data"].pop("id")
    assert rejected(as_delivery(SECRET, payload)).code == "invalid_webhook"


def test_the_project_query_is_valid_against_linear_schema(linear_schema: GraphQLSchema) -> None:
    assert validate(linear_schema, parse(PROJECT_QUERY)) == []


async def test_scope_is_the_configured_project_whose_id_is_asked_once(
    linear: FakeLinear, make_adapter: MakeAdapter
) -> None:
    adapter = make_adapter(webhook_secret=SECRET)
    assert isinstance(adapter, WebhookSource) and adapter.webhook_problem() is None
    ours = linear.add_issue("Ours")
    theirs = linear.add_issue("Theirs", project=linear.add_project("other-0123456789ab"))
    now = time.time() * 1000
    notice = adapter.verify_webhook(as_delivery(SECRET, issue_payload(linear, ours)), now)
    assert (await adapter.webhook_scope(notice)).issue_ids == (ours.id,)
    notice = adapter.verify_webhook(as_delivery(SECRET, issue_payload(linear, theirs)), now)
    scope = await adapter.webhook_scope(notice)
    assert scope.issue_ids == ()
    assert (
        scope.note == f"Issue {theirs.identifier} (update) is not in project {linear.project_slug}"
    )
    # Moved out of our project: still ours to look at (a run may have to stop).
    moved = issue_payload(linear, theirs, updated_from={"projectId": ours.project_id})
    notice = adapter.verify_webhook(as_delivery(SECRET, moved), now)
    assert (await adapter.webhook_scope(notice)).issue_ids == (theirs.id,)
    assert linear.operations().count(PROJECT_OPERATION) == 1


async def test_a_failed_project_lookup_is_not_cached(
    linear: FakeLinear, make_adapter: MakeAdapter
) -> None:
    adapter = make_adapter(webhook_secret=SECRET)
    notice = WebhookNotice("d", "f", "Issue X", ("id",), frozenset({"p"}))
    linear.inject(Failure.http_status(503), operation=PROJECT_OPERATION)
    with pytest.raises(TrackerError):
        await adapter.webhook_scope(notice)
    assert (await adapter.webhook_scope(notice)).issue_ids == ()
    unknown = make_adapter(webhook_secret=SECRET, project_slug="no-such-project")
    with pytest.raises(TrackerError, match="no project with slugId 'no-such-project'"):
        await unknown.webhook_scope(notice)


async def test_without_a_secret_webhooks_are_off(make_adapter: MakeAdapter) -> None:
    adapter = make_adapter()
    problem = adapter.webhook_problem()
    assert problem is not None and "tracker.provider.webhook_secret" in problem


def test_webhook_secret_accepts_a_var_and_is_treated_as_a_secret() -> None:
    provider = {"project_slug": "p", "api_key": "k", "webhook_secret": "$HOOK_SECRET"}
    settings = parse_settings(tracker_config(provider), {"HOOK_SECRET": f" {SECRET}\n"})
    assert settings.webhook_secret == SECRET and settings.webhook_secret_env == "HOOK_SECRET"
    assert "HOOK_SECRET" in settings.secret_environment_names
    assert SECRET in settings.secret_values
    PROFILE.validate(tracker_config(provider), workflow_dir=Path(), environ={"HOOK_SECRET": SECRET})
    assert SECRET not in REDACTOR.redact(f"secret={SECRET}")
    literal = parse_settings(tracker_config({**provider, "webhook_secret": "s3"}), {})
    assert literal.webhook_secret == "s3" and literal.webhook_secret_env is None
    off = parse_settings(tracker_config({"project_slug": "p", "api_key": "k"}), {})
    assert off.webhook_secret is None


@pytest.mark.parametrize(
    ("value", "category", "needle"),
    [
        ("$HOOK_SECRET", MISSING_TRACKER_SECRET, "refers to $HOOK_SECRET, which is not set"),
        ("  ", MISSING_TRACKER_SECRET, "is empty"),
        (12345, INVALID_TRACKER_CONFIG, "must be a string"),
    ],
)
def test_a_bad_webhook_secret_names_the_key(value: object, category: str, needle: str) -> None:
    provider = {"project_slug": "p", "api_key": "k", "webhook_secret": value}
    with pytest.raises(TrackerConfigError) as caught:
        parse_settings(tracker_config(provider), {})
    assert caught.value.key == "tracker.provider.webhook_secret"
    assert caught.value.code == category and needle in caught.value.message
    assert "12345" not in caught.value.message
    if category == MISSING_TRACKER_SECRET:  # `symphony validate` only warns
        parse_settings(tracker_config(provider), {}, require_secrets=False)
