"""The terminal status view (SPEC §13.4): a live ``rich`` frame on a TTY, a periodic one-line
summary otherwise. It only reads the runtime; if a snapshot fails the frame says so and the
service carries on (SPEC §17.6).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal, TextIO, cast

from symphony.logs import get_logger
from symphony.observability.humanize import summarize_event
from symphony.observability.status_summary import summary_line
from symphony.observability.throughput import ThroughputMeter
from symphony.runtime_view import RuntimeChange, RuntimeView
from symphony.view import AgentActivity, Snapshot

if TYPE_CHECKING:
    # The live frame needs rich; a service whose console is not a terminal never loads it.
    from rich.console import Console
    from rich.live import Live
    from rich.text import Text

log = get_logger("symphony.status")

Mode = Literal["auto", "live", "summary", "off"]

MIN_FRAME_INTERVAL_S = 0.1  # coalesce bursts of agent events into at most 10 frames a second


class _AboveLive(io.TextIOBase):
    """A text stream whose lines print above the live frame instead of tearing through it."""

    def __init__(self, console: Console) -> None:
        from rich.text import Text

        self._console = console
        self._text = Text
        self._buffer = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._buffer += text
        *lines, self._buffer = self._buffer.split("\n")
        for line in lines:
            self._console.print(self._text(line), soft_wrap=True)
        return len(text)

    def flush(self) -> None:
        if self._buffer:
            line, self._buffer = self._buffer, ""
            self._console.print(self._text(line), soft_wrap=True)

    def isatty(self) -> bool:
        return True


class StatusView:
    """``await start()`` / ``await stop()``; pass ``log_stream`` as the console log sink."""

    def __init__(
        self,
        view: RuntimeView,
        *,
        stream: TextIO | None = None,
        mode: Mode = "auto",
        refresh_s: float = 1.0,
        summary_interval_s: float = 60.0,
        dashboard_url: str | None = None,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._view = view
        self._stream = stream if stream is not None else sys.stderr
        if mode == "auto":
            mode = "live" if _isatty(self._stream) else "summary"
        self.mode: Mode = mode
        self._refresh_s = refresh_s
        self._summary_interval_s = summary_interval_s
        self.dashboard_url = dashboard_url
        self._wall_clock = wall_clock
        self._meter = ThroughputMeter()
        self._dirty = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._console_: Console | None = None
        self._live: Live | None = None
        self._last_summary: str | None = None
        self._said: dict[str, tuple[str | None, str]] = {}
        self.frames = 0

    @property
    def _console(self) -> Console:
        if self._console_ is None:
            from rich.console import Console

            self._console_ = Console(file=self._stream, highlight=False, soft_wrap=False)
        return self._console_

    @property
    def log_stream(self) -> TextIO:
        """Where console log lines should go while the view runs."""
        if self.mode == "live":
            return cast(TextIO, _AboveLive(self._console))
        return self._stream

    async def start(self) -> None:
        if self.mode == "off" or self._task is not None:
            return
        if self.mode == "live":
            # Only the live frame shows what agents said; the summary line reads the snapshot,
            # so in summary mode no agent event is delivered here at all.
            try:
                self._unsubscribe = self._view.subscribe(self._on_change)
            except Exception as exc:
                log.warning("status view cannot subscribe", error=repr(exc))
            from rich.live import Live

            self._live = Live(
                console=self._console,
                auto_refresh=False,
                transient=False,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._live.start()
            self._dirty.set()  # first frame right away
            self._task = asyncio.create_task(self._run_live(), name="status-view")
        else:
            self._task = asyncio.create_task(self._run_summary(), name="status-summary")

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            unsubscribe, self._unsubscribe = self._unsubscribe, None
            with contextlib.suppress(Exception):
                unsubscribe()
        if self._task is not None:
            task, self._task = self._task, None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._live is not None:
            live, self._live = self._live, None
            from symphony.observability.status_render import render_offline

            with contextlib.suppress(Exception):
                live.update(render_offline(), refresh=True)
                live.stop()

    def _on_change(self, change: RuntimeChange) -> None:
        # Runs inside the orchestrator's notification: only remember and flag, never render here.
        if isinstance(change, AgentActivity):
            if change.message:
                self._said[change.issue_identifier] = (change.event, change.message)
                self._dirty.set()
            if change.tokens is not None:
                self._dirty.set()
        else:
            self._dirty.set()

    def _recent(self, snapshot: Snapshot) -> dict[str, str]:
        live = {row.issue_identifier for row in snapshot.running}
        for gone in set(self._said) - live:
            del self._said[gone]
        return {
            ident: summarize_event(event, message) for ident, (event, message) in self._said.items()
        }

    def render_now(self) -> Text:
        """Take a snapshot and build a frame (also used by tests)."""
        from symphony.observability.status_render import render_status

        now = self._wall_clock()
        try:
            snapshot = self._view.snapshot()
        except Exception as exc:
            return render_status(None, now, self._console.width, error=repr(exc))
        self._meter.sample(time.monotonic(), snapshot.codex_totals.total_tokens)
        return render_status(
            snapshot,
            now,
            self._console.width,
            tps=self._meter.rate(),
            dashboard_url=self.dashboard_url,
            recent=self._recent(snapshot),
        )

    async def _run_live(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._dirty.wait(), timeout=self._refresh_s)
            self._dirty.clear()
            live = self._live
            if live is None:
                return
            try:
                live.update(self.render_now(), refresh=True)
                self.frames += 1
            except Exception:
                log.exception("status frame failed")
            await asyncio.sleep(MIN_FRAME_INTERVAL_S)

    async def _run_summary(self) -> None:
        while True:
            self.emit_summary()
            await asyncio.sleep(self._summary_interval_s)

    def emit_summary(self) -> bool:
        """Log one summary line if anything but the clock changed since the last one."""
        try:
            snapshot = self._view.snapshot()
        except Exception as exc:
            log.warning("status snapshot unavailable", error=repr(exc))
            return False
        self._meter.sample(time.monotonic(), snapshot.codex_totals.total_tokens)
        line = summary_line(snapshot, self._wall_clock(), self._meter.rate())
        key = " ".join(p for p in line.split() if not p.startswith(("runtime_s=", "tps=")))
        if key == self._last_summary:
            return False
        self._last_summary = key
        log.info("status %s", line)
        self.frames += 1
        return True


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
