"""``carry_out_review`` against a memory board: what it reads and writes, and in which order."""

from __future__ import annotations

import asyncio

from symphony.issue import Issue
from symphony.orchestrator.review import carry_out_review
from symphony.review import ReviewDecision
from symphony.workflow.config import ReviewConfig
from tests.support.memory_tracker import MemoryAdapter, MemoryBoard


def board_with(state: str) -> MemoryBoard:
    board = MemoryBoard()
    board.put(Issue(id="id-1", identifier="SYM-1", title="t", state=state, dispatchable=True))
    return board


async def test_an_unknown_issue_is_found_among_the_review_states_then_read_by_id() -> None:
    board = board_with("Human Review")
    outcome = await carry_out_review(
        MemoryAdapter(board),
        ReviewConfig(),
        "SYM-1",
        ReviewDecision("rework", "again"),
        known_issue_id=None,
        timeout_s=5,
    )
    assert (outcome.status, outcome.state, outcome.comment_posted) == ("accepted", "Rework", True)
    assert board.calls == [
        ("states", ("Human Review",)),
        ("ids", ("id-1",)),
        ("move", ("id-1", "Rework")),
    ]


async def test_a_tracker_that_does_not_answer_is_a_tracker_error() -> None:
    class Hanging(MemoryAdapter):
        async def move_issue(self, issue_id: str, identifier: str, state: str) -> str:
            await asyncio.Event().wait()
            raise AssertionError("unreachable")

    board = board_with("Human Review")
    outcome = await carry_out_review(
        Hanging(board),
        ReviewConfig(),
        "SYM-1",
        ReviewDecision("approve"),
        known_issue_id="id-1",
        timeout_s=0.05,
    )
    assert outcome.status == "tracker_error"
    assert "did not move the issue within 0.05s" in outcome.message
    assert board.issues["id-1"].state == "Human Review"
