"""Line framing for the app-server's stdio: large lines, bounded memory, oversize recovery."""

from __future__ import annotations

import asyncio
import re
from collections import deque
from dataclasses import dataclass

# SPEC §10.1 recommends at least 10 MB; turn/completed repeats a turn's items (command output
# included), so leave room above that.
MAX_LINE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Oversized:
    """A line longer than the limit; its bytes were read and dropped."""

    size: int


async def read_line(reader: asyncio.StreamReader) -> bytes | Oversized | None:
    """The next line (without its newline), ``Oversized`` for a dropped one, None at EOF."""
    try:
        return (await reader.readuntil(b"\n"))[:-1]
    except asyncio.IncompleteReadError as exc:
        return exc.partial or None  # a final line without newline, or EOF
    except asyncio.LimitOverrunError as exc:
        consumed = exc.consumed
    dropped = 0
    while True:
        # Discard the over-long line piece by piece until its newline (or EOF).
        try:
            dropped += len(await reader.readexactly(max(consumed, 1)))
            tail = await reader.readuntil(b"\n")
            return Oversized(dropped + len(tail) - 1)
        except asyncio.IncompleteReadError as exc:
            return Oversized(dropped + len(exc.partial))
        except asyncio.LimitOverrunError as exc:
            consumed = exc.consumed


_NOTEWORTHY = re.compile(r"\b(error|warn|warning|failed|fatal|panic|exception)\b", re.IGNORECASE)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class StderrTail:
    """The last stderr lines of the app-server, for error messages and the stop summary."""

    def __init__(self, keep: int = 40) -> None:
        self.lines: deque[str] = deque(maxlen=keep)
        self.count = 0
        self.noteworthy = 0

    def add(self, line: str) -> str:
        clean = _ANSI.sub("", line).rstrip()
        self.count += 1
        if _NOTEWORTHY.search(clean):
            self.noteworthy += 1
        self.lines.append(clean)
        return clean

    def tail(self, count: int = 5, width: int = 300) -> str:
        picked = [line[:width] for line in list(self.lines)[-count:] if line.strip()]
        return " | ".join(picked)

    def mentions(self, text: str) -> bool:
        return any(text in line for line in self.lines)
