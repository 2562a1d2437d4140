"""The Claude Code session's start-up failures, without the real binary (a stand-in command)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from symphony.agents import AgentError, ToolRegistry
from symphony.agents.claude_code.launch import exclude_sandbox_masks
from symphony.agents.claude_code.session import CLAUDE_NOT_FOUND, ClaudeCodeSession
from symphony.agents.errors import PORT_EXIT, RESPONSE_TIMEOUT
from symphony.workflow.config import ClaudeCodeConfig
from tests.agents.conftest import make_issue


async def start(tmp_path: Path, **settings: Any) -> ClaudeCodeSession:
    root = tmp_path / "workspaces"
    workspace = root / "SYM-1"
    workspace.mkdir(parents=True, exist_ok=True)
    return await ClaudeCodeSession.start(
        workspace=workspace,
        workspace_root=root,
        config=ClaudeCodeConfig(sandbox=False, **settings),
        tools=ToolRegistry.empty(),
        strip_env=frozenset(),
        on_event=lambda _: None,
        issue=make_issue(),
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)},
    )


def leftovers(marker: str) -> list[str]:
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline:
            found.append(cmdline)
    return found


async def test_a_silent_agent_fails_the_start_after_read_timeout_ms(tmp_path: Path) -> None:
    marker = f"silent-agent-{os.getpid()}"
    # `#` comments out the claude arguments: the stand-in reads stdin and never answers.
    with pytest.raises(AgentError) as caught:
        await start(tmp_path, command=f"exec -a {marker} cat > /dev/null #", read_timeout_ms=300)
    assert caught.value.code == RESPONSE_TIMEOUT
    assert "claude_code.read_timeout_ms" in caught.value.message
    assert not leftovers(marker)


async def test_a_missing_command_is_claude_not_found(tmp_path: Path) -> None:
    with pytest.raises(AgentError) as caught:
        await start(tmp_path, command="no-such-claude-binary")
    assert caught.value.code == CLAUDE_NOT_FOUND
    assert "claude_code.command" in caught.value.message


async def test_an_agent_that_exits_at_once_is_a_port_exit(tmp_path: Path) -> None:
    with pytest.raises(AgentError) as caught:
        await start(tmp_path, command="echo 'Error: bad flag' >&2; exit 3 #")
    assert caught.value.code == PORT_EXIT
    assert "Error: bad flag" in caught.value.message


def test_sandbox_masks_are_excluded_from_git_once(tmp_path: Path) -> None:
    assert exclude_sandbox_masks(tmp_path) == []  # not a git repository: nothing written
    (tmp_path / ".git").mkdir()
    (tmp_path / ".bashrc").write_text("# the repository's own\n")
    patterns = exclude_sandbox_masks(tmp_path)
    assert "/.zshrc" in patterns and "/.claude/.cc-writes" in patterns
    assert "/.bashrc" not in patterns  # present, so not masked: it stays visible to git
    text = (tmp_path / ".git" / "info" / "exclude").read_text()
    assert exclude_sandbox_masks(tmp_path) == []
    assert (tmp_path / ".git" / "info" / "exclude").read_text() == text
