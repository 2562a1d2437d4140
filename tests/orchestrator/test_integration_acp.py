"""The runtime with the ACP backend (``agent.kind: acp``): real workspaces and hooks, a scripted
ACP agent process (tests/support/fake_acp_agent.py) that moves the issue with the tracker's tool
over the session's MCP server, per-issue transcripts and the in-memory tracker."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest

from symphony.issue import Issue
from symphony.observability.transcript import AgentLogs
from symphony.orchestrator.runtime import OrchestratorRuntime
from symphony.service import select_backend
from symphony.workspace import WorkspaceManager
from tests.support.loop_clock import FakeLoopClock
from tests.support.memory_tracker import MemoryAdapter, MemoryBoard
from tests.support.waiting import wait_until

from .conftest import StoreFactory

FAKE_AGENT = Path(__file__).resolve().parents[1] / "support" / "fake_acp_agent.py"
SCRIPT = [
    {"say": "Working on it."},
    {"execute": "pytest -q", "exit_code": 0},
    {"mcp": "memory_move", "arguments": {"state": "Human Review"}},
    {"usage": {"inputTokens": 100, "outputTokens": 20, "totalTokens": 120}},
]


@pytest.fixture(autouse=True)
def clean_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))  # bash -l must not run the machine's profile


async def test_an_acp_agent_works_the_issue_and_moves_it_with_the_tracker_tool(
    make_store: StoreFactory,
    board: MemoryBoard,
    ws_root: Path,
    tmp_path: Path,
    loop_clock: FakeLoopClock,
) -> None:
    board.put(
        Issue(id="id-1", identifier="MT-1", title="Make it work", state="Todo", dispatchable=True)
    )
    command = shlex.join(["exec", sys.executable, str(FAKE_AGENT)])
    front = f"""
hooks:
  after_create: echo created > created.txt
agent:
  kind: acp
acp:
  command: {command!r}
  read_timeout_ms: 10000
"""
    # The agent reads its script from the prompt's last line.
    body = "Work on {{ issue.identifier }}.\n{% raw %}" + json.dumps(SCRIPT) + "{% endraw %}"
    store = make_store(front, body, poll_ms=600_000)
    runtime = OrchestratorRuntime(
        store,
        workspaces=WorkspaceManager(),
        agents=select_backend,
        adapter_factory=lambda _wf: MemoryAdapter(board),
        agent_logs=AgentLogs(tmp_path / "logs"),
        clock=loop_clock,
    )
    try:
        await runtime.start()
        await wait_until(lambda: board.issues["id-1"].state == "Human Review", timeout=20)
        await wait_until(lambda: runtime.state.completed == {"id-1"}, timeout=20)
        assert runtime.snapshot().codex_totals.total_tokens == 120
        assert (ws_root / "MT-1" / "created.txt").read_text() == "created\n"
        detail = runtime.issue_detail("MT-1")
        assert detail is not None and detail.logs
        transcript = Path(detail.logs[0].path).read_text()
        assert "session/prompt" in transcript and "memory_move" in transcript
    finally:
        await runtime.stop()
