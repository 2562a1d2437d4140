"""Child processes: login-shell launch, secret-free environments, whole-group termination.

Every child (hooks, agents) runs as ``bash -lc`` in its own session, so it leads a fresh process
group and stopping it reaches every grandchild. Tracker secrets are removed from the environment
*and* unset again after the login profile ran, so a profile that exports them cannot put them back.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import re
import signal
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from symphony.linestream import STDERR, STDOUT, LinePipes, read_pump

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# A shell word that assigns a variable for the command after it (``CODEX_HOME=/x codex ...``).
ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
DEFAULT_KILL_GRACE_S = 2.0


def child_environment(
    strip: Iterable[str],
    *,
    base: Mapping[str, str] | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """A copy of ``base`` (default: this process's env) without ``strip``, plus ``extra``."""
    env = dict(os.environ if base is None else base)
    for name in strip:
        env.pop(name, None)
    if extra:
        env.update(extra)
    return env


def login_shell_argv(script: str, strip: Iterable[str] = ()) -> list[str]:
    """``bash -lc`` argv whose script first unsets ``strip`` (after the profile has run)."""
    names = sorted({n for n in strip if _ENV_NAME.match(n)})
    prefix = f"unset {' '.join(names)}\n" if names else ""
    return ["bash", "-lc", prefix + script]


async def spawn_login_shell(
    script: str,
    *,
    cwd: str | os.PathLike[str],
    env: Mapping[str, str],
    strip: Iterable[str] = (),
    stdin: int | None = asyncio.subprocess.DEVNULL,
    stdout: int | None = asyncio.subprocess.PIPE,
    stderr: int | None = asyncio.subprocess.PIPE,
    limit: int = 2**16,
) -> asyncio.subprocess.Process:
    """Start ``bash -lc script`` as the leader of a new process group."""
    return await asyncio.create_subprocess_exec(
        *login_shell_argv(script, strip),
        cwd=os.fspath(cwd),
        env=dict(env),
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        start_new_session=True,
        limit=limit,
    )


async def spawn_login_shell_lines(
    script: str,
    *,
    cwd: str | os.PathLike[str],
    env: Mapping[str, str],
    strip: Iterable[str] = (),
    limit: int,
) -> tuple[asyncio.subprocess.Process, LinePipes]:
    """Like ``spawn_login_shell`` with stdin piped, stdout and stderr read as lines.

    The lines go to the sinks given to ``LinePipes.attach``; ``process.stdout`` and
    ``process.stderr`` are None. The two output pipes are made here and read directly by the
    loop, not through the subprocess transport.
    """
    loop = asyncio.get_running_loop()
    pipes = LinePipes(limit, loop)
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    try:
        transport, protocol = await loop.subprocess_exec(
            lambda: asyncio.subprocess.SubprocessStreamProtocol(limit=limit, loop=loop),
            *login_shell_argv(script, strip),
            cwd=os.fspath(cwd),
            env=dict(env),
            stdin=asyncio.subprocess.PIPE,
            stdout=out_write,
            stderr=err_write,
            start_new_session=True,
        )
    except BaseException:
        os.close(out_read)
        os.close(err_read)
        raise
    finally:
        os.close(out_write)  # the child has its copies; ours would keep the pipes from ending
        os.close(err_write)
    process = asyncio.subprocess.Process(transport, protocol, loop)
    pending = {STDOUT: out_read, STDERR: err_read}
    pump = read_pump(loop)
    if pump is not None:
        pipes.read_by(pump, pending)
        return process, pipes
    try:
        for fd in (STDOUT, STDERR):
            reader = functools.partial(pipes.reader, fd)
            await loop.connect_read_pipe(reader, os.fdopen(pending.pop(fd), "rb", 0))
    except BaseException:
        for read_end in pending.values():
            os.close(read_end)
        await terminate_group(process)
        raise
    return process, pipes


def watch_children_with_pidfds() -> bool:
    """On Python 3.11, have the running loop wait for children through pidfds.

    3.11's default child watcher parks one thread in ``waitpid`` per child: a fleet of 1,000
    agents is 1,000 threads. A pidfd is one descriptor the loop already polls; 3.12 uses them by
    itself. Call with no child running. Returns whether pidfds are in use.
    """
    if sys.version_info >= (3, 12):
        return True
    try:
        os.close(os.pidfd_open(os.getpid()))
    except (AttributeError, OSError):
        return False  # not Linux 5.3+: the default watcher stays
    watcher = asyncio.PidfdChildWatcher()
    watcher.attach_loop(asyncio.get_running_loop())
    asyncio.set_child_watcher(watcher)
    return True


def signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to a process group; False when no member is left."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    return True


async def terminate_group(
    process: asyncio.subprocess.Process, *, grace_s: float = DEFAULT_KILL_GRACE_S
) -> int | None:
    """SIGTERM the child's whole group, SIGKILL it after ``grace_s``; returns the exit code.

    Members that outlive the leader (``cmd &`` in a script) are killed too: the group id stays
    valid while any member exists, even after the leader was reaped.
    """
    pgid = process.pid
    signal_group(pgid, signal.SIGTERM)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(process.wait(), timeout=grace_s)
    # Whatever is still in the group now gets no further chance.
    signal_group(pgid, signal.SIGKILL)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(process.wait(), timeout=grace_s)
    return process.returncode


def reap_group(pgid: int) -> None:
    """Kill leftovers of a group whose leader already exited normally."""
    signal_group(pgid, signal.SIGKILL)


# --- agents that start their own sessions ---------------------------------------------------
# Some agents (Claude Code's Bash tool) run each command with ``setsid``: killing the agent's
# group misses those commands, and once the agent is gone they hang off PID 1. Their session ids
# are taken from /proc while the agent still is their ancestor.


def _proc_table() -> dict[int, tuple[int, int]]:
    """``pid -> (parent pid, session id)`` of every live process (empty without /proc)."""
    table: dict[int, tuple[int, int]] = {}
    try:
        entries = list(Path("/proc").iterdir())
    except OSError:
        return table
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        if fields[0] not in ("Z", "X"):
            table[int(entry.name)] = (int(fields[1]), int(fields[3]))
    return table


def descendant_sessions(pid: int) -> set[int]:
    """Session ids of ``pid``'s live descendants that lead a session of their own."""
    table = _proc_table()
    children: dict[int, list[int]] = {}
    for child, (parent, _) in table.items():
        children.setdefault(parent, []).append(child)
    own = table.get(pid, (0, -1))[1]
    found: set[int] = set()
    todo = list(children.get(pid, ()))
    while todo:
        current = todo.pop()
        session = table[current][1]
        if session not in (own, 0):
            found.add(session)
        todo.extend(children.get(current, ()))
    return found


def kill_sessions(sessions: Iterable[int]) -> int:
    """SIGKILL every live process of ``sessions``; returns how many were signalled."""
    wanted = set(sessions) - {os.getsid(0)}  # never this service's own session
    if not wanted:
        return 0
    killed = 0
    for pid, (_, session) in _proc_table().items():
        if session in wanted and pid != os.getpid():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
                killed += 1
    return killed


# --- agents left behind by a crashed service ------------------------------------------------
# A killed service cannot stop its agents (they lead their own groups). The store keeps each
# agent's group id with its leader's start time, so the next start can kill exactly those
# processes, never an unrelated one that reuses a recycled pid.

_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
STALE_GROUP_WAIT_S = 5.0


@dataclass(frozen=True, slots=True)
class ProcessIdentity:
    """A process as the kernel knows it: start time in clock ticks since boot, and the boot."""

    started: int
    boot_id: str


def boot_id() -> str | None:
    try:
        return _BOOT_ID.read_text().strip() or None
    except OSError:
        return None


def _stat(pid: int) -> tuple[int, int] | None:
    """``(process group, start time)`` of a live process; None if gone or a zombie."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[2]), int(fields[19])


def process_identity(pid: int) -> ProcessIdentity | None:
    """Who ``pid`` is now, or None when it is gone (or this is no Linux ``/proc``)."""
    found = _stat(pid)
    boot = boot_id()
    if found is None or boot is None:
        return None
    return ProcessIdentity(found[1], boot)


def _members(pgid: int, started: int) -> list[int]:
    """Live members of group ``pgid`` that started no earlier than its leader did."""
    members: list[int] = []
    try:
        entries = list(Path("/proc").iterdir())
    except OSError:
        return members
    for entry in entries:
        if not entry.name.isdigit():
            continue
        found = _stat(int(entry.name))
        if found is not None and found[0] == pgid and found[1] >= started:
            members.append(int(entry.name))
    return members


def kill_stale_group(
    pgid: int, leader: ProcessIdentity, *, wait_s: float = STALE_GROUP_WAIT_S
) -> int:
    """SIGKILL what is left of the group ``pgid`` whose leader was ``leader``, and wait (at most
    ``wait_s``) until it is gone; returns how many processes were killed.

    Only the same process is killed: after a reboot nothing is left; a live pid with another
    start time is someone else's; once the leader is gone, only members that started after it
    (its descendants, e.g. the native codex under its node wrapper) are. Blocking: call it from a
    thread.
    """
    if boot_id() != leader.boot_id:
        return 0
    now = _stat(pgid)
    if now is not None and now[1] != leader.started:
        return 0  # the pid was recycled
    victims = _members(pgid, leader.started)
    killed = len(victims)
    for pid in victims:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + wait_s
    # Not our children (their parent died), so init reaps them; /proc tells when they are gone.
    while victims and time.monotonic() < deadline:
        victims = [pid for pid in victims if _stat(pid) is not None]
        if victims:
            time.sleep(0.02)
    if victims:
        raise TimeoutError(f"processes {victims} of group {pgid} outlived SIGKILL for {wait_s} s")
    return killed
