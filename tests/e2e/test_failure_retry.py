"""End to end: a failed agent attempt is retried with backoff and then succeeds (SPEC §8.4).

The fake model answers the first attempt's first request with HTTP 500, so codex fails the turn.
The service shows the issue in its retry queue (attempt 1, a due time, the error), dispatches it
again when the backoff ends, and the second attempt (whose prompt carries ``attempt``) hands the
issue to Human Review.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.e2e.harness import Project, is_idle, local_front_matter, retry_row
from tests.support.fake_model import FakeModelServer, RecordedRequest, Reply

pytestmark = pytest.mark.codex

# A backoff cap well above the API polling interval, so the retry entry is observed every time,
# and low enough to keep the test fast (10 s · 2^(n-1) would be the uncapped first delay).
BACKOFF_CAP_MS = 2000
PROMPT = (
    "Work on {{ issue.identifier }}: {{ issue.title }}."
    "{% if attempt %} This is retry attempt {{ attempt }}.{% endif %}"
)


def respond(request: RecordedRequest) -> Reply:
    prompt = "\n".join(request.user_texts())
    if "retry attempt 1" not in prompt:
        return Reply.http_error(500, "upstream exploded")
    if not request.function_call_outputs():
        return Reply.tool_call("board_move_issue", {"state": "Human Review"})
    return Reply.message("Handed off after a retry.")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_a_failed_attempt_is_retried_with_backoff_and_then_succeeds(
    project: Project, model: FakeModelServer
) -> None:
    model.responder = respond
    project.write_workflow(
        local_front_matter(
            codex_bin=project.codex_bin, agent={"max_retry_backoff_ms": BACKOFF_CAP_MS}
        ),
        PROMPT,
    )
    project.board("add", "Flaky upstream")
    service = project.start()

    retrying = service.wait_until(
        lambda s: retry_row(s, "SYM-1"), 30, what="SYM-1 to enter the retry queue"
    )
    detail = service.issue("SYM-1")
    row = retry_row(retrying, "SYM-1")
    assert row is not None and retrying["counts"]["retrying"] == 1
    assert retrying["running"] == []
    assert row["attempt"] == 1 and row["kind"] == "failure"
    assert "agent turn error" in row["error"], row
    assert 0 <= row["due_in_ms"] <= BACKOFF_CAP_MS
    delay = parse_time(row["due_at"]) - parse_time(retrying["generated_at"])
    assert 0 <= delay.total_seconds() <= BACKOFF_CAP_MS / 1000
    # The detail endpoint tells the same story (unless the retry already fired in between).
    assert detail is not None
    if detail["status"] == "retrying":
        assert detail["retry"]["attempt"] == 1 and detail["last_error"] == row["error"]

    done = service.wait_until(
        lambda s: is_idle(s) and model.requests and "retry attempt 1" in model.requests[-1].text(),
        30,
        what="the retry to succeed and the service to go idle",
    )
    assert done["counts"] == {"running": 0, "retrying": 0, "blocked": 0, "held": 0}
    shown = project.board("show", "SYM-1").json()
    assert shown["state"] == "Human Review"
    assert [(h["to"], h["actor"]) for h in shown["history"]][-1] == ("Human Review", "agent")

    requests = model.requests
    failed = [r for r in requests if "retry attempt 1" not in r.text()]
    retried = [r for r in requests if "retry attempt 1" in r.text()]
    assert len(failed) == 1, [r.user_texts() for r in requests]  # no retry inside codex either
    assert len(retried) in (1, 2)  # the hand-off may stop the turn before its last reply
    # The retry started a fresh thread: its first request carries no earlier conversation.
    assert retried[0].function_call_outputs() == {}
    assert retried[0].headers.get("thread-id") != failed[0].headers.get("thread-id")

    code, output = service.stop()
    assert code == 0, output
