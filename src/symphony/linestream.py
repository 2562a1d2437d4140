"""A child's stdout and stderr as lines, handed over from the event loop's own read callback.

``StreamReader.readuntil`` costs a future and a task wake-up per line. An agent fleet sends
thousands of lines a second, so that bookkeeping was a large share of the service's CPU. Here the
pipe protocol splits each chunk itself and calls a plain function per line, in order, with no
task in between. Memory stays bounded: a line longer than ``limit`` is discarded as it streams
in and reported as ``Oversized``.
"""

from __future__ import annotations

import asyncio
from asyncio.subprocess import SubprocessStreamProtocol
from collections.abc import Callable
from dataclasses import dataclass

STDOUT = 1
STDERR = 2


@dataclass(frozen=True, slots=True)
class Oversized:
    """A line longer than the limit; its bytes were read and dropped."""

    size: int


Line = bytes | Oversized
LineSink = Callable[[Line], None]


class LineFramer:
    """Splits a byte stream into lines (newline removed); bounded by ``limit`` bytes a line."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._partial = bytearray()
        self._dropped: int | None = None  # bytes of an over-long line discarded so far

    def feed(self, data: bytes) -> list[Line]:
        lines: list[Line] = []
        if self._dropped is not None:
            end = data.find(b"\n")
            if end < 0:
                self._dropped += len(data)
                return lines
            lines.append(Oversized(self._dropped + end))
            self._dropped = None
            data = data[end + 1 :]
        if b"\n" not in data:
            self._keep(data)
            return lines
        if self._partial:
            self._partial += data
            data = bytes(self._partial)
            self._partial.clear()
        *complete, tail = data.split(b"\n")
        limit = self._limit
        for line in complete:
            lines.append(line if len(line) <= limit else Oversized(len(line)))
        self._keep(tail)
        return lines

    def finish(self) -> Line | None:
        """At end of stream: the last line when it had no newline."""
        if self._dropped is not None:
            dropped, self._dropped = self._dropped, None
            return Oversized(dropped)
        if not self._partial:
            return None
        tail = bytes(self._partial)
        self._partial.clear()
        return tail

    def _keep(self, data: bytes) -> None:
        if len(self._partial) + len(data) > self._limit:
            self._dropped = len(self._partial) + len(data)
            self._partial.clear()
        else:
            self._partial += data


class LinePipes(SubprocessStreamProtocol):
    """The subprocess protocol behind ``spawn_login_shell(..., lines=True)``.

    Lines that arrive before ``attach`` are kept and delivered by it, so nothing the child says
    between its start and its reader's start is lost. ``closed(fd)`` completes at end of stream.
    """

    def __init__(self, limit: int, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=limit, loop=loop)
        self._framers = {STDOUT: LineFramer(limit), STDERR: LineFramer(limit)}
        self._sinks: dict[int, LineSink] = {}
        self._early: dict[int, list[Line]] = {STDOUT: [], STDERR: []}
        self._closed = {STDOUT: loop.create_future(), STDERR: loop.create_future()}

    def attach(self, fd: int, sink: LineSink) -> None:
        early, self._early[fd] = self._early[fd], []
        for line in early:
            sink(line)
        self._sinks[fd] = sink

    def closed(self, fd: int) -> asyncio.Future[None]:
        return self._closed[fd]

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        for fd in (STDOUT, STDERR):
            if fd not in self._pipe_fds:  # type: ignore[attr-defined]
                self._closed[fd].set_result(None)  # not a pipe: nothing will ever arrive

    def pipe_data_received(self, fd: int, data: bytes | str) -> None:
        framer = self._framers.get(fd)
        if framer is None:
            return
        assert isinstance(data, bytes)
        self._deliver(fd, framer.feed(data))

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        framer = self._framers.get(fd)
        if framer is not None:
            last = framer.finish()
            if last is not None:
                self._deliver(fd, [last])
            if not self._closed[fd].done():
                self._closed[fd].set_result(None)
        super().pipe_connection_lost(fd, exc)

    def _deliver(self, fd: int, lines: list[Line]) -> None:
        sink = self._sinks.get(fd)
        if sink is None:
            self._early[fd].extend(lines)
            return
        for line in lines:
            sink(line)
