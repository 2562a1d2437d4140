"""The app-server's stdio: JSON lines out, lines in, stderr kept apart, whole-group shutdown.

stdout is the protocol stream; stderr carries only diagnostics (codex's tracing logs), which are
kept as a tail for error messages and never parsed as protocol (SPEC §10.3). Every line in either
direction also goes to the optional transcript.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from symphony.agents.codex.lines import StderrTail
from symphony.agents.transcript import Transcript, TranscriptStream
from symphony.linestream import STDERR, STDOUT, Line, LinePipes, Oversized
from symphony.process import reap_group, terminate_group

STOP_GRACE_S = 2.0  # closing stdin makes 0.169 exit in ~30 ms; then the group is killed
EXIT_WAIT_S = 5.0

LineHandler = Callable[[str | Oversized], None]
ClosedHandler = Callable[[int | None], Awaitable[None]]
Logger = Callable[..., None]


class StdioTransport:
    """Owns the child process. ``on_line`` gets each stdout line, synchronously from the loop's
    read callback (``symphony.linestream``); ``on_closed`` gets the exit code."""

    def __init__(
        self,
        process: asyncio.subprocess.Process,
        pipes: LinePipes,
        *,
        transcript: Transcript | None,
        log: Logger,
        name: str = "codex",
    ) -> None:
        # The agent's name in log messages (the Claude Code session shares this transport).
        self.name = name
        self.process = process
        self.stderr = StderrTail()
        self._pipes = pipes
        self._transcript = transcript
        self._log = log
        self._loop = asyncio.get_running_loop()
        self._send_lock = asyncio.Lock()
        self.last_activity = self._loop.time()
        self._on_line: LineHandler | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    def start(self, on_line: LineHandler, on_closed: ClosedHandler) -> None:
        self._on_line = on_line
        self._pipes.attach(STDERR, self._stderr_line)
        self._pipes.attach(STDOUT, self._stdout_line)
        self._tasks = [asyncio.create_task(self._watch_exit(on_closed), name=f"{self.name}-exit")]

    def touch(self) -> None:
        """Count host-side progress (a finished tool call) as activity for the silence timer."""
        self.last_activity = self._loop.time()

    def send_nowait(self, message: dict[str, Any]) -> None:
        """Queue one message line; lines go out in the order they were queued."""
        line = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
        self.record("send", line)
        stdin = self.process.stdin
        if stdin is None or stdin.is_closing():
            return  # the exit is reported by the exit watcher
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            stdin.write(line.encode() + b"\n")

    async def send(self, message: dict[str, Any]) -> None:
        """``send_nowait``, then wait until the pipe has room again."""
        self.send_nowait(message)
        stdin = self.process.stdin
        if stdin is None or stdin.is_closing():
            return
        async with self._send_lock:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                await stdin.drain()

    def streaming(self, on: bool) -> None:
        """During a turn the agent streams and lines may be read in batches with other agents'
        (see ``symphony.linestream.ReadPump``); otherwise, a reply awaited, each at once."""
        self._pipes.read_in_batches(on)

    def record(self, stream: TranscriptStream, line: str) -> None:
        if self._transcript is None:
            return
        try:
            self._transcript.write(stream, line)
        except Exception:
            self._log(logging.WARNING, "agent transcript failed; disabled", exc_info=True)
            self._transcript = None

    async def close(self) -> int | None:
        """Close stdin, wait briefly for a clean exit, then kill the whole process group."""
        stdin = self.process.stdin
        if stdin is not None and not stdin.is_closing():
            stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), timeout=STOP_GRACE_S)
        except TimeoutError:
            await terminate_group(self.process, grace_s=STOP_GRACE_S)
        # Whatever the app-server left behind in its group (shell jobs) goes too.
        reap_group(self.process.pid)
        for task in self._tasks:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=EXIT_WAIT_S)
        return self.process.returncode

    def _stdout_line(self, line: Line) -> None:
        self.last_activity = self._loop.time()
        assert self._on_line is not None
        try:
            if isinstance(line, Oversized):
                self.record("recv", f"<dropped line of {line.size} bytes>")
                self._on_line(line)
            else:
                text = line.decode("utf-8", errors="replace")
                self.record("recv", text)
                self._on_line(text)
        except Exception:
            # Called from the loop's read callback: a bug here must not stop the stream.
            self._log(logging.ERROR, f"{self.name} stdout line handling failed", exc_info=True)

    def _stderr_line(self, line: Line) -> None:
        self.last_activity = self._loop.time()
        if isinstance(line, Oversized):
            return
        text = self.stderr.add(line.decode("utf-8", errors="replace"))
        self.record("stderr", text)
        self._log(logging.DEBUG, f"{self.name} stderr", line=text[:500])

    async def _watch_exit(self, on_closed: ClosedHandler) -> None:
        await self._pipes.closed(STDOUT)
        returncode: int | None = None
        with contextlib.suppress(TimeoutError):
            returncode = await asyncio.wait_for(self.process.wait(), timeout=EXIT_WAIT_S)
        # Let stderr drain so the exit error can quote it.
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(self._pipes.closed(STDERR)), timeout=1.0)
        await on_closed(returncode)
