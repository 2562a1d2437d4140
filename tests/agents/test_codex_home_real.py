"""``codex.home: isolated`` and ``codex.mcp_approval`` against the REAL codex, offline.

The operator's home (the harness's CODEX_HOME, pointing codex at the fake model) also lists an
MCP server that cannot start; an isolated home keeps the model settings and credentials but not
that server. MCP tool calls go to ``tests/support/mcp_notes_server.py`` (the ``mcp`` SDK), which
codex starts from ``codex.mcp_servers``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from symphony.agents import AgentEvent, ToolRegistry
from symphony.agents.codex.home import resolve_home
from symphony.agents.codex.session import CodexSession
from tests.agents.test_codex_real import CODEX_BIN, ISSUE, PROMPT, Harness, harness
from tests.support.fake_model import FunctionCallItem, Reply
from tests.support.waiting import wait_until

__all__ = ["harness"]  # the fixture, shared with the real-codex session tests

pytestmark = [
    pytest.mark.codex,
    pytest.mark.skipif(
        not CODEX_BIN.exists(), reason=f"real codex binary not found at {CODEX_BIN}"
    ),
]

NOTES_SERVER = Path(__file__).resolve().parents[1] / "support" / "mcp_notes_server.py"
STATUS = "mcpServer/startupStatus/updated"
# A Python MCP server needs about 1.5 s to start (it imports the SDK), more on a busy machine.
MCP_READY_S = 30.0


def _statuses(events: list[AgentEvent]) -> dict[str, str]:
    """The latest startup status of each MCP server, from codex's notifications."""
    out: dict[str, str] = {}
    for event in events:
        if event.payload.get("method") == STATUS:
            params = event.payload.get("params") or {}
            out[str(params.get("name"))] = str(params.get("status"))
    return out


async def _start(harness: Harness, tmp_path: Path, **settings: Any) -> CodexSession:
    codex = harness.config(**settings)
    home = resolve_home(codex, storage_path=tmp_path / "state" / "state.sqlite", env=harness.env)
    return await CodexSession.start(
        workspace=harness.workspace,
        workspace_root=harness.root,
        codex=codex,
        tools=ToolRegistry.empty(),
        strip_env=frozenset(),
        on_event=harness.events.append,
        issue=ISSUE,
        env=harness.env,
        codex_home=home,
    )


async def test_isolated_home_starts_without_the_operators_mcp_servers(
    harness: Harness, tmp_path: Path
) -> None:
    operator = Path(harness.env["CODEX_HOME"])
    with (operator / "config.toml").open("a") as config:
        config.write('\n[mcp_servers.broken]\ncommand = "/nonexistent/broken-mcp-server"\n')
    (operator / "auth.json").write_text('{"OPENAI_API_KEY": "sk-operator"}')
    harness.model.script(Reply.message("one"), Reply.message("two"))

    inherited = await _start(harness, tmp_path)  # the control: the broken server is tried
    try:
        await inherited.run_turn(PROMPT, issue=ISSUE)
    finally:
        await inherited.stop()
    assert "broken" in _statuses(harness.events)

    harness.events.clear()
    isolated = await _start(harness, tmp_path, home="isolated")
    try:
        outcome = await isolated.run_turn(PROMPT, issue=ISSUE)
    finally:
        await isolated.stop()
    assert outcome.last_message == "two"
    assert "broken" not in _statuses(harness.events)
    home = tmp_path / "state" / "codex-home"
    assert (home / "auth.json").readlink() == operator / "auth.json"
    assert list((home / "sessions").rglob("rollout-*.jsonl")), "codex did not use the isolated home"


@pytest.mark.parametrize(
    ("policy", "mcp_approval", "runs"),
    [("on-request", "approve", True), ("on-request", "deny", False), ("never", "approve", True)],
)
async def test_mcp_tool_approval_follows_the_policy(
    harness: Harness, tmp_path: Path, policy: str, mcp_approval: str, runs: bool
) -> None:
    notes = tmp_path / "notes.txt"
    server = {"command": sys.executable, "args": [str(NOTES_SERVER), str(notes)]}
    harness.model.script(
        Reply(items=(FunctionCallItem("write_note", {"text": "hello"}, None, "mcp__notes"),)),
        Reply.message("done"),
    )
    session = await _start(
        harness,
        tmp_path,
        home="isolated",
        approval_policy=policy,
        mcp_servers={"notes": server},
        mcp_approval=mcp_approval,
    )
    try:
        # codex offers an MCP server's tools only once it is ready.
        await wait_until(
            lambda: _statuses(harness.events).get("notes") == "ready",
            timeout=MCP_READY_S,
            what="the notes MCP server to be ready",
        )
        await session.run_turn(PROMPT, issue=ISSUE)
    finally:
        await session.stop()
    output = next(iter(harness.model.requests[1].function_call_outputs().values()))
    if runs:
        assert notes.read_text() == "hello\n"
        assert "noted" in output
    else:
        assert not notes.exists()
        assert "noted" not in output
