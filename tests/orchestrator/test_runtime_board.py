"""The runtime's board and review-queue methods on a real local board: a card created from the
dashboard starts its agent at once, and the review queue reads the tracker now."""

from __future__ import annotations

from pathlib import Path

from symphony.board import NewBoardIssue
from symphony.orchestrator.runtime import OrchestratorRuntime
from symphony.service import create_adapter
from symphony.trackers.resolve import resolve_tracker
from symphony.workflow.store import WorkflowStore
from tests.orchestrator.fakes import FakeAgents, FakeSession, FakeWorkspaces
from tests.support.waiting import wait_until

FRONT_MATTER = """---
tracker:
  kind: {kind}
{extra}polling:
  interval_ms: 600000
workspace:
  root: workspaces
---
Work on {{{{ issue.identifier }}}}.
"""


def runtime_on(tmp_path: Path, agents: FakeAgents) -> OrchestratorRuntime:
    workflow = tmp_path / "WORKFLOW.md"
    workflow.write_text(FRONT_MATTER.format(kind="local", extra=""), encoding="utf-8")
    store = WorkflowStore.open(workflow, resolver=resolve_tracker)
    return OrchestratorRuntime(
        store, workspaces=FakeWorkspaces(), agents=agents.select, adapter_factory=create_adapter
    )


async def test_board_writes_go_to_the_board_and_wake_the_scheduler(tmp_path: Path) -> None:
    agents = FakeAgents()
    runtime = runtime_on(tmp_path, agents)
    await runtime.start()
    try:
        await wait_until(lambda: runtime.state.last_poll_ms is not None, "the first poll")
        waiting = await runtime.board_create(NewBoardIssue("Wait for me", state="Human Review"))
        assert waiting.status == "created" and waiting.body is not None
        assert waiting.body["issue"]["identifier"] == "SYM-1"
        created = await runtime.board_create(NewBoardIssue("Start me", priority=1))
        assert created.status == "created"
        # The 10-minute poll is far away: the creation's refresh dispatched it.
        await wait_until(lambda: len(agents.sessions) == 1, "an agent for the new card")
        assert agents.sessions[0].issue.identifier == "SYM-2"

        comment = await runtime.board_comment("sym-1", "Looks good")
        assert comment.status == "created"
        board = await runtime.read_board()
        assert board.status == "ok" and board.body is not None
        assert [card["identifier"] for card in board.body["issues"]] == ["SYM-2", "SYM-1"]

        queue = await runtime.review_queue()
        assert [(row["issue_identifier"], row["state"]) for row in queue] == [
            ("SYM-1", "Human Review")
        ]
        assert queue[0]["proof"] == await runtime.proof("SYM-1")

        moved = await runtime.board_move("SYM-1", "Done")
        assert moved.status == "ok" and moved.body is not None
        assert moved.body["previous_state"] == "Human Review"
        assert await runtime.review_queue() == []
        unknown = await runtime.board_move("SYM-9", "Done")
        assert unknown.status == "not_found"
        assert (await runtime.board_move("SYM-1", "Nowhere")).status == "invalid"
    finally:
        await runtime.stop()


async def test_the_review_queue_shows_the_runs_that_led_to_a_hand_off(tmp_path: Path) -> None:
    agents = FakeAgents()
    runtime = runtime_on(tmp_path, agents)

    async def hand_off(session: FakeSession, prompt: str, turn: int) -> None:
        await runtime.board_move("SYM-1", "Human Review")

    agents.scripts["SYM-1"] = hand_off
    await runtime.start()
    try:
        await runtime.board_create(NewBoardIssue("Do it", state="Todo"))

        # The proof is saved before the run ends, so a finished run has its proof.
        await wait_until(
            lambda: (
                not runtime.state.running
                and (record := runtime.state.history.get("SYM-1")) is not None
                and record.runs_history
            ),
            "SYM-1's run to hand off and end",
        )
        (row,) = await runtime.review_queue()
        (run,) = row["runs"]
        assert (run["attempt"], run["outcome"], run["turns"]) == (None, "succeeded", 1)
        assert row["proof"] is not None and row["proof"]["created_at"] >= run["started_at"]
    finally:
        await runtime.stop()
