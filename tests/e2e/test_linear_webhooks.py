"""Instant dispatch from a Linear webhook: the real service, the real codex, a schema-checked fake
Linear; the poll is 10 minutes away, so only the webhook can start the agent.

Before the real delivery, forged ones arrive: a wrong signature, a stale timestamp, an
oversized body. Each is refused and changes nothing: no tracker request, no agent. A delivery
about an issue in another project is answered 200 and ignored. After the real one, its replay
is refused. The signing secret, like the API key, never reaches a log.
"""

from __future__ import annotations

import time

import httpx
import pytest

from tests.e2e.harness import Project, local_front_matter, per_issue_responder, running_row
from tests.support.fake_linear import FakeLinear
from tests.support.fake_model import FakeModelServer, Reply
from tests.support.linear_webhooks import Delivery, deliver, issue_payload
from tests.support.waiting import wait_until_sync

pytestmark = pytest.mark.codex

KEY_ENV = "LINEAR_API_KEY"
SECRET_ENV = "LINEAR_WEBHOOK_SECRET"
SECRET = "lin_wh_e2eSECRETe2eSECRET0123456789"
TEN_MINUTES_MS = 600_000
CANDIDATES = "SymphonyCandidateIssues"


def post(url: str, delivery: Delivery) -> httpx.Response:
    return httpx.post(
        url + "api/v1/webhooks/linear", content=delivery.body, headers=delivery.headers, timeout=10
    )


def test_a_signed_linear_webhook_starts_an_agent_and_forged_ones_change_nothing(
    project: Project, model: FakeModelServer, linear: FakeLinear
) -> None:
    assert linear.api_key is not None
    project.extra_env[KEY_ENV] = linear.api_key
    project.extra_env[SECRET_ENV] = SECRET
    model.responder = per_issue_responder({"SYM-1": [Reply.message("On it.")]})
    front = local_front_matter(
        codex_bin=project.codex_bin,
        tracker={
            "kind": "linear",
            "provider": {
                "endpoint": linear.url,
                "project_slug": linear.project_slug,
                "api_key": f"${KEY_ENV}",
                "webhook_secret": f"${SECRET_ENV}",
                "request_timeout_ms": 5000,
            },
            "active_states": ["Todo", "In Progress"],
            "terminal_states": ["Done", "Canceled"],
        },
        polling={"interval_ms": TEN_MINUTES_MS},
    )
    project.write_workflow(front, "Work on {{ issue.identifier }}: {{ issue.title }}.")
    service = project.start()
    service.wait_until(lambda s: s["tracker"]["last_poll_at"], 30, what="the first poll")

    polls = linear.operations().count(CANDIDATES)
    issue = linear.add_issue("Start from a webhook")  # after the poll: only a webhook finds it
    assert issue.identifier == "SYM-1"
    theirs = linear.add_issue("Not ours", project="another-project")
    seen = len(linear.requests)
    log = project.logs_root / "symphony.log"

    forged = deliver("not-the-secret", issue_payload(linear, issue))
    response = post(service.url, forged)
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "invalid_signature"
    stale = issue_payload(linear, issue, timestamp_ms=time.time() * 1000 - 5 * 60_000)
    response = post(service.url, deliver(SECRET, stale))
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "stale_webhook"
    huge = issue_payload(linear, issue)
    huge["data"]["description"] = "x" * 1_048_576
    response = post(service.url, deliver(SECRET, huge))
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "payload_too_large"
    response = post(service.url, deliver(SECRET, issue_payload(linear, theirs)))
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ignored"

    # The service logs an accepted delivery before answering it, so this is settled by now.
    assert "webhook accepted" not in log.read_text(encoding="utf-8")
    assert "webhook refused" in log.read_text(encoding="utf-8")
    # Only the one lookup of the project's id, for the delivery that passed every check.
    assert linear.operations()[seen:] == ["SymphonyProjectId"]
    state = service.state()
    assert state["counts"]["running"] == 0 and state["counts"]["retrying"] == 0

    real = deliver(SECRET, issue_payload(linear, issue, action="create"))
    sent = time.monotonic()
    response = post(service.url, real)
    assert response.status_code == 202, response.text
    assert response.json()["issue_ids"] == [issue.id]
    started = service.wait_until(
        lambda s: (row := running_row(s, "SYM-1")) is not None and row["session_id"],
        60,
        what="an agent turn for SYM-1",
    )
    # Far sooner than the poll; the bound only guards a loaded machine.
    assert time.monotonic() - sent < 60
    assert started["counts"]["running"] == 1
    assert linear.operations().count(CANDIDATES) == polls  # no poll was needed
    wait_until_sync(
        lambda: any(r.user_texts() for r in model.requests),
        "the agent to ask the model",
        timeout=30,
    )

    response = post(service.url, real)
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "replayed_delivery"

    code, output = service.stop()
    assert code == 0, output
    for text in (output, log.read_text(encoding="utf-8")):
        assert SECRET not in text and linear.api_key not in text
