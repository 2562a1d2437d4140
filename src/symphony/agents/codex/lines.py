"""The app-server's line limit and the tail of its stderr (framing: ``symphony.linestream``)."""

from __future__ import annotations

import re
from collections import deque

# SPEC §10.1 recommends at least 10 MB; turn/completed repeats a turn's items (command output
# included), so leave room above that.
MAX_LINE_BYTES = 64 * 1024 * 1024


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
