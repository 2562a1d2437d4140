"""Running things on an SSH worker host: the agent's long-lived stream and its remote stop.

The local ``ssh`` client runs like every child (its own process group, secrets stripped); the
remote side reports its process group first (``ssh.PGID_MARKER``), so stopping the agent can
kill that group on the host over a second connection instead of only the local client.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Mapping
from dataclasses import dataclass

from symphony.linestream import STDERR, Line, LinePipes, Oversized
from symphony.logs import get_logger
from symphony.process import (
    child_environment,
    signal_group,
    spawn_login_shell_lines,
    terminate_group,
)
from symphony.ssh import (
    CONNECT_TIMEOUT_S,
    HOST_UNREACHABLE,
    PGID_MARKER,
    SSH_FAILED_EXIT,
    SshTarget,
    config_file,
    kill_group_script,
    local_ssh_script,
    parse_target,
)

log = get_logger("symphony.ssh")

# The marker comes after the connection and the remote login profile: both bounded.
MARKER_TIMEOUT_S = CONNECT_TIMEOUT_S + 20.0
REMOTE_KILL_TIMEOUT_S = CONNECT_TIMEOUT_S + 5.0


@dataclass(frozen=True, slots=True)
class RemoteHost:
    """Where a remote agent runs: the host and the ``ssh -F`` file (``SYMPHONY_SSH_CONFIG``)."""

    target: SshTarget
    ssh_config: str | None = None

    @classmethod
    def from_entry(cls, entry: str, env: Mapping[str, str] | None = None) -> RemoteHost:
        return cls(parse_target(entry), config_file(env))

    @property
    def name(self) -> str:
        return self.target.raw


class RemoteStartError(Exception):
    """The remote command never reported itself: ``code`` is ``host_unreachable`` when ssh
    failed (exit 255), else the remote command's own failure."""

    def __init__(self, code: str, message: str, returncode: int | None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.returncode = returncode


@dataclass(slots=True)
class RemoteProcess:
    process: asyncio.subprocess.Process
    pipes: LinePipes
    host: RemoteHost
    pgid: int


async def spawn_remote_lines(
    host: RemoteHost,
    script: str,
    *,
    base_env: Mapping[str, str],
    strip_env: frozenset[str],
    limit: int,
) -> RemoteProcess:
    """Start ``script`` (which prints the PGID marker on stderr first) on the host, with stdin
    piped and stdout/stderr as lines; returns once the marker arrived."""
    env = child_environment(strip_env, base=base_env)
    local = local_ssh_script(host.target, script, config=host.ssh_config)
    process, pipes = await spawn_login_shell_lines(
        local, cwd="/", env=env, strip=strip_env, limit=limit
    )
    loop = asyncio.get_running_loop()
    marker: asyncio.Future[int] = loop.create_future()
    before: list[str] = []
    after: list[Line] = []

    def sink(line: Line) -> None:
        if marker.done():
            after.append(line)
            return
        text = "" if isinstance(line, Oversized) else line.decode("utf-8", "replace").rstrip()
        reported = text[len(PGID_MARKER) :].strip() if text.startswith(PGID_MARKER) else ""
        # 0 and 1 are not a group of ours: `kill -- -1` would signal every process of the user.
        if reported.isdigit() and int(reported) > 1:
            marker.set_result(int(reported))
        elif text:
            before.append(text)

    pipes.attach(STDERR, sink)
    exited = asyncio.ensure_future(process.wait())
    try:
        done, _ = await asyncio.wait(
            {marker, exited}, timeout=MARKER_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED
        )
        if marker not in done:
            silent = exited not in done  # no marker and no exit: the host does not answer
            if exited in done:
                # The stderr pipe may still hold the reason: give it a moment to arrive.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(pipes.closed(STDERR)), timeout=1.0)
            else:
                await terminate_group(process)
            code = process.returncode
            tail = "; ".join(before[-5:])
            detail = f": {tail}" if tail else ""
            if code == SSH_FAILED_EXIT or silent:
                raise RemoteStartError(
                    HOST_UNREACHABLE,
                    f"worker host {host.name} is unreachable over SSH (ssh exit {code}){detail}",
                    code,
                )
            raise RemoteStartError(
                "remote_start_failed",
                f"the command on worker host {host.name} exited {code} before it started{detail}",
                code,
            )
    except BaseException:
        exited.cancel()
        signal_group(process.pid, signal.SIGKILL)
        raise
    exited.cancel()
    pipes.detach(STDERR, after)
    return RemoteProcess(process, pipes, host, marker.result())


async def kill_remote_group(
    host: RemoteHost,
    pgid: int,
    *,
    grace_s: float,
    base_env: Mapping[str, str] | None = None,
    strip_env: frozenset[str] = frozenset(),
) -> bool:
    """TERM, then after ``grace_s`` KILL, the process group ``pgid`` on the host, over a new
    connection; False when the host could not be reached in time."""
    env = child_environment(strip_env, base=os.environ if base_env is None else base_env)
    local = local_ssh_script(host.target, kill_group_script(pgid, grace_s), config=host.ssh_config)
    process = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        local,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        await asyncio.wait_for(process.wait(), timeout=REMOTE_KILL_TIMEOUT_S + grace_s)
    except TimeoutError:
        await terminate_group(process)
        log.warning("could not stop the remote agent", worker_host=host.name, pgid=pgid)
        return False
    except asyncio.CancelledError:
        signal_group(process.pid, signal.SIGKILL)
        raise
    return process.returncode == 0
