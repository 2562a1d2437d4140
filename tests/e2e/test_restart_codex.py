"""End to end with the real codex: the service is killed (SIGKILL) while codex waits for the
model in a turn; the restarted service kills what is left of that codex (the npm wrapper and its
native child, by the stored process group) and continues the same thread: the model's next request
carries the same ``thread-id`` header and the earlier conversation (docs/storage.md)."""

from __future__ import annotations

import signal

import pytest

from tests.e2e.harness import Project, local_front_matter, process_start_time, running_row
from tests.e2e.test_restart import stored
from tests.support.fake_model import FakeModelServer, RecordedRequest, Reply
from tests.support.waiting import wait_until_sync

pytestmark = pytest.mark.codex

PROMPT = "Work on {{ issue.identifier }}: {{ issue.title }}. The code word is PLUM-42."
GUIDANCE = "Continuation guidance"


def respond(request: RecordedRequest) -> Reply:
    if GUIDANCE not in "\n".join(request.user_texts()):
        # The first turn: the model "thinks" until the service is killed.
        return Reply.message("Still thinking.", delay_s=60)
    return Reply.message("Continuing where I was: the code word is PLUM-42.")


def test_a_sigkilled_service_resumes_the_real_codex_thread(
    project: Project, model: FakeModelServer
) -> None:
    model.responder = respond
    project.write_workflow(
        local_front_matter(codex_bin=project.codex_bin, agent={"max_turns": 1}), PROMPT
    )
    project.board("add", "Remember the word")
    service = project.start()
    busy = service.wait_until(
        lambda s: (r := running_row(s, "SYM-1")) and r["thread_id"] and r["pid"] and model.requests,
        60,
        what="codex to wait for the model in its first turn",
    )
    row = running_row(busy, "SYM-1")
    assert row is not None
    thread_id, old_pid = row["thread_id"], int(row["pid"])
    old_started = process_start_time(old_pid)
    assert model.requests[0].headers.get("thread-id") == thread_id
    wait_until_sync(
        lambda: stored(project, "SELECT thread_id, pgid FROM runs") == [(thread_id, old_pid)],
        "the store to know the agent's thread and process group",
        timeout=10,
    )

    # codex may notice its closed stdin and exit by itself, or live on holding the thread's
    # writer lock; either way it must be gone before the thread is resumed.
    service.stop(signal.SIGKILL)

    again = project.start()

    def resumed() -> RecordedRequest | None:
        asked = [r for r in model.requests if GUIDANCE in "\n".join(r.user_texts())]
        return asked[0] if asked else None

    request = wait_until_sync(resumed, "the resumed thread's request", timeout=60)
    assert process_start_time(old_pid) != old_started, "the old codex outlived the restart"
    assert request.headers.get("thread-id") == thread_id
    said = "\n".join(request.user_texts())
    assert "The code word is PLUM-42." in said  # the earlier conversation is in the thread
    # thread/resume takes no dynamicTools: the thread kept the board tools it started with.
    assert "board_move_issue" in request.tool_names()
    detail = again.issue("SYM-1")
    assert detail is not None
    [cut] = detail["history"][:1]
    assert (cut["outcome"], cut["thread_id"], cut["attempt"]) == ("interrupted", thread_id, None)
    code, output = again.stop()
    assert code == 0, output
