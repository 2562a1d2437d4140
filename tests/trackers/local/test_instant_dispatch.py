"""A local-board write wakes the running service: a new card starts its agent at once, not at
the next poll (the poll here is 10 minutes away)."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from symphony.orchestrator.runtime import OrchestratorRuntime
from symphony.service import create_adapter
from symphony.trackers.base import ChangeFeed
from symphony.trackers.resolve import resolve_tracker
from symphony.workflow.store import WorkflowStore
from tests.orchestrator.fakes import FakeAgents, FakeWorkspaces
from tests.support.waiting import wait_until

SYMPHONY = Path(sys.executable).parent / "symphony"
FRONT_MATTER = """---
tracker:
  kind: local
polling:
  interval_ms: 600000
workspace:
  root: workspaces
---
Work on {{ issue.identifier }}.
"""


async def board(workflow: Path, *args: str) -> None:
    """The real ``symphony board`` CLI, in its own process."""
    process = await asyncio.create_subprocess_exec(
        str(SYMPHONY), "board", "--workflow", str(workflow), *args,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, err.decode()


async def test_a_board_add_from_the_cli_starts_an_agent_without_waiting_for_the_poll(
    tmp_path: Path,
) -> None:
    workflow = tmp_path / "WORKFLOW.md"
    workflow.write_text(FRONT_MATTER, encoding="utf-8")
    agents, workspaces = FakeAgents(), FakeWorkspaces()
    store = WorkflowStore.open(workflow, resolver=resolve_tracker)
    runtime = OrchestratorRuntime(
        store, workspaces=workspaces, agents=agents.select, adapter_factory=create_adapter
    )
    await runtime.start()
    try:
        await wait_until(lambda: runtime.state.last_poll_ms is not None, "the first poll")
        ticks = runtime.state.tick_id
        assert agents.sessions == []
        started = time.monotonic()
        await board(workflow, "add", "Start me at once")
        # The ticks counted when the agent started: later board writes (a hold's comment when
        # the fake agent's turns change nothing, say) wake the service too.
        at_start = await wait_until(
            lambda: runtime.state.tick_id if len(agents.sessions) == 1 else None,
            "an agent for the new card",
        )
        latency = time.monotonic() - started
        assert agents.sessions[0].issue.identifier == "SYM-1"
        # Woken by the write, long before the 10-minute poll. How many ticks that takes depends
        # on how the file watcher batches the write's changes (db, WAL, shm) under load: at
        # least one, and the time says none of them was the poll.
        assert at_start - ticks >= 1
        assert latency < 10
    finally:
        await runtime.stop()


async def test_the_local_adapter_announces_writes_from_another_process(tmp_path: Path) -> None:
    workflow = tmp_path / "WORKFLOW.md"
    workflow.write_text(FRONT_MATTER, encoding="utf-8")
    store = WorkflowStore.open(workflow, resolver=resolve_tracker)
    adapter = create_adapter(store.current)
    assert isinstance(adapter, ChangeFeed)
    notices = 0
    ready = asyncio.Event()

    async def count() -> None:
        nonlocal notices
        changes = adapter.watch_changes()
        ready.set()
        async for _ in changes:
            notices += 1

    watcher = asyncio.create_task(count())
    try:
        await ready.wait()
        # Nothing else writes here: the CLI process creates the board and adds the card.
        await board(workflow, "add", "Noticed")
        await wait_until(lambda: notices > 0, "a change notice for the write")
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
        await adapter.aclose()
