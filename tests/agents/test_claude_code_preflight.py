"""``symphony validate`` for ``agent.kind: claude_code``: binary, version, sandbox, credentials."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from symphony.agents.claude_code.preflight import has_credentials, preflight_warnings
from symphony.workflow.config import ClaudeCodeConfig
from tests.agents.test_claude_code_real import CLAUDE_BIN


def fake_claude(tmp_path: Path, version: str) -> Path:
    script = tmp_path / "claude"
    script.write_text(f"#!/bin/sh\necho '{version} (Claude Code)'\n")
    script.chmod(0o755)
    return script


def bin_dir(tmp_path: Path, *tools: str) -> str:
    """A PATH with only ``tools`` (and bash) on it."""
    directory = tmp_path / "bin"
    directory.mkdir(exist_ok=True)
    for tool in ("bash", *tools):
        found = shutil.which(tool)
        assert found is not None
        (directory / tool).symlink_to(found)
    return str(directory)


async def warnings(tmp_path: Path, config: ClaudeCodeConfig, env: dict[str, str]) -> list[str]:
    return await preflight_warnings(
        config, env=env, cwd=tmp_path, strip_env=frozenset(), timeout_s=10
    )


async def test_a_ready_setup_has_no_warnings(tmp_path: Path) -> None:
    claude = fake_claude(tmp_path, "2.1.328")
    env = {"PATH": bin_dir(tmp_path, "bwrap", "socat"), "ANTHROPIC_API_KEY": "k"}
    if not (shutil.which("bwrap") and shutil.which("socat")):
        pytest.skip("bwrap and socat are not installed")
    assert await warnings(tmp_path, ClaudeCodeConfig(command=str(claude)), env) == []


async def test_missing_binary_sandbox_tools_and_credentials(tmp_path: Path) -> None:
    env = {"PATH": bin_dir(tmp_path), "HOME": str(tmp_path)}
    found = await warnings(tmp_path, ClaudeCodeConfig(command="no-such-claude"), env)
    assert len(found) == 3
    assert "does not run" in found[0] and "claude_not_found" in found[0]
    assert "bwrap and socat" in found[1] and "claude_sandbox_unavailable" in found[1]
    assert "no Claude Code credentials" in found[2]
    unsandboxed = ClaudeCodeConfig(command="no-such-claude", sandbox=False)
    assert len(await warnings(tmp_path, unsandboxed, env)) == 2


async def test_an_untested_version_is_reported(tmp_path: Path) -> None:
    claude = fake_claude(tmp_path, "9.9.9")
    env = {"PATH": bin_dir(tmp_path), "ANTHROPIC_API_KEY": "k"}
    (found,) = await warnings(tmp_path, ClaudeCodeConfig(command=str(claude), sandbox=False), env)
    assert "9.9.9" in found and "2.1.328" in found


@pytest.mark.skipif(not CLAUDE_BIN.exists(), reason=f"real claude not found at {CLAUDE_BIN}")
async def test_the_pinned_binary_passes(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "ANTHROPIC_API_KEY": "k"}
    config = ClaudeCodeConfig(command=str(CLAUDE_BIN), sandbox=False)
    assert await warnings(tmp_path, config, env) == []


def test_credentials_from_env_or_a_login(tmp_path: Path) -> None:
    assert has_credentials({"ANTHROPIC_API_KEY": "k"})
    assert has_credentials({"CLAUDE_CODE_OAUTH_TOKEN": "t"})
    assert not has_credentials({"HOME": str(tmp_path)})
    (tmp_path / ".claude").mkdir()
    (tmp_path / ".claude" / ".credentials.json").write_text("{}")
    assert has_credentials({"HOME": str(tmp_path)})
    config_dir = tmp_path / "elsewhere"
    config_dir.mkdir()
    assert not has_credentials({"HOME": str(tmp_path), "CLAUDE_CONFIG_DIR": str(config_dir)})
