"""Human requests and steering through the whole runtime, with scripted agents."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from symphony.human import HumanAnswer, HumanRequest, RequestRecord, SteerRecord
from symphony.orchestrator.runtime import OrchestratorRuntime
from symphony.storage import StateStore
from tests.support.memory_tracker import MemoryBoard
from tests.support.waiting import wait_until

from .conftest import StoreFactory
from .fakes import FakeAgents, FakeSession
from .test_runtime import todo

Make = Callable[..., OrchestratorRuntime]
REQUEST = HumanRequest(kind="command_approval", summary="run make", command="make")


def asking(answers: list[HumanAnswer]) -> Any:
    """A turn that parks one request, silent while it waits, and records the answer."""

    async def script(session: FakeSession, prompt: str, turn: int) -> None:
        assert session.human is not None
        answers.append(await session.human.ask(REQUEST))
        await asyncio.sleep(30)  # keep the run alive; the test stops it

    return script


async def test_a_parked_request_survives_the_stall_check_and_is_answered(
    make_store: StoreFactory, make_runtime: Make, board: MemoryBoard, agents: FakeAgents
) -> None:
    board.put(todo(1))
    answers: list[HumanAnswer] = []
    agents.scripts["MT-1"] = asking(answers)
    runtime = make_runtime(make_store("codex:\n  stall_timeout_ms: 200"))
    seen: list[RequestRecord | SteerRecord] = []
    runtime.human.subscribe(seen.append)
    await runtime.start()
    await wait_until(lambda: runtime.pending_requests())
    (pending,) = runtime.pending_requests()
    await wait_until(lambda: runtime.snapshot().running[0].pending_request_count == 1)
    # Polls every 50 ms pass the 200 ms stall timeout without stopping the waiting agent.
    ticks = runtime.state.tick_id
    await wait_until(lambda: runtime.state.tick_id >= ticks + 6, timeout=10)
    assert runtime.snapshot().counts.running == 1 and runtime.snapshot().counts.retrying == 0
    detail = runtime.issue_detail("MT-1")
    assert detail is not None and [r.id for r in detail.pending_requests] == [pending.id]

    outcome = runtime.answer_request("MT-1", pending.id, {"decision": "approve"})

    assert outcome.status == "accepted"
    await wait_until(lambda: answers == [HumanAnswer(decision="approve")])
    await wait_until(lambda: runtime.snapshot().running[0].pending_request_count == 0)
    assert [(r.id, r.status) for r in seen if isinstance(r, RequestRecord)] == [
        (pending.id, "pending"),
        (pending.id, "answered"),
    ]
    await runtime.stop()


async def test_the_human_timeout_declines_and_the_agent_goes_on(
    make_store: StoreFactory, make_runtime: Make, board: MemoryBoard, agents: FakeAgents
) -> None:
    board.put(todo(1))
    answers: list[HumanAnswer] = []
    agents.scripts["MT-1"] = asking(answers)
    runtime = make_runtime(make_store("agent:\n  human_timeout_ms: 100"))
    await runtime.start()
    await wait_until(lambda: answers == [HumanAnswer.declined()])
    (record,) = runtime.human.records("id-1")
    assert record.status == "timed_out"
    await runtime.stop()


async def test_the_tracker_is_told_once_per_request_when_configured(
    make_store: StoreFactory, make_runtime: Make, board: MemoryBoard, agents: FakeAgents
) -> None:
    board.put(todo(1))
    agents.scripts["MT-1"] = asking([])
    runtime = make_runtime(make_store("agent:\n  notify_tracker_on_request: true"))
    await runtime.start()
    (pending,) = await wait_until(lambda: runtime.pending_requests())
    ((identifier, body),) = await wait_until(lambda: board.comments)
    assert identifier == "MT-1"
    assert "waits for a human" in body and "run make" in body
    assert f"symphony answer MT-1 {pending.id} --approve" in body
    runtime.answer_request("MT-1", pending.id, {"decision": "deny"})
    await runtime.stop()
    assert len(board.comments) == 1


async def test_no_tracker_comment_by_default(
    make_store: StoreFactory, make_runtime: Make, board: MemoryBoard, agents: FakeAgents
) -> None:
    board.put(todo(1))
    agents.scripts["MT-1"] = asking([])
    runtime = make_runtime(make_store())
    await runtime.start()
    await wait_until(lambda: runtime.pending_requests())
    await runtime.stop()
    assert board.comments == []


async def test_shutdown_expires_pending_requests(
    make_store: StoreFactory, make_runtime: Make, board: MemoryBoard, agents: FakeAgents
) -> None:
    board.put(todo(1))
    agents.scripts["MT-1"] = asking([])
    runtime = make_runtime(make_store())
    await runtime.start()
    await wait_until(lambda: runtime.pending_requests())
    await asyncio.wait_for(runtime.stop(), timeout=5)
    (record,) = runtime.human.records("id-1")
    assert record.status == "expired"


async def test_steering_reaches_the_running_session_and_the_timeline(
    make_store: StoreFactory, make_runtime: Make, board: MemoryBoard, agents: FakeAgents
) -> None:
    board.put(todo(1))
    gate = asyncio.Event()

    async def working(session: FakeSession, prompt: str, turn: int) -> None:
        await asyncio.wait_for(gate.wait(), timeout=10)

    agents.scripts["MT-1"] = working
    runtime = make_runtime(make_store())
    assert await runtime.steer("MT-1", "too early") is None
    await runtime.start()
    await wait_until(lambda: len(agents.live) == 1)
    await wait_until(lambda: runtime.human.steerable("MT-1"))
    steered = await runtime.steer("MT-1", "use tabs")
    assert steered is not None
    assert steered.delivery == "running_turn"
    assert agents.sessions[0].steers == ["use tabs"]
    detail = runtime.issue_detail("MT-1")
    assert detail is not None and "steered" in [e.event for e in detail.recent_events]
    gate.set()
    await runtime.stop()


async def test_requests_and_steers_are_kept_in_the_history_across_a_restart(
    make_store: StoreFactory,
    make_runtime: Make,
    board: MemoryBoard,
    agents: FakeAgents,
    tmp_path: Path,
) -> None:
    board.put(todo(1))
    answers: list[HumanAnswer] = []

    async def asks_twice(session: FakeSession, prompt: str, turn: int) -> None:
        assert session.human is not None
        answers.append(await session.human.ask(REQUEST))
        answers.append(await session.human.ask(REQUEST))  # still open when the service stops

    agents.scripts["MT-1"] = asks_twice
    path = tmp_path / "state.sqlite"
    store = StateStore.open(path)
    runtime = make_runtime(make_store(), storage=store)
    await runtime.start()
    (first,) = await wait_until(lambda: runtime.pending_requests())
    await wait_until(lambda: runtime.human.steerable("MT-1"))
    steered = await runtime.steer("MT-1", "keep the tests green")
    assert steered is not None
    assert runtime.answer_request("MT-1", first.id, {"decision": "approve"}).status == "accepted"
    (second,) = await wait_until(
        lambda: [r for r in runtime.pending_requests() if r.id != first.id]
    )
    await asyncio.wait_for(runtime.stop(), timeout=5)
    store.close()

    agents.scripts["MT-1"] = asking([])  # the next run asks again and waits
    again = StateStore.open(path)
    restarted = make_runtime(make_store(), storage=again)
    await restarted.start()
    try:
        detail = await wait_until(lambda: restarted.issue_detail("MT-1"))
        (run,) = [r for r in detail.history if r.requests]
        assert [(r.id, r.status, r.answer) for r in run.requests] == [
            (first.id, "answered", HumanAnswer(decision="approve")),
            (second.id, "expired", HumanAnswer.declined()),
        ]
        assert [(s.id, s.message) for s in run.steers] == [(steered.id, "keep the tests green")]
        # Nothing from before the restart is offered as still open.
        assert all(r.id not in (first.id, second.id) for r in restarted.pending_requests())
    finally:
        await restarted.stop()
        again.close()
