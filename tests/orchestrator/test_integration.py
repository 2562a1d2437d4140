"""The runtime with the real parts: WorkspaceManager (hooks in bash -lc), the codex backend
(selected by the default ``agent.kind``) talking JSONL to a fake app-server process, per-issue
transcripts, and the in-memory tracker."""

from __future__ import annotations

import asyncio
import shlex
import sys
from pathlib import Path

import pytest

from symphony.issue import Issue
from symphony.observability.transcript import AgentLogs
from symphony.orchestrator.runtime import OrchestratorRuntime
from symphony.service import select_backend
from symphony.view import Counts
from symphony.workspace import WorkspaceManager
from tests.support.loop_clock import FakeLoopClock
from tests.support.memory_tracker import MemoryAdapter, MemoryBoard
from tests.support.processes import alive
from tests.support.waiting import wait_until

from .conftest import StoreFactory

FAKE = Path(__file__).with_name("fake_app_server.py")


def command(*args: str) -> str:
    return shlex.join(["exec", sys.executable, "-S", str(FAKE), *args])


@pytest.fixture(autouse=True)
def clean_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))  # bash -l must not run the machine's profile


def front(agent_command: str) -> str:
    return f"""
hooks:
  after_create: echo created > created.txt
  after_run: echo ran >> after_run.txt
codex:
  command: {agent_command!r}
  read_timeout_ms: 10000
"""


def runtime_for(
    store: object, board: MemoryBoard, logs: Path, clock: FakeLoopClock
) -> OrchestratorRuntime:
    # The clock moves only when a test says: the real agent process takes real time, and no
    # poll or stall check may overtake it.
    return OrchestratorRuntime(
        store,  # type: ignore[arg-type]
        workspaces=WorkspaceManager(),
        agents=select_backend,
        adapter_factory=lambda _wf: MemoryAdapter(board),
        agent_logs=AgentLogs(logs),
        clock=clock,
    )


def todo(n: int) -> Issue:
    return Issue(
        id=f"id-{n}", identifier=f"MT-{n}", title="Make it work", state="Todo", dispatchable=True
    )


async def test_agent_works_the_issue_and_moves_it_with_its_tool(
    make_store: StoreFactory,
    board: MemoryBoard,
    ws_root: Path,
    tmp_path: Path,
    loop_clock: FakeLoopClock,
) -> None:
    board.put(todo(1))
    # A slow poll: reconciliation would otherwise race the worker's own normal exit once the
    # agent has moved the issue (either outcome is correct; this test follows the normal exit),
    # should the clock be moved that far.
    agent = command("--rate", "50", "--turn-seconds", "0.3", "--move-to", "Human Review")
    store = make_store(front(agent), poll_ms=600_000)
    runtime = runtime_for(store, board, tmp_path / "logs", loop_clock)
    try:
        await runtime.start()
        await wait_until(lambda: board.issues["id-1"].state == "Human Review", timeout=20)
        await wait_until(lambda: runtime.state.completed == {"id-1"}, timeout=20)
        snap = runtime.snapshot()
        assert snap.codex_totals.total_tokens > 0
        assert snap.rate_limits is not None
        # One second on: the continuation retry re-checks the issue and releases it (no longer
        # active).
        loop_clock.advance(1.0)
        await wait_until(lambda: not runtime.state.claimed, timeout=10)
        workspace = ws_root / "MT-1"
        assert (workspace / "created.txt").read_text() == "created\n"
        assert (workspace / "after_run.txt").read_text() == "ran\n"
        detail = runtime.issue_detail("MT-1")
        assert detail is not None and detail.status == "released"
        logs = detail.logs
        assert logs and logs[0].label == "latest"
        assert "turn/completed" in Path(logs[0].path).read_text()
    finally:
        await runtime.stop()


async def test_terminal_issue_kills_the_agent_runs_after_run_and_removes_the_workspace(
    make_store: StoreFactory,
    board: MemoryBoard,
    ws_root: Path,
    tmp_path: Path,
    loop_clock: FakeLoopClock,
) -> None:
    board.put(todo(2))
    store = make_store(front(command("--rate", "20", "--turn-seconds", "60")))
    runtime = runtime_for(store, board, tmp_path / "logs", loop_clock)
    try:
        await runtime.start()
        await wait_until(
            lambda: (
                bool(runtime.snapshot().running) and runtime.snapshot().running[0].pid is not None
            ),
            timeout=20,
        )
        pid = int(runtime.snapshot().running[0].pid)
        assert alive(pid)
        board.move("id-2", "Done")
        runtime.request_refresh()
        await wait_until(lambda: not (ws_root / "MT-2").exists(), timeout=20)
        assert not alive(pid)
        assert runtime.snapshot().counts == Counts(running=0, retrying=0, blocked=0)
    finally:
        await runtime.stop()


async def test_shutdown_kills_agents_and_runs_after_run(
    make_store: StoreFactory,
    board: MemoryBoard,
    ws_root: Path,
    tmp_path: Path,
    loop_clock: FakeLoopClock,
) -> None:
    board.put(todo(3))
    store = make_store(front(command("--rate", "20", "--turn-seconds", "60")))
    runtime = runtime_for(store, board, tmp_path / "logs", loop_clock)
    await runtime.start()
    await wait_until(
        lambda: bool(runtime.snapshot().running) and runtime.snapshot().running[0].pid is not None,
        timeout=20,
    )
    pid = int(runtime.snapshot().running[0].pid)
    await asyncio.wait_for(runtime.stop(), timeout=20)
    assert not alive(pid)
    assert (ws_root / "MT-3" / "after_run.txt").read_text() == "ran\n"


async def test_continuation_turns_share_one_app_server_and_thread(
    make_store: StoreFactory, board: MemoryBoard, tmp_path: Path, loop_clock: FakeLoopClock
) -> None:
    board.put(todo(4))
    extra = front(command("--rate", "50", "--turn-seconds", "0.1")) + "agent:\n  max_turns: 2\n"
    store = make_store(extra)
    runtime = runtime_for(store, board, tmp_path / "logs", loop_clock)
    try:
        await runtime.start()
        await wait_until(lambda: runtime.state.completed == {"id-4"}, timeout=20)
        transcript = Path(runtime.issue_detail("MT-4").logs[0].path)  # type: ignore[union-attr]
        sent = [line for line in transcript.read_text().splitlines() if " send " in line]
        turn_starts = [line for line in sent if '"turn/start"' in line]
        assert len(turn_starts) == 2
        assert sum('"thread/start"' in line for line in sent) == 1
        assert "Work on MT-4" in turn_starts[0] and "Work on MT-4" not in turn_starts[1]
        assert "Continuation guidance" in turn_starts[1] and "turn 2 of at most 2" in turn_starts[1]
    finally:
        await runtime.stop()
