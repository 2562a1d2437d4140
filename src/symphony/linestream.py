"""A child's stdout and stderr as lines, handed over from the event loop's own read callback.

``StreamReader.readuntil`` costs a future and a task wake-up per line. An agent fleet sends
thousands of lines a second, so that bookkeeping was a large share of the service's CPU. Here the
pipe protocol splits each chunk itself and calls a plain function per line, in order, with no
task in between. Memory stays bounded: a line longer than ``limit`` is discarded as it streams
in and reported as ``Oversized``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import select
import weakref
from collections.abc import Callable
from dataclasses import dataclass

STDOUT = 1
STDERR = 2
READ_CHUNK = 1 << 16
# The pump's pacing (see ``ReadPump``): after a round that read anything it looks again only
# PACE_S later.
PACE_S = 0.005

_log = logging.getLogger("symphony.linestream")


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
        self._pump: ReadPump | None = None
        self._fds: dict[int, int] = {}  # STDOUT/STDERR -> the pipe's descriptor in the pump

    def read_by(self, pump: ReadPump, fds: dict[int, int]) -> None:
        """The pump reads these pipes (``which -> descriptor``)."""
        self._pump = pump
        self._fds = dict(fds)
        for which, fd in fds.items():
            pump.add(fd, self, which)

    def read_in_batches(self, batched: bool) -> None:
        """Whether the child is streaming (its lines may wait a few milliseconds to be read
        with other children's, see ``ReadPump``) or a reply is awaited (read at once, the
        default)."""
        if self._pump is None:
            return
        for which, fd in self._fds.items():
            if not self._closed[which].done():
                self._pump.batch(fd, batched)

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


class ReadPump:
    """Reads many children's pipes, most of them through one epoll descriptor the loop watches.

    The loop pays a wake-up, a selector round and a callback per ready descriptor; a fleet of
    agents that each write a line every few milliseconds makes that most of the cost of a line.
    A pipe whose child is streaming (``LinePipes.read_in_batches``) moves into the pump's epoll
    set, one descriptor for all of them: one wake-up reads every such pipe that has data. After
    a round that read anything the pump looks again only ``PACE_S`` later, so a busy fleet's
    next round finds many pipes with lines (and several lines a pipe) and the loop is free in
    between (the loop does not even watch the pump's descriptor then: the next round comes by
    timer); a streaming agent's line waits at most that long, which no one watching can tell.
    Other pipes (a child starting, a session waiting for a reply) are watched by the loop
    itself, each read as soon as it has data. Level-triggered: a pipe with more than a chunk
    waiting is read again next round.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._epoll = select.epoll()
        self._pipes: dict[int, tuple[LinePipes, int]] = {}
        self._batched: set[int] = set()
        self._watching = False
        self._resume: asyncio.TimerHandle | None = None
        # A loop closed while children still write leaves their pipes here: closed with the pump.
        weakref.finalize(self, _close_all, self._pipes, self._epoll)

    def add(self, fd: int, pipes: LinePipes, which: int) -> None:
        """Read ``fd`` (this pump owns and closes it) into ``pipes`` as ``which``."""
        os.set_blocking(fd, False)
        self._pipes[fd] = (pipes, which)
        self._loop.add_reader(fd, self._read, fd)

    def batch(self, fd: int, batched: bool) -> None:
        """Read ``fd`` in the pump's rounds (True) or as soon as it has data (False)."""
        if fd not in self._pipes or (fd in self._batched) == batched:
            return
        if batched:
            self._loop.remove_reader(fd)
            self._epoll.register(fd, select.EPOLLIN)
            self._batched.add(fd)
            if not self._watching and self._resume is None:
                # Not read here: the caller is in the middle of its own work.
                self._loop.add_reader(self._epoll.fileno(), self._drain)
                self._watching = True
        else:
            self._epoll.unregister(fd)
            self._batched.discard(fd)
            self._loop.add_reader(fd, self._read, fd)

    def _watch(self) -> None:
        # The pace is over: look at once. A busy fleet keeps the pump on its timer and the loop
        # never watches the epoll descriptor (adding and removing it each round cost a selector
        # change both ways and a loop iteration); only a round that finds nothing goes back to
        # waiting for data.
        self._resume = None
        self._drain()

    def _drain(self) -> None:
        ready = self._epoll.poll(0)
        for fd, _mask in ready:
            self._read(fd)
        busy = bool(ready) and bool(self._batched)
        waiting = bool(self._batched) and not busy
        if waiting != self._watching:
            if waiting:
                self._loop.add_reader(self._epoll.fileno(), self._drain)
            else:
                self._loop.remove_reader(self._epoll.fileno())
            self._watching = waiting
        if busy and self._resume is None:
            self._resume = self._loop.call_later(PACE_S, self._watch)

    def _read(self, fd: int) -> None:
        entry = self._pipes.get(fd)
        if entry is None:
            return
        try:
            data = os.read(fd, READ_CHUNK)
        except BlockingIOError:
            return
        except OSError:
            data = b""  # EIO and the like: the pipe is as good as closed
        pipes, which = entry
        try:
            if data:
                pipes.received(which, data)
            else:
                self._close(fd)
                pipes.ended(which)
        except Exception:
            # A bug in one child's handler must not stop the others' lines.
            _log.exception("pipe line handling failed")

    def _close(self, fd: int) -> None:
        del self._pipes[fd]
        try:
            if fd in self._batched:
                self._batched.discard(fd)
                self._epoll.unregister(fd)
            else:
                self._loop.remove_reader(fd)
        finally:
            os.close(fd)


def _close_all(pipes: dict[int, tuple[LinePipes, int]], epoll: select.epoll) -> None:
    for fd in pipes:
        with contextlib.suppress(OSError):
            os.close(fd)
    pipes.clear()
    epoll.close()


_PUMPS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, ReadPump] = weakref.WeakKeyDictionary()


def read_pump(loop: asyncio.AbstractEventLoop) -> ReadPump | None:
    """The loop's pump, made on first use; None where there is no epoll (not Linux)."""
    if not hasattr(select, "epoll"):
        return None
    pump = _PUMPS.get(loop)
    if pump is None:
        pump = _PUMPS[loop] = ReadPump(loop)
    return pump
