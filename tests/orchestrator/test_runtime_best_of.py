"""Best of K in the runtime, with the real state store: a failed candidate's retries survive a
restart, a set whose candidates all failed moves nothing, a refused move to review is tried
again instead of starting a new set (docs/best-of.md)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from symphony.errors import SymphonyError
from symphony.orchestrator.runtime import OrchestratorRuntime
from symphony.storage import StateStore
from symphony.view import RetryRow
from tests.support.memory_tracker import MemoryBoard
from tests.support.waiting import wait_until

from .conftest import StoreFactory
from .fakes import FakeAgents, FakeSession
from .test_runtime import todo

Make = Callable[..., OrchestratorRuntime]
PROMPT = "{{ issue.identifier }} as {{ candidate.name }}"


def candidates(runtime: OrchestratorRuntime) -> dict[str, tuple[str, int]]:
    detail = runtime.issue_detail("MT-1")
    if detail is None:
        return {}
    return {c["name"]: (c["status"], c["attempt"]) for c in detail.candidates}


async def test_a_failed_candidates_attempts_survive_a_restart(
    make_store: StoreFactory,
    make_runtime: Make,
    board: MemoryBoard,
    agents: FakeAgents,
    tmp_path: Path,
) -> None:
    issue = board.put(todo(1))
    gate = asyncio.Event()

    async def a_fails_b_waits(session: FakeSession, prompt: str, turn: int) -> None:
        if "as a" in prompt:
            raise SymphonyError("the model refused", code="turn_failed")
        if not gate.is_set():
            await asyncio.wait_for(gate.wait(), timeout=10)
        await session.hand_off("b done")

    agents.scripts["MT-1"] = a_fails_b_waits
    workflow = ("agent:\n  best_of: 2\n  candidate_max_retries: 1", PROMPT)
    path = tmp_path / "state.sqlite"
    store = StateStore.open(path)
    runtime = make_runtime(make_store(*workflow), storage=store)
    await runtime.start()
    # a failed once and waits for its retry (its row in the state API names it); b works.
    await wait_until(lambda: candidates(runtime) == {"a": ("pending", 1), "b": ("running", 0)})
    (row,) = runtime.snapshot().retrying
    assert row.candidate == "a" and row.error is not None and "the model refused" in row.error
    await asyncio.wait_for(runtime.stop(), timeout=5)
    store.close()

    again = StateStore.open(path)
    restarted = make_runtime(make_store(*workflow), storage=again)
    await restarted.start()
    try:
        gate.set()
        await wait_until(lambda: board.issues[issue.id].state == "Human Review")
        # a's run after the restart was its last (one retry): it failed, b went to review.
        assert candidates(restarted) == {"a": ("failed", 1), "b": ("handed_off", 0)}
        a_runs = [s for s in agents.sessions if "as a" in "".join(s.prompts[:1])]
        assert len(a_runs) == 2
        (comment,) = [body for on, body in board.comments if on == "MT-1"]
        assert "a** failed" in comment
    finally:
        await restarted.stop()
        again.close()


async def test_every_candidate_failed_moves_nothing_comments_once_and_starts_a_new_set(
    make_store: StoreFactory,
    make_runtime: Make,
    board: MemoryBoard,
    agents: FakeAgents,
) -> None:
    issue = board.put(todo(1))
    rounds: list[str] = []

    async def fails_then_hands_off(session: FakeSession, prompt: str, turn: int) -> None:
        rounds.append(prompt)
        if len(rounds) <= 2:
            raise SymphonyError("the model refused", code="turn_failed")
        await session.hand_off("done")

    agents.scripts["MT-1"] = fails_then_hands_off
    store = make_store("agent:\n  best_of: 2\n  candidate_max_retries: 0", PROMPT)
    runtime = make_runtime(store)
    await runtime.start()
    await wait_until(lambda: any("every candidate failed" in b for _, b in board.comments))
    assert not [args for name, args in board.calls if name == "move"]
    retry = next(r for r in runtime.snapshot().retrying if r.issue_identifier == "MT-1")
    assert retry.candidate is None and retry.error is not None
    assert "every candidate failed" in retry.error and retry.attempt == 1
    # The retry starts a new set; this time both hand off and the issue moves once.
    await wait_until(lambda: board.issues[issue.id].state == "Human Review")
    assert len(rounds) == 4
    assert [args for name, args in board.calls if name == "move"] == [("id-1", "Human Review")]
    # One best-of comment: the failure note was replaced by the comparison.
    (comment,) = [body for on, body in board.comments if on == "MT-1"]
    assert "pick one" in comment and "every candidate failed" not in comment
    await runtime.stop()


async def test_a_refused_move_to_review_is_tried_again_without_a_new_set(
    make_store: StoreFactory,
    make_runtime: Make,
    board: MemoryBoard,
    agents: FakeAgents,
) -> None:
    issue = board.put(todo(1))
    started: list[str] = []

    async def work(session: FakeSession, prompt: str, turn: int) -> None:
        started.append(prompt)
        await session.hand_off("done")

    agents.scripts["MT-1"] = work
    states = board.states
    board.states = tuple(s for s in states if s != "Human Review")  # the move is refused
    runtime = make_runtime(make_store("agent:\n  best_of: 2", PROMPT))
    await runtime.start()

    def publish_row() -> RetryRow | None:
        return next((r for r in runtime.snapshot().retrying if r.issue_identifier == "MT-1"), None)

    await wait_until(lambda: publish_row() is not None)
    row = publish_row()
    assert row is not None and row.candidate is None and row.error is not None
    assert "moving to review failed" in row.error and "Human Review" in row.error
    assert runtime.snapshot().running == ()
    board.states = states
    await wait_until(lambda: board.issues[issue.id].state == "Human Review")
    moves = [args for name, args in board.calls if name == "move"]
    assert len(moves) >= 2 and set(moves) == {("id-1", "Human Review")}
    assert sorted(started) == ["MT-1 as a", "MT-1 as b"]  # no new set meanwhile
    assert len([body for on, body in board.comments if on == "MT-1"]) == 1
    await wait_until(lambda: publish_row() is None)
    await runtime.stop()
