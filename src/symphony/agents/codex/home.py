"""Which CODEX_HOME an agent gets: the operator's, an isolated one, or a configured directory.

An operator's ``~/.codex`` collects MCP servers for interactive use; every one of them starts
with every agent, and one slow or broken server stalls every start. ``codex.home: isolated``
gives agents a home of their own next to Symphony's state (``<storage dir>/codex-home``): the
operator's ``config.toml`` without its ``[mcp_servers]`` (model, provider and feature settings
stay), plus exactly the servers of ``codex.mcp_servers``, and the operator's credentials
(``auth.json``) linked in, so a login or token refresh there is seen at once.

The home is shared by every agent of the service and by restarts (codex keeps its threads'
rollouts there, which ``thread/resume`` needs). codex itself appends ``[projects]`` trust entries
to ``config.toml`` at ``thread/start``, so the file is rewritten only when what Symphony puts in
it changed, and atomically (a rename), never under a running codex's feet.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomli_w

from symphony.agents.codex.credentials import AUTH_FILE, codex_home
from symphony.agents.codex.errors import AgentError
from symphony.workflow.config import CODEX_HOME_INHERIT, CODEX_HOME_ISOLATED, CodexConfig

ISOLATED_DIR = "codex-home"
CONFIG_FILE = "config.toml"
HOME_SETUP_FAILED = "codex_home_setup_failed"
# Written by codex, not by us: ignored when deciding whether the file needs rewriting.
_CODEX_OWNED = ("projects",)
# Under approval_policy `never` codex rejects a non-read-only MCP tool by itself, before any
# approval request; `approve` on a server lets its tools run.
_APPROVE_MODE = {"default_tools_approval_mode": "approve"}


def isolated_home(storage_path: Path) -> Path:
    return storage_path.parent / ISOLATED_DIR


def resolve_home(
    codex: CodexConfig, *, storage_path: Path, env: Mapping[str, str], cwd: Path | None = None
) -> Path | None:
    """The CODEX_HOME to give agents (None: leave the inherited one alone), prepared.

    Raises ``AgentError`` (``codex_home_setup_failed``) when an isolated home cannot be written.
    """
    if codex.home == CODEX_HOME_INHERIT:
        return None
    if codex.home != CODEX_HOME_ISOLATED:
        return Path(codex.home)
    home = isolated_home(storage_path)
    operator = codex_home(env, cwd)
    try:
        prepare_isolated_home(home, operator=operator, codex=codex)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError, ValueError) as exc:
        raise AgentError(
            HOME_SETUP_FAILED,
            f"codex.home: isolated: cannot prepare {home}: {exc}; check that the storage "
            f"directory is writable and that {operator}/{CONFIG_FILE} is valid TOML",
        ) from exc
    return home


def prepare_isolated_home(home: Path, *, operator: Path | None, codex: CodexConfig) -> None:
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    desired = isolated_config(_read_config(operator), codex)
    current_path = home / CONFIG_FILE
    current = _read_config(home)
    if _ours(current) != desired:
        # Keep codex's own entries (trust levels) across a rewrite.
        merged = {**desired, **{k: current[k] for k in _CODEX_OWNED if k in current}}
        tmp = current_path.with_name(f".{CONFIG_FILE}.{os.getpid()}.tmp")
        tmp.write_text(tomli_w.dumps(merged), encoding="utf-8")
        tmp.replace(current_path)
    _link_credentials(home, operator)


def isolated_config(operator_config: Mapping[str, Any], codex: CodexConfig) -> dict[str, Any]:
    """The operator's settings without their MCP servers, plus ``codex.mcp_servers``."""
    config = {
        k: v for k, v in operator_config.items() if k != "mcp_servers" and k not in _CODEX_OWNED
    }
    servers: dict[str, Any] = {}
    for name, table in codex.mcp_servers.items():
        entry = dict(table)
        if codex.mcp_approval == "approve":
            entry = {**_APPROVE_MODE, **entry}
        servers[name] = entry
    if servers:
        config["mcp_servers"] = servers
    return config


def _read_config(home: Path | None) -> dict[str, Any]:
    if home is None:
        return {}
    path = home / CONFIG_FILE
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


def _ours(config: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k not in _CODEX_OWNED}


def _link_credentials(home: Path, operator: Path | None) -> None:
    """``auth.json`` points at the operator's, so their login and refreshes are seen at once.

    A real file there (someone ran ``codex login`` with this home) is theirs: left alone.
    """
    link = home / AUTH_FILE
    if link.exists() and not link.is_symlink():
        return
    source = operator / AUTH_FILE if operator is not None else None
    if source is None or not source.exists():
        if link.is_symlink():
            link.unlink()  # the operator logged out: no dangling credential link
        return
    if link.is_symlink():
        if link.readlink() == source:
            return
        link.unlink()
    link.symlink_to(source)
