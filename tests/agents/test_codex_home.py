"""``codex.home`` (inherit / isolated / a path) and ``codex.mcp_approval`` decisions."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from symphony.agents.codex import server_requests
from symphony.agents.codex.errors import AgentError
from symphony.agents.codex.home import (
    HOME_SETUP_FAILED,
    isolated_config,
    isolated_home,
    prepare_isolated_home,
    resolve_home,
)
from symphony.agents.codex.server_requests import AskHuman, Reply
from symphony.workflow.config import CodexConfig

OPERATOR_TOML = """model = "mock-model"
model_provider = "fake"

[model_providers.fake]
base_url = "http://127.0.0.1:9/v1"

[mcp_servers.thirty_of_them]
command = "slow-mcp"

[projects."/home/op/repo"]
trust_level = "trusted"
"""
NOTES = {"command": "python3", "args": ["notes.py"]}


def _operator(tmp_path: Path, *, auth: bool = True) -> Path:
    home = tmp_path / "operator"
    home.mkdir()
    (home / "config.toml").write_text(OPERATOR_TOML)
    if auth:
        (home / "auth.json").write_text('{"OPENAI_API_KEY": "sk-operator"}')
    return home


def _codex(**settings: Any) -> CodexConfig:
    return CodexConfig(**{"home": "isolated", **settings})


def _read(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text())


def test_isolated_config_keeps_settings_and_replaces_the_servers() -> None:
    operator = tomllib.loads(OPERATOR_TOML)
    assert isolated_config(operator, _codex()) == {
        "model": "mock-model",
        "model_provider": "fake",
        "model_providers": {"fake": {"base_url": "http://127.0.0.1:9/v1"}},
    }
    approve = isolated_config(
        operator, _codex(mcp_servers={"notes": NOTES}, mcp_approval="approve")
    )
    assert approve["mcp_servers"] == {"notes": {"default_tools_approval_mode": "approve", **NOTES}}
    # An explicit mode in the table wins over the policy's default.
    own = {**NOTES, "default_tools_approval_mode": "writes"}
    kept = isolated_config(operator, _codex(mcp_servers={"notes": own}, mcp_approval="approve"))
    assert kept["mcp_servers"]["notes"]["default_tools_approval_mode"] == "writes"


def test_prepare_writes_once_links_credentials_and_keeps_codex_entries(tmp_path: Path) -> None:
    operator = _operator(tmp_path)
    home = tmp_path / "state" / "codex-home"
    codex = _codex(mcp_servers={"notes": NOTES})
    prepare_isolated_home(home, operator=operator, codex=codex)
    written = _read(home / "config.toml")
    assert written["mcp_servers"] == {"notes": NOTES}
    assert "projects" not in written and written["model_provider"] == "fake"
    assert (home / "auth.json").is_symlink()
    assert (home / "auth.json").readlink() == operator / "auth.json"
    assert (home / "auth.json").read_text() == '{"OPENAI_API_KEY": "sk-operator"}'

    # codex appends trust entries; an unchanged configuration leaves the file alone.
    with (home / "config.toml").open("a") as config:
        config.write('\n[projects."/ws/SYM-1"]\ntrust_level = "trusted"\n')
    before = (home / "config.toml").stat().st_mtime_ns
    prepare_isolated_home(home, operator=operator, codex=codex)
    assert (home / "config.toml").stat().st_mtime_ns == before

    # A changed server list rewrites it, keeping codex's entries.
    prepare_isolated_home(home, operator=operator, codex=_codex())
    rewritten = _read(home / "config.toml")
    assert "mcp_servers" not in rewritten
    assert rewritten["projects"] == {"/ws/SYM-1": {"trust_level": "trusted"}}


def test_credentials_follow_the_operator(tmp_path: Path) -> None:
    operator = _operator(tmp_path)
    home = tmp_path / "codex-home"
    prepare_isolated_home(home, operator=operator, codex=_codex())
    (operator / "auth.json").unlink()  # logged out
    prepare_isolated_home(home, operator=operator, codex=_codex())
    assert not (home / "auth.json").is_symlink() and not (home / "auth.json").exists()
    # A real file someone put there (a login with this home) is never touched.
    (home / "auth.json").write_text('{"tokens": "theirs"}')
    (operator / "auth.json").write_text('{"OPENAI_API_KEY": "sk-operator"}')
    prepare_isolated_home(home, operator=operator, codex=_codex())
    assert (home / "auth.json").read_text() == '{"tokens": "theirs"}'


def test_resolve_home_per_mode(tmp_path: Path) -> None:
    storage = tmp_path / ".symphony" / "state.sqlite"
    env = {"CODEX_HOME": str(_operator(tmp_path))}
    assert resolve_home(CodexConfig(), storage_path=storage, env=env) is None
    custom = tmp_path / "custom"
    assert resolve_home(CodexConfig(home=str(custom)), storage_path=storage, env=env) == custom
    isolated = resolve_home(_codex(), storage_path=storage, env=env)
    assert isolated == isolated_home(storage) == tmp_path / ".symphony" / "codex-home"
    assert (isolated / "config.toml").is_file()
    assert isolated.stat().st_mode & 0o777 == 0o700


def test_an_unreadable_operator_config_is_a_clear_error(tmp_path: Path) -> None:
    operator = _operator(tmp_path)
    (operator / "config.toml").write_text("model = [unterminated")
    with pytest.raises(AgentError) as caught:
        resolve_home(
            _codex(),
            storage_path=tmp_path / "s" / "state.sqlite",
            env={"CODEX_HOME": str(operator)},
        )
    assert caught.value.code == HOME_SETUP_FAILED
    assert str(operator / "config.toml") in caught.value.message


ELICITATION = {
    "threadId": "t",
    "turnId": "u",
    "serverName": "notes",
    "mode": "form",
    "message": 'Allow the notes MCP server to run tool "write_note"?',
    "requestedSchema": {"type": "object", "properties": {}},
    "_meta": {"codex_approval_kind": "mcp_tool_call", "tool_name": "write_note"},
}


def _decide(mcp_approval: str | None, *, policy_never: bool, channel: bool) -> Any:
    return server_requests.decide(
        server_requests.MCP_ELICITATION,
        ELICITATION,
        auto_approve=policy_never,
        tool_names=(),
        now=datetime(2026, 12, 3, tzinfo=UTC),
        ask_human=channel,
        mcp_approval=mcp_approval,
    )


@pytest.mark.parametrize(
    ("mcp_approval", "policy_never", "channel", "expected"),
    [
        ("approve", False, True, "accept"),
        ("approve", False, False, "accept"),
        ("deny", True, True, "decline"),
        ("deny", False, False, "decline"),
        ("ask", True, True, "human"),  # an explicit ask beats approval_policy: never
        ("ask", False, False, "decline"),  # nobody to ask
        (None, True, True, "accept"),  # unset: as approval_policy implies
        (None, False, True, "human"),
        (None, False, False, "decline"),
    ],
)
def test_mcp_approval_answers(
    mcp_approval: str | None, policy_never: bool, channel: bool, expected: str
) -> None:
    decision = _decide(mcp_approval, policy_never=policy_never, channel=channel)
    if expected == "human":
        assert isinstance(decision, AskHuman)
        return
    assert isinstance(decision, Reply) and decision.result is not None
    assert decision.result["action"] == expected
