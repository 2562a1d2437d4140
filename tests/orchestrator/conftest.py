from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from symphony.core.state import Phase
from symphony.orchestrator.runtime import OrchestratorRuntime
from symphony.trackers.resolve import resolve_tracker
from symphony.workflow.store import WorkflowStore
from tests.support.loop_clock import FakeLoopClock
from tests.support.memory_tracker import MemoryAdapter, MemoryBoard, MemoryProfile
from tests.support.waiting import advancing

from .fakes import FakeAgents, FakeWorkspaces

StoreFactory = Callable[..., WorkflowStore]


@pytest.fixture
def board(memory_tracker: MemoryProfile) -> MemoryBoard:
    return memory_tracker.board


@pytest.fixture
def ws_root(tmp_path: Path) -> Path:
    return tmp_path / "workspaces"


@pytest.fixture
def make_store(
    memory_tracker: MemoryProfile, write_workflow: Callable[..., Path], ws_root: Path
) -> StoreFactory:
    def make(
        extra: str = "",
        body: str = "Work on {{ issue.identifier }}: {{ issue.title }}",
        *,
        poll_ms: int = 50,
        reset_states: tuple[str, ...] = (),
    ) -> WorkflowStore:
        front = f"""
tracker:
  kind: memory
workspace:
  root: {ws_root}
  reset_states: {list(reset_states)}
polling:
  interval_ms: {poll_ms}
{extra}
"""
        path = write_workflow(front, body)
        return WorkflowStore.open(path, resolver=resolve_tracker)

    return make


@pytest.fixture
def workspaces() -> FakeWorkspaces:
    return FakeWorkspaces()


@pytest.fixture
def agents() -> FakeAgents:
    return FakeAgents()


@pytest.fixture
def loop_clock() -> FakeLoopClock:
    """The runtime's clock in these tests: polls and retries fire only when time is moved."""
    return FakeLoopClock()


@pytest.fixture
def following_clock(loop_clock: FakeLoopClock) -> Iterator[FakeLoopClock]:
    """``loop_clock``, moved to its next timer whenever a ``wait_until`` polled in vain."""
    with advancing(loop_clock.jump):
        yield loop_clock


@pytest.fixture
async def make_runtime(
    board: MemoryBoard,
    workspaces: FakeWorkspaces,
    agents: FakeAgents,
    following_clock: FakeLoopClock,
) -> AsyncIterator[Callable[..., OrchestratorRuntime]]:
    """Runtimes on fake workspaces and agents, timed by ``following_clock``."""
    created: list[OrchestratorRuntime] = []

    def make(store: WorkflowStore, **kwargs: Any) -> OrchestratorRuntime:
        clock = kwargs.pop("clock", following_clock)
        runtime = OrchestratorRuntime(
            store,
            workspaces=workspaces,
            agents=agents.select,
            adapter_factory=kwargs.pop("adapter_factory", lambda _wf: MemoryAdapter(board)),
            tracker_timeout_s=kwargs.pop("tracker_timeout_s", 5.0),
            clock=clock,
            **kwargs,
        )
        created.append(runtime)
        if clock is following_clock:
            # Time waits while a poll is in flight (see FakeLoopClock.holds).
            following_clock.holds.append(lambda: runtime.state.phase is not Phase.IDLE)
        return runtime

    yield make
    for runtime in created:
        await runtime.stop()
