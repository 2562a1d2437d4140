"""A child's stdout and stderr as lines, handed over from the event loop's own read callback.

``StreamReader.readuntil`` costs a future and a task wake-up per line. An agent fleet sends
thousands of lines a second, so that bookkeeping was a large share of the service's CPU. Here the
pipe protocol splits each chunk itself and calls a plain function per line, in order, with no
task in between. Memory stays bounded: a line longer than ``limit`` is discarded as it streams
in and reported as ``Oversized``.
"""

from __future__ import annotations

import asyncio
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
        if len(data) <= limit:
            lines.extend(complete)  # no line of a chunk this small can be over the limit
        else:
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


class LinePipes:
    """A child's stdout and stderr as lines, behind ``spawn_login_shell_lines``.

    Each pipe is read by its own read-pipe transport, whose read callback hands the chunk
    straight to the framer (the subprocess transport would add a ``call_soon`` per chunk).
    Lines that arrive before ``attach`` are kept and delivered by it, so nothing the child says
    between its start and its reader's start is lost. ``closed(fd)`` completes at end of stream.
    """

    def __init__(self, limit: int, loop: asyncio.AbstractEventLoop) -> None:
        self._framers = {STDOUT: LineFramer(limit), STDERR: LineFramer(limit)}
        self._sinks: dict[int, LineSink] = {}
        self._early: dict[int, list[Line]] = {STDOUT: [], STDERR: []}
        self._closed = {STDOUT: loop.create_future(), STDERR: loop.create_future()}

    def attach(self, fd: int, sink: LineSink) -> None:
        early, self._early[fd] = self._early[fd], []
        for line in early:
            sink(line)
        self._sinks[fd] = sink

    def detach(self, fd: int, unread: list[Line]) -> None:
        """Stop delivering ``fd`` to its sink; ``unread`` (lines that sink took but did not
        use) and later lines wait for the next ``attach``."""
        self._sinks.pop(fd, None)
        self._early[fd] = [*unread, *self._early[fd]]

    def closed(self, fd: int) -> asyncio.Future[None]:
        return self._closed[fd]

    def reader(self, fd: int) -> asyncio.Protocol:
        """The protocol for ``loop.connect_read_pipe`` of the child's ``fd``."""
        return _PipeReader(self, fd)

    def received(self, fd: int, data: bytes) -> None:
        self._deliver(fd, self._framers[fd].feed(data))

    def ended(self, fd: int) -> None:
        last = self._framers[fd].finish()
        if last is not None:
            self._deliver(fd, [last])
        if not self._closed[fd].done():
            self._closed[fd].set_result(None)

    def _deliver(self, fd: int, lines: list[Line]) -> None:
        sink = self._sinks.get(fd)
        if sink is None:
            self._early[fd].extend(lines)
            return
        for line in lines:
            sink(line)


class _PipeReader(asyncio.Protocol):
    def __init__(self, pipes: LinePipes, fd: int) -> None:
        self._pipes = pipes
        self._fd = fd

    def data_received(self, data: bytes) -> None:
        self._pipes.received(self._fd, data)

    def eof_received(self) -> bool:
        return False  # close the transport; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self._pipes.ended(self._fd)
