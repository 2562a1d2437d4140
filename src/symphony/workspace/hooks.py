"""Running one workspace hook: ``bash -lc`` in the workspace, bounded in time and output (§9.4).

The hook leads its own process group (``symphony.process``). When it times out, or the caller
is cancelled, the whole group is killed, grandchildren included. When it finishes on its own,
anything it left running in its group is killed too: a hook is one synchronous step, and a
stray ``sleep 1000 &`` must neither outlive it nor hold the output pipe open. (A hook that
really wants a daemon detaches it with ``setsid``.)

Output (stdout and stderr merged) goes to a pipe we own, so a detached child that still holds
the write end cannot make a finished hook wait: after the hook exits we drain for at most
``DRAIN_AFTER_EXIT_S`` and then close our end. Only the last ``OUTPUT_TAIL_BYTES`` are kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from symphony.issue import Issue
from symphony.process import (
    DEFAULT_KILL_GRACE_S,
    child_environment,
    reap_group,
    signal_group,
    spawn_login_shell,
    terminate_group,
)

HOOK_NAMES = ("after_create", "before_run", "after_run", "before_remove", "verify")
OUTPUT_TAIL_BYTES = 4096
DRAIN_AFTER_EXIT_S = 1.0


@dataclass(frozen=True, slots=True)
class HookResult:
    """How one hook run ended. ``exit_status`` is None when it timed out or could not start."""

    name: str
    exit_status: int | None
    timed_out: bool
    output: str
    output_bytes: int
    duration_ms: int
    timeout_ms: int
    omitted_bytes: int = 0
    spawn_error: str | None = None

    @property
    def ok(self) -> bool:
        return self.exit_status == 0 and not self.timed_out

    def log_output(self) -> str:
        """The kept output tail, marked when earlier output was dropped (SPEC §15.4)."""
        if self.omitted_bytes:
            return f"[{self.omitted_bytes} earlier bytes omitted]{self.output}"
        return self.output

    def describe(self) -> str:
        """Short human reason, for error messages and logs."""
        if self.spawn_error is not None:
            return f"could not start: {self.spawn_error}"
        if self.timed_out:
            return f"timed out after {self.timeout_ms} ms (hooks.timeout_ms)"
        status = self.exit_status
        if status is not None and status < 0:
            with contextlib.suppress(ValueError):
                return f"killed by {signal.Signals(-status).name}"
        return f"exited with status {status}"


@dataclass(frozen=True, slots=True)
class HookContext:
    """Where a hook runs and for which issue: its working directory and variables.

    ``issue`` is None when only the identifier is known (removing a workspace at startup).
    """

    workspace: Path
    root: Path
    identifier: str
    issue: Issue | None = None
    attempt: int | None = None

    def environment(self, hook: str) -> dict[str, str]:
        """The documented ``SYMPHONY_*`` variables every hook receives (docs/workspaces.md)."""
        issue = self.issue
        values = {
            "SYMPHONY_HOOK": hook,
            "SYMPHONY_ISSUE_ID": issue.id if issue is not None else "",
            "SYMPHONY_ISSUE_IDENTIFIER": issue.identifier if issue is not None else self.identifier,
            "SYMPHONY_ISSUE_TITLE": issue.title if issue is not None else "",
            "SYMPHONY_ISSUE_STATE": issue.state if issue is not None else "",
            "SYMPHONY_ISSUE_URL": (issue.url or "") if issue is not None else "",
            "SYMPHONY_WORKSPACE": os.fspath(self.workspace),
            "SYMPHONY_WORKSPACE_ROOT": os.fspath(self.root),
            "SYMPHONY_ATTEMPT": "" if self.attempt is None else str(self.attempt),
        }
        # The environment cannot carry NUL bytes; tracker text could.
        return {name: value.replace("\0", "") for name, value in values.items()}


def attempt_context(workspace: Path, issue: Issue, attempt: int | None) -> HookContext:
    """The per-attempt hooks (``before_run``, ``after_run``, ``verify``) run in the prepared
    workspace, under its parent root."""
    return HookContext(workspace, workspace.parent, issue.identifier, issue, attempt)


class _TailCollector(asyncio.Protocol):
    """Keeps the last ``limit`` bytes written to the pipe; ``closed`` resolves at EOF."""

    def __init__(self, limit: int, closed: asyncio.Future[None]) -> None:
        self.limit = limit
        self.buffer = bytearray()
        self.total = 0
        self.closed = closed

    def data_received(self, data: bytes) -> None:
        self.total += len(data)
        self.buffer += data
        if len(self.buffer) > self.limit:
            del self.buffer[: len(self.buffer) - self.limit]

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


async def run_hook(
    name: str,
    script: str,
    *,
    cwd: Path,
    timeout_ms: int,
    env_extra: Mapping[str, str],
    strip: Iterable[str] = (),
    base_env: Mapping[str, str] | None = None,
    kill_grace_s: float = DEFAULT_KILL_GRACE_S,
) -> HookResult:
    """Run ``script`` with ``bash -lc`` in ``cwd``; never raises for the hook's own failure."""
    strip_names = frozenset(strip)
    env = child_environment(strip_names, base=base_env, extra=env_extra)
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    read_fd, write_fd = os.pipe()
    try:
        process = await spawn_login_shell(
            script,
            cwd=cwd,
            env=env,
            strip=strip_names,
            stdout=write_fd,
            stderr=asyncio.subprocess.STDOUT,
        )
    except (OSError, ValueError) as exc:
        os.close(read_fd)
        return HookResult(
            name, None, False, "", 0, _elapsed_ms(started), timeout_ms, spawn_error=str(exc)
        )
    finally:
        os.close(write_fd)

    collector = _TailCollector(OUTPUT_TAIL_BYTES, loop.create_future())
    transport: asyncio.ReadTransport | None = None
    timed_out = False
    # From here on the group exists: a cancellation at any await (connecting the output pipe
    # included) must kill it, or a hook cancelled early would leave its children running.
    try:
        transport, _ = await loop.connect_read_pipe(
            lambda: collector, os.fdopen(read_fd, "rb", buffering=0)
        )
        try:
            await asyncio.wait_for(process.wait(), timeout=timeout_ms / 1000)
        except TimeoutError:
            timed_out = True
            await terminate_group(process, grace_s=kill_grace_s)
        # The leader is gone; members it left behind in its group go with it.
        reap_group(process.pid)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(collector.closed), timeout=DRAIN_AFTER_EXIT_S)
    except asyncio.CancelledError:
        signal_group(process.pid, signal.SIGKILL)
        raise
    finally:
        if transport is not None:
            transport.close()

    output = bytes(collector.buffer).decode("utf-8", "replace")
    return HookResult(
        name=name,
        exit_status=None if timed_out else process.returncode,
        timed_out=timed_out,
        output=output,
        output_bytes=collector.total,
        duration_ms=_elapsed_ms(started),
        timeout_ms=timeout_ms,
        omitted_bytes=collector.total - len(collector.buffer),
    )


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
