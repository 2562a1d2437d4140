"""End to end with the real codex: agents that spin are stopped and held (docs/holds.md).

A model that only talks is stopped after ``agent.max_unproductive_turns`` turns, its issue is
held with ``no_progress`` (API, one comment on the board) and no poll runs it again; raising the
limit in ``WORKFLOW.md`` releases it, and ``symphony release`` does too. A model that edits a
file every turn is never stopped.
"""

from __future__ import annotations

import pytest

from tests.e2e.budget_support import held
from tests.e2e.harness import Project, local_front_matter
from tests.support.fake_model import FakeModelServer, RecordedRequest, Reply

pytestmark = pytest.mark.codex

PROMPT = "Work on {{ issue.identifier }}: {{ issue.title }}."
POLL_MS = 300


def talk(request: RecordedRequest) -> Reply:
    return Reply.message("I looked around; nothing to change yet.")


def edit(request: RecordedRequest) -> Reply:
    """Every turn appends a line to progress.txt, then says so (the thread's earlier turns are
    in the input too: only the last item tells where this turn is)."""
    last = request.input[-1] if request.input else {}
    if last.get("type") != "function_call_output":
        return Reply.exec_command("date +%s%N >> progress.txt")
    return Reply.message("Appended a line to progress.txt.")


def workflow(project: Project, *, max_unproductive: int, max_turns: int) -> None:
    project.write_workflow(
        local_front_matter(
            codex_bin=project.codex_bin,
            polling={"interval_ms": POLL_MS},
            agent={"max_turns": max_turns, "max_unproductive_turns": max_unproductive},
        ),
        PROMPT,
    )


def test_an_agent_that_changes_nothing_is_held_until_released(
    project: Project, model: FakeModelServer
) -> None:
    model.responder = talk
    workflow(project, max_unproductive=2, max_turns=10)
    project.board("add", "Tidy the readme")
    service = project.start()

    state = service.wait_until(lambda s: held(s) != [], 60, what="the issue to be held")
    [row] = held(state)
    assert (row["issue_identifier"], row["reason"]) == ("SYM-1", "no_progress")
    assert state["counts"]["held"] == 1 and state["running"] == [] and state["retrying"] == []
    assert len(model.requests) == 2  # two turns, one model request each
    detail = service.issue("SYM-1")
    assert detail is not None and detail["status"] == "held"
    assert detail["hold"]["reason"] == "no_progress"
    assert "2 turns in a row changed nothing" in detail["hold"]["message"]
    shown = project.board("show", "SYM-1").json()
    assert shown["state"] == "Todo"  # the tracker is left as it was
    assert [c for c in shown["comments"] if "Symphony stopped the agent" in c["body"]]

    # Several polls later nothing ran again.
    polls = state["tracker"]["last_poll_at"]
    service.wait_until(
        lambda s: s["tracker"]["last_poll_at"] != polls and held(s) != [], 10, what="more polls"
    )
    assert len(model.requests) == 2

    # Raising the limit in WORKFLOW.md releases the hold; the next poll runs the issue again.
    workflow(project, max_unproductive=5, max_turns=10)
    service.wait_until(lambda s: held(s) == [] and s["running"] != [], 20, what="the release")
    service.wait_until(lambda s: held(s) != [], 60, what="the issue to be held again")
    assert len(model.requests) == 2 + 5

    released = project.run("release", "SYM-1", "--url", service.url)
    assert released.returncode == 0, released.stderr
    assert "released SYM-1 (was held: no progress)" in released.stdout
    service.wait_until(lambda s: held(s) != [], 60, what="the third hold")
    again = project.run("release", "SYM-9", "--url", service.url)
    assert again.returncode == 1 and "not held" in again.stderr


def test_an_agent_that_edits_every_turn_is_never_stopped(
    project: Project, model: FakeModelServer
) -> None:
    model.responder = edit
    workflow(project, max_unproductive=1, max_turns=4)
    project.board("add", "Keep a progress log")
    service = project.start()
    service.wait_until(
        lambda s: (
            len((project.root / "workspaces" / "SYM-1" / "progress.txt").read_text().split()) >= 5
            if (project.root / "workspaces" / "SYM-1" / "progress.txt").exists()
            else False
        ),
        60,
        what="five productive turns (over two runs)",
    )
    state = service.state()
    assert held(state) == [] and state["counts"]["held"] == 0
