"""Per-issue agent logs: one transcript file per attempt under ``<logs_root>/agents/<key>/``.

Each file holds the raw protocol lines (``send``/``recv``) and the agent's stderr, one per line,
prefixed with a UTC timestamp and the stream name, with secrets redacted by the shared redactor.
Files are size-capped, the newest attempts are kept, and ``latest.log`` points at the newest.
A transcript never raises into the agent session: a failing disk switches it off with one warning.

Lines are buffered and flushed at most ``FLUSH_INTERVAL_S`` after they were written (and at
close), not one write per line: a busy agent sends dozens of lines a second. Redaction happens at
the flush, on the whole batch at once (a pattern that never matches across lines, so the result
is what redacting line by line would give, at C speed). Nothing reaches the file
unredacted; a line too long to keep whole is redacted before it is cut, so no secret is split.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING

from symphony.logs import REDACTOR, get_logger, render_fields
from symphony.text import clip
from symphony.timefmt import EpochStamps, format_timestamp
from symphony.workspace.keys import workspace_key

if TYPE_CHECKING:
    from symphony.agents.transcript import Transcript

log = get_logger("symphony.observability.transcript")

AGENTS_DIR = "agents"
LATEST = "latest.log"
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_LINE_BYTES = 64 * 1024
DEFAULT_KEEP = 20
FLUSH_INTERVAL_S = 0.5  # `tail -f` and the dashboard's log view see a line this late at most
FLUSH_BYTES = 64 * 1024  # a faster stream is written out sooner: the buffer stays small

# SPEC §4.1.5: the first run has no attempt number (file ``-attempt-0``); retries count from 1.
_ATTEMPT_FILE = re.compile(r"^(\d{8}T\d{6}Z)-attempt-(\d+)(?:-\d+)?\.log$")


Clock = Callable[[], datetime]


def _stamp(moment: datetime) -> str:
    return format_timestamp(moment, timespec="milliseconds")


class FileTranscript:
    """Implements the Codex client's ``Transcript`` protocol, plus ``close``."""

    def __init__(
        self,
        handle: IO[str] | None,
        path: Path | None,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        clock: Clock | None = None,
    ) -> None:
        """``clock`` is for tests; by default lines are stamped from ``time.time()``."""
        self._handle = handle
        self.path = path
        self._max_bytes = max_bytes
        self._max_line = max_line_bytes
        self._clock = clock
        self._stamps = EpochStamps()
        self._written = 0
        self._dropped = 0
        self._capped = False
        self._flush_due: asyncio.TimerHandle | None = None
        # Records written but not yet redacted and on disk (see ``flush``).
        self._pending: list[str] = []
        self._pending_bytes = 0

    @property
    def active(self) -> bool:
        return self._handle is not None

    @property
    def bytes_written(self) -> int:
        return self._written

    def write(self, stream: str, line: str) -> None:
        if self._handle is None:
            return
        if self._capped:
            self._dropped += 1
            return
        text = line.rstrip("\r\n")
        extra = len(text) - self._max_line
        if extra > 0:
            # Redacted before it is cut: a secret across the cut would escape the batch's scan.
            marker = f"… [{extra} more characters]"
            text = clip(REDACTOR.redact(text), self._max_line, marker=marker, within=False)
        record = f"{self._now()} {stream:<6} {text}\n"
        # Protocol lines are JSON with non-ASCII escaped or not; most are plain ASCII. The size
        # is counted before redaction, which changes it by a few bytes at most.
        size = len(record) if record.isascii() else len(record.encode("utf-8", "replace"))
        if self._written + size > self._max_bytes:
            self._capped = True
            self._dropped += 1
            self._emit(
                f"{self._now()} note   transcript size limit reached "
                f"({self._max_bytes} bytes); further lines are dropped\n"
            )
            return
        self._written += size
        self._pending_bytes += size
        self._emit(record)

    def close(self) -> None:
        if self._handle is None:
            return
        if self._dropped:
            self._emit(f"{self._now()} note   {self._dropped} line(s) dropped\n")
        self.flush()
        if not self.active:
            return  # the flush failed and already closed it
        handle, self._handle = self._handle, None
        try:
            handle.close()
        except OSError as exc:
            self._fail(exc)

    def flush(self) -> None:
        """Redact what is buffered and write it out."""
        self._cancel_flush()
        if self._handle is None:
            return
        pending, self._pending, self._pending_bytes = self._pending, [], 0
        text = REDACTOR.redact_lines("".join(pending))
        try:
            if text:
                self._handle.write(text)
            self._handle.flush()
        except (OSError, ValueError) as exc:
            self._fail(exc)

    def _now(self) -> str:
        if self._clock is not None:
            return _stamp(self._clock())
        return self._stamps.format(time.time())

    def _emit(self, record: str) -> None:
        if self._handle is None:
            return
        self._pending.append(record)
        if self._pending_bytes >= FLUSH_BYTES:
            self.flush()
        elif self._flush_due is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self.flush()  # no loop to flush later: written through
            else:
                self._flush_due = loop.call_later(FLUSH_INTERVAL_S, self.flush)

    def _cancel_flush(self) -> None:
        if self._flush_due is not None:
            self._flush_due.cancel()
            self._flush_due = None

    def _fail(self, exc: Exception) -> None:
        # Written to from the worker's attempt: its log context carries the issue.
        log.warning(
            "agent transcript disabled",
            path=self.path,
            error=getattr(exc, "strerror", None) or str(exc),
        )
        self._cancel_flush()
        self._pending, self._pending_bytes = [], 0
        handle, self._handle = self._handle, None
        if handle is not None:
            with contextlib.suppress(Exception):
                handle.close()


class AgentLogs:
    """Opens transcripts and lists them for ``issue_detail`` (``logs.codex_session_logs``)."""

    def __init__(
        self,
        logs_root: Path,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        keep: int = DEFAULT_KEEP,
        clock: Clock | None = None,
    ) -> None:
        self.root = logs_root / AGENTS_DIR
        self.max_bytes = max_bytes
        self.keep = max(1, keep)
        self._clock = clock

    def directory(self, identifier: str) -> Path:
        # The same key as the workspace directory: safe as a single path component by design.
        return self.root / workspace_key(identifier)

    def open(
        self, identifier: str, attempt: int | None = None, *, issue_id: str | None = None
    ) -> FileTranscript:
        """A transcript for a new attempt; never raises (a failure yields an inactive one).

        Called inside the worker's attempt, whose log context carries the issue fields."""
        now = self._clock() if self._clock is not None else datetime.now(UTC)
        folder = self.directory(identifier)
        number = attempt if attempt is not None and attempt > 0 else 0
        name = f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-attempt-{number}"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path, handle = self._create(folder, name)
        except OSError as exc:
            log.warning("agent transcript unavailable", path=folder, error=exc.strerror or str(exc))
            return FileTranscript(None, None)
        transcript = FileTranscript(handle, path, max_bytes=self.max_bytes, clock=self._clock)
        header = {"issue_identifier": identifier, "issue_id": issue_id, "attempt": attempt}
        transcript._emit(
            f"{_stamp(now)} note   symphony agent transcript {render_fields(header)}\n"
        )
        transcript.flush()  # the file shows whose it is from the start
        self._point_latest(folder, path)
        self._prune(folder)
        return transcript

    def paths(self, identifier: str) -> tuple[tuple[str, str], ...]:
        """``(label, path)`` pairs, newest first: ``latest`` then one per kept attempt."""
        folder = self.directory(identifier)
        try:
            names = sorted(
                (p.name for p in folder.iterdir() if _ATTEMPT_FILE.match(p.name)), reverse=True
            )
        except OSError:
            return ()
        pairs: list[tuple[str, str]] = []
        latest = folder / LATEST
        if latest.exists():
            pairs.append(("latest", str(latest)))
        for name in names:
            match = _ATTEMPT_FILE.match(name)
            assert match is not None
            when = datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ")
            number = int(match.group(2))
            run = f"retry {number}" if number else "first run"
            label = f"{run} ({when:%Y-%m-%d %H:%M:%S}Z)"
            pairs.append((label, str(folder / name)))
        return tuple(pairs)

    @staticmethod
    def _create(folder: Path, name: str) -> tuple[Path, IO[str]]:
        for suffix in range(100):
            path = folder / (f"{name}.log" if suffix == 0 else f"{name}-{suffix}.log")
            try:
                return path, path.open("x", encoding="utf-8", errors="replace")
            except FileExistsError:
                continue
        raise FileExistsError(f"{folder}: too many transcripts named {name}")

    @staticmethod
    def _point_latest(folder: Path, target: Path) -> None:
        latest = folder / LATEST
        temp = folder / f".{LATEST}.tmp"
        with contextlib.suppress(OSError):
            temp.unlink()
        try:
            temp.symlink_to(target.name)
        except OSError:
            try:
                os.link(target, temp)  # filesystems without symlinks: a hard link grows along
            except OSError as exc:
                log.debug("latest transcript link unavailable", path=latest, error=str(exc))
                return
        try:
            temp.replace(latest)
        except OSError as exc:
            log.debug("latest transcript link unavailable", path=latest, error=str(exc))

    def _prune(self, folder: Path) -> None:
        try:
            names = sorted(p.name for p in folder.iterdir() if _ATTEMPT_FILE.match(p.name))
            for name in names[: max(0, len(names) - self.keep)]:
                (folder / name).unlink()
        except OSError as exc:
            log.warning("agent transcript pruning failed", path=folder, error=str(exc))


if TYPE_CHECKING:

    def _implements_the_codex_transcript(transcript: FileTranscript) -> Transcript:
        return transcript
