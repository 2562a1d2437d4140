"""Starting the app-server process and naming the way it ended (SPEC §10.1, §10.6)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from pathlib import Path

from symphony.agents.codex.errors import (
    CODEX_NOT_FOUND,
    INVALID_WORKSPACE_CWD,
    PORT_EXIT,
    SESSION_CLOSED,
    AgentError,
)
from symphony.agents.codex.lines import MAX_LINE_BYTES, StderrTail
from symphony.linestream import LinePipes
from symphony.process import child_environment, spawn_login_shell_lines
from symphony.ssh import HOST_UNREACHABLE, SSH_FAILED_EXIT
from symphony.workspace.errors import WorkspaceError
from symphony.workspace.paths import validate_agent_cwd

COMMAND_NOT_FOUND_EXIT = 127
# The codex release the tests run (scripts/setup installs it); others get a warning.
TESTED_VERSION = "0.169.0"


def agent_cwd(workspace: Path, workspace_root: Path) -> Path:
    """The canonical workspace, proven to be inside the root (SPEC §9.5), or ``AgentError``."""
    try:
        return validate_agent_cwd(workspace, workspace, workspace_root)
    except WorkspaceError as exc:
        raise AgentError(INVALID_WORKSPACE_CWD, exc.message) from exc


async def launch(
    command: str,
    *,
    cwd: Path,
    base_env: Mapping[str, str],
    strip_env: frozenset[str],
    prelude: str = "",
    wrap: Callable[[str], str] | None = None,
) -> tuple[asyncio.subprocess.Process, LinePipes]:
    """``bash -lc <command>`` in ``cwd``, own process group, secrets stripped (SPEC §15.3).

    ``prelude`` is shell text run before ``command``, after the login profile (for example the
    PATH entry of ``linux_sandbox.launch_prefix``); bash still execs the command itself.
    ``wrap`` turns the script into the one that runs it in a sandbox (``Sandbox.wrap``).
    """
    env = child_environment(strip_env, base=base_env)
    script = prelude + command
    if wrap is not None:
        script = wrap(script)
    try:
        return await spawn_login_shell_lines(
            script, cwd=cwd, env=env, strip=strip_env, limit=MAX_LINE_BYTES
        )
    except OSError as exc:
        raise AgentError(
            CODEX_NOT_FOUND, f"could not launch `bash -lc {command}` in {cwd}: {exc}"
        ) from exc


def exit_error(
    *,
    returncode: int | None,
    command: str,
    stderr: StderrTail,
    initialized: bool,
    stopping: bool,
    session_id: str | None,
    worker_host: str | None = None,
) -> AgentError:
    """What the app-server's exit means for whoever is still waiting on it."""
    if stopping:
        return AgentError(SESSION_CLOSED, "the codex session was stopped", session_id=session_id)
    tail = stderr.tail()
    detail = f"; stderr: {tail}" if tail else ""
    details = {"exit_code": returncode, "stderr_tail": tail}
    if worker_host is not None and returncode == SSH_FAILED_EXIT:
        return AgentError(
            HOST_UNREACHABLE,
            f"the SSH connection to worker host {worker_host} was lost (ssh exit 255){detail}",
            session_id=session_id,
            details=details,
        )
    if not initialized and (
        returncode == COMMAND_NOT_FOUND_EXIT or stderr.mentions("command not found")
    ):
        return AgentError(
            CODEX_NOT_FOUND,
            f"codex.command {command!r} was not found by `bash -lc` (exit {returncode}){detail}; "
            "install codex or fix codex.command",
            details=details,
        )
    return AgentError(
        PORT_EXIT,
        f"codex app-server exited (status {returncode}){detail}",
        session_id=session_id,
        details=details,
    )
