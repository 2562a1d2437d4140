"""Fail fast: an exception inside ``decide`` stops the runtime instead of carrying on."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest

from symphony.core.events import Event
from symphony.core.state import OrchestratorState
from symphony.orchestrator import runtime as runtime_module
from symphony.orchestrator.runtime import OrchestratorRuntime
from tests.support.memory_tracker import MemoryBoard
from tests.support.waiting import wait_until

from .conftest import StoreFactory
from .fakes import FakeAgents, FakeWorkspaces
from .test_runtime import block_until, todo

Make = Callable[..., OrchestratorRuntime]


async def test_an_exception_in_decide_stops_every_agent_and_decides_nothing_more(
    make_store: StoreFactory,
    make_runtime: Make,
    board: MemoryBoard,
    agents: FakeAgents,
    workspaces: FakeWorkspaces,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    board.put(todo(1))
    board.put(todo(2))
    agents.scripts["MT-1"] = block_until(asyncio.Event())
    runtime = make_runtime(make_store("agent:\n  max_concurrent_agents: 1"))
    await runtime.start()
    await wait_until(lambda: runtime.snapshot().counts.running == 1)
    await wait_until(lambda: bool(agents.for_issue("MT-1")))

    seen: list[str] = []

    def broken(state: OrchestratorState, event: Event, now: float) -> Any:
        seen.append(type(event).__name__)
        raise RuntimeError("broken transition")

    monkeypatch.setattr(runtime_module, "decide", broken)
    with caplog.at_level(logging.CRITICAL, logger="symphony.orchestrator"):
        runtime.request_refresh()
        failure = await asyncio.wait_for(runtime.wait_failed(), timeout=5)

    assert isinstance(failure, RuntimeError) and runtime.failure is failure
    assert seen == ["RefreshRequested"]
    record = next(r for r in caplog.records if r.levelno == logging.CRITICAL)
    assert "state machine failed" in record.getMessage() and record.exc_info is not None
    # The agent is stopped (its session closed, after_run ran) without asking decide again.
    await wait_until(lambda: ("after_run", "MT-1") in workspaces.calls)
    assert agents.for_issue("MT-1")[0].stopped
    runtime.request_refresh()
    await runtime.stop()
    assert seen == ["RefreshRequested"]
    assert ("prepare", "MT-2") not in workspaces.calls
    assert runtime.snapshot().counts.running == 1  # the last decided state, frozen


async def test_a_healthy_runtime_never_reports_a_failure(
    make_store: StoreFactory,
    make_runtime: Make,
    board: MemoryBoard,
    workspaces: FakeWorkspaces,
) -> None:
    board.put(todo(1))
    runtime = make_runtime(make_store())
    await runtime.start()
    waiter = asyncio.ensure_future(runtime.wait_failed())
    await wait_until(lambda: ("after_run", "MT-1") in workspaces.calls)
    await runtime.stop()
    assert runtime.failure is None and not waiter.done()
    waiter.cancel()
