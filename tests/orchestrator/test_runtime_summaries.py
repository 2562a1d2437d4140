"""An adapter that offers summaries (``IssueSummaries``) is polled with them; agents still get
the whole issue."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from symphony.issue import Issue
from symphony.orchestrator.runtime import OrchestratorRuntime
from tests.support.memory_tracker import MemoryBoard, SummaryMemoryAdapter
from tests.support.waiting import wait_until

from .conftest import StoreFactory
from .fakes import FakeAgents, FakeSession

Make = Callable[..., OrchestratorRuntime]


async def test_polls_read_summaries_and_the_agent_gets_the_whole_issue(
    make_store: StoreFactory,
    make_runtime: Make,
    board: MemoryBoard,
    agents: FakeAgents,
    ws_root: Path,
) -> None:
    (ws_root / "MT-9").mkdir(parents=True)
    board.put(Issue("id-9", "MT-9", "Finished", "Done", True))
    board.put(Issue("id-1", "MT-1", "Fix it", "Todo", True, description="All the details"))
    gate = asyncio.Event()

    async def hold(session: FakeSession, prompt: str, turn: int) -> None:
        await asyncio.wait_for(gate.wait(), timeout=10)

    agents.scripts["MT-1"] = hold
    store = make_store(body="{{ issue.identifier }}: {{ issue.description }}")
    runtime = make_runtime(store, adapter_factory=lambda _wf: SummaryMemoryAdapter(board))
    await runtime.start()
    await wait_until(lambda: runtime.snapshot().counts.running == 1)
    await wait_until(lambda: bool(agents.sessions) and bool(agents.sessions[0].prompts))
    assert agents.sessions[0].prompts == ["MT-1: All the details"]
    reads = [kind for kind, _ in board.calls]
    # The startup sweep and the poll read summaries; only the dispatched issue is read whole.
    assert reads[:3] == ["summaries", "summaries", "ids"]
    assert "states" not in reads
    assert not (ws_root / "MT-9").exists()
    gate.set()
