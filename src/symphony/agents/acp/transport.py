"""The agent's stdio as an ``acp`` message transport: JSON lines out, decoded messages in.

The ``acp`` library's ``Connection`` does the JSON-RPC (ids, requests both ways, typed
dispatch); this class gives it messages over Symphony's own pipes instead of asyncio streams, so
the agent is spawned like every other child (``bash -lc`` in its own process group, secrets
stripped, ``symphony.process``), every raw line reaches the transcript (``send``/``recv``/
``stderr``), stderr is kept as a tail for error messages, any line in either direction counts as
activity for the turn's silence timer, and a line over the limit is dropped (logged) instead of
buffered without bound. ``intercept`` may take messages off the stream before the library sees
them (the session's fast path for ``session/update``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections import deque
from collections.abc import Callable
from typing import Any

import orjson

from symphony.agents.transcript import Transcript, TranscriptStream
from symphony.linestream import STDERR, STDOUT, Line, LinePipes, Oversized
from symphony.process import reap_group, terminate_group

MAX_LINE_BYTES = 64 * 1024 * 1024
STOP_GRACE_S = 2.0
EXIT_WAIT_S = 5.0
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

Logger = Callable[..., None]


class StderrTail:
    """The last stderr lines of the agent, for error messages."""

    def __init__(self, keep: int = 40) -> None:
        self.lines: deque[str] = deque(maxlen=keep)
        self.count = 0

    def add(self, line: str) -> str:
        clean = _ANSI.sub("", line).rstrip()
        self.count += 1
        self.lines.append(clean)
        return clean

    def tail(self, count: int = 5, width: int = 300) -> str:
        picked = [line[:width] for line in list(self.lines)[-count:] if line.strip()]
        return " | ".join(picked)


class LineTransport:
    """Implements ``acp._transport.Transport`` (``send``/``receive``/``close``) over a child's
    pipes; ``close`` ends the whole process group."""

    def __init__(
        self,
        process: asyncio.subprocess.Process,
        pipes: LinePipes,
        *,
        transcript: Transcript | None,
        log: Logger,
    ) -> None:
        # ``log`` may be replaced once the session exists (its lines carry the session's ids).
        self.process = process
        self.stderr = StderrTail()
        self._pipes = pipes
        self._transcript = transcript
        self.log = log
        self._loop = asyncio.get_running_loop()
        self._inbox: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._send_lock = asyncio.Lock()
        self.last_activity = self._loop.time()
        self.malformed = 0
        self._closing = False
        # Sees each incoming message first; True means it was handled (see ``session.py``).
        self.intercept: Callable[[dict[str, Any]], bool] | None = None
        pipes.attach(STDERR, self._stderr_line)
        pipes.attach(STDOUT, self._stdout_line)
        self._eof = asyncio.ensure_future(pipes.closed(STDOUT))
        self._eof.add_done_callback(lambda _: self._inbox.put_nowait(None))

    @property
    def pid(self) -> int:
        return self.process.pid

    def touch(self) -> None:
        self.last_activity = self._loop.time()

    def streaming(self, on: bool) -> None:
        """See ``StdioTransport.streaming``."""
        self._pipes.read_in_batches(on)

    async def send(self, message: dict[str, Any]) -> None:
        line = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
        self.record("send", line)
        self.touch()
        stdin = self.process.stdin
        if stdin is None or stdin.is_closing():
            raise ConnectionError("the ACP agent's stdin is closed")
        async with self._send_lock:
            stdin.write(line.encode() + b"\n")
            await stdin.drain()

    async def receive(self) -> dict[str, Any] | None:
        return await self._inbox.get()

    async def close(self) -> None:
        """Close stdin, give the agent a moment to exit, then kill its whole group (once)."""
        if self._closing:
            return
        self._closing = True
        stdin = self.process.stdin
        if stdin is not None and not stdin.is_closing():
            stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), timeout=STOP_GRACE_S)
        except TimeoutError:
            await terminate_group(self.process, grace_s=STOP_GRACE_S)
        reap_group(self.process.pid)
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(self._pipes.closed(STDERR)), timeout=1.0)

    async def exited(self) -> int | None:
        """Wait for the end of stdout, then (briefly) for the exit status."""
        await asyncio.shield(self._eof)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.process.wait(), timeout=EXIT_WAIT_S)
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(self._pipes.closed(STDERR)), timeout=1.0)
        return self.process.returncode

    def record(self, stream: TranscriptStream, line: str) -> None:
        if self._transcript is None:
            return
        try:
            self._transcript.write(stream, line)
        except Exception:
            self.log(logging.WARNING, "agent transcript failed; disabled", exc_info=True)
            self._transcript = None

    def _stdout_line(self, line: Line) -> None:
        self.touch()
        if isinstance(line, Oversized):
            self.record("recv", f"<dropped line of {line.size} bytes>")
            self.log(logging.WARNING, "ACP agent line over the limit dropped", size=line.size)
            return
        text = line.decode("utf-8", errors="replace")
        self.record("recv", text)
        if not text.strip():
            return
        try:
            message = orjson.loads(text)
        except orjson.JSONDecodeError:
            message = None
        if not isinstance(message, dict):
            self.malformed += 1
            self.log(
                logging.WARNING,
                "ACP agent sent a line that is no JSON-RPC message",
                line=text[:300],
            )
            return
        intercept = self.intercept
        if intercept is not None and intercept(message):
            return
        self._inbox.put_nowait(message)

    def _stderr_line(self, line: Line) -> None:
        self.touch()
        if isinstance(line, Oversized):
            return
        text = self.stderr.add(line.decode("utf-8", errors="replace"))
        self.record("stderr", text)
        self.log(logging.DEBUG, "ACP agent stderr", line=text[:500])
