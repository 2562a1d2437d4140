"""The terminal status frame as a pure function of a snapshot (SPEC §13.4).

``render_status`` returns a ``rich.text.Text`` whose every line is at most ``width`` cells, so the
frame is snapshot-testable: no clock, terminal or orchestrator access happens here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from rich.text import Text

from symphony.observability.formatting import (
    as_int,
    clean_text,
    format_ago,
    format_countdown,
    format_duration,
    format_int,
    live_runtime_seconds,
    parse_time,
    rate_limit_parts,
    seconds_between,
    short_session,
    token_counts,
    truncate,
)
from symphony.observability.humanize import summarize_event

DEFAULT_WIDTH = 115
MIN_EVENT_WIDTH = 12
ERROR_LIMIT = 96
# The terminal frame lists this many blocked issues; the rest are summed up in one line.
BLOCKED_LINES = 10

BORDER = "│"
HEADER = "bold"
MUTED = "bright_black"


def render_status(
    snapshot: Mapping[str, Any] | None,
    now: datetime,
    width: int = DEFAULT_WIDTH,
    *,
    tps: float = 0.0,
    dashboard_url: str | None = None,
    error: str | None = None,
    recent: Mapping[str, str] | None = None,
) -> Text:
    """One frame. ``snapshot=None`` (with ``error``) renders the "unavailable" frame.

    ``recent`` maps issue identifiers to the last *informative* event summary seen for them; it
    stands in when a row's own last event carries no message (streaming chatter).
    """
    width = max(40, width)
    lines: list[Text] = [_title("╭─ SYMPHONY STATUS")]
    if snapshot is None:
        lines.append(_field("Orchestrator", [("snapshot unavailable", "red")]))
        if error:
            lines.append(_field("Error", [(clean_text(error), "red")]))
        lines.append(_field("Throughput", [(f"{format_int(round(tps))} tps", "cyan")]))
        lines.append(Text("╰─"))
        return _join(lines, width)

    lines.extend(_summary(snapshot, now, tps, dashboard_url))
    lines.append(_title("├─ Running"))
    lines.append(Text(BORDER))
    lines.extend(_running(snapshot, now, width, recent or {}))
    lines.append(_title("├─ Backoff queue"))
    lines.append(Text(BORDER))
    lines.extend(_retrying(snapshot, now, width))
    blocked = _blocked_total(snapshot)
    if blocked:
        lines.append(_title("├─ Blocked (operator action needed)"))
        lines.append(Text(BORDER))
        lines.extend(_blocked(snapshot, blocked))
    lines.append(Text("╰─"))
    return _join(lines, width)


def render_offline() -> Text:
    return _join(
        [_title("╭─ SYMPHONY STATUS"), _field("Status", [("offline", "red")]), Text("╰─")], 80
    )


def summary_line(snapshot: Mapping[str, Any], now: datetime, tps: float) -> str:
    """The one-line status used when the console is not a terminal."""
    counts = _section(snapshot, "counts")
    limits = _section(snapshot, "limits")
    inp, out, total = token_counts(snapshot.get("codex_totals"))
    running = as_int(counts.get("running")) or 0
    parts = [
        f"agents={running}/{as_int(limits.get('max_concurrent_agents')) or '?'}",
        f"retrying={as_int(counts.get('retrying')) or 0}",
        f"tokens_in={inp} tokens_out={out} tokens_total={total}",
        f"tps={round(tps)}",
        f"runtime_s={int(live_runtime_seconds(snapshot, now))}",
    ]
    blocked = _blocked_total(snapshot)
    if blocked:
        parts.insert(2, f"blocked={blocked}")
    for key in ("workflow", "tracker"):
        section = snapshot.get(key)
        if isinstance(section, Mapping) and isinstance(section.get("error"), Mapping):
            parts.append(f"{key}_error={section['error'].get('code', 'error')}")
    return " ".join(parts)


def _section(snapshot: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = snapshot.get(key)
    return value if isinstance(value, Mapping) else {}


# --- header -------------------------------------------------------------------------------------


def _title(text: str) -> Text:
    return Text(text, style=HEADER)


def _field(label: str, segments: Sequence[tuple[str, str]]) -> Text:
    line = Text()
    line.append(f"{BORDER} {label}: ", style=HEADER)
    for index, (text, style) in enumerate(segments):
        if index:
            line.append(" | ", style=MUTED)
        line.append(text, style=style)
    return line


def _summary(
    snapshot: Mapping[str, Any], now: datetime, tps: float, dashboard_url: str | None
) -> list[Text]:
    counts = _section(snapshot, "counts")
    limits = _section(snapshot, "limits")
    running = as_int(counts.get("running")) or 0
    maximum = as_int(limits.get("max_concurrent_agents"))
    agents = Text()
    agents.append(f"{BORDER} Agents: ", style=HEADER)
    agents.append(str(running), style="green")
    agents.append("/", style=MUTED)
    agents.append(str(maximum) if maximum is not None else "?", style=MUTED)
    retrying = as_int(counts.get("retrying")) or 0
    if retrying:
        agents.append(f"  retrying {retrying}", style="yellow")
    blocked = _blocked_total(snapshot)
    if blocked:
        agents.append(f"  blocked {blocked}", style="red")

    inp, out, total = token_counts(snapshot.get("codex_totals"))
    lines = [
        agents,
        _field("Throughput", [(f"{format_int(round(tps))} tps", "cyan")]),
        _field("Runtime", [(format_duration(live_runtime_seconds(snapshot, now)), "magenta")]),
        _field(
            "Tokens",
            [(f"in {inp:,}", "yellow"), (f"out {out:,}", "yellow"), (f"total {total:,}", "yellow")],
        ),
        _rate_limits(snapshot.get("rate_limits"), now),
    ]
    lines.extend(_health(snapshot, now))
    if dashboard_url:
        lines.append(_field("Dashboard", [(dashboard_url, "cyan")]))
    lines.append(_field("Next refresh", [_next_refresh(snapshot.get("polling"), now)]))
    return lines


def _rate_limits(rate_limits: Any, now: datetime) -> Text:
    parts = rate_limit_parts(rate_limits, now)
    if not parts:
        return _field("Rate Limits", [("unavailable", MUTED)])
    styles = {"id": "yellow", "bucket": "cyan", "credits": "green"}
    return _field("Rate Limits", [(text, styles[kind]) for kind, text in parts])


def _health(snapshot: Mapping[str, Any], now: datetime) -> list[Text]:
    lines: list[Text] = []
    tracker = snapshot.get("tracker")
    if isinstance(tracker, Mapping):
        segments = [(str(tracker.get("kind") or "tracker"), "cyan")]
        polled = seconds_between(tracker.get("last_poll_at"), now)
        segments.append(
            (f"last poll {format_ago(polled)}" if polled is not None else "not polled yet", MUTED)
        )
        error = tracker.get("error")
        if isinstance(error, Mapping):
            segments.append((_error_text(error), "red"))
        lines.append(_field("Tracker", segments))
    workflow = snapshot.get("workflow")
    if isinstance(workflow, Mapping):
        segments = [(str(workflow.get("path") or "WORKFLOW.md"), "cyan")]
        if workflow.get("version") is not None:
            segments.append((f"v{workflow['version']}", MUTED))
        error = workflow.get("error")
        if isinstance(error, Mapping):
            segments.append(
                (f"reload failed, running last good config: {_error_text(error)}", "red")
            )
        warnings = workflow.get("warnings")
        if isinstance(warnings, list) and warnings:
            segments.append(
                (f"{len(warnings)} warning(s): {clean_text(str(warnings[0]))}", "yellow")
            )
        lines.append(_field("Workflow", segments))
    return lines


def _error_text(error: Mapping[str, Any]) -> str:
    code = error.get("code")
    message = clean_text(str(error.get("message") or ""))
    return f"[{code}] {message}" if code else message


def _next_refresh(polling: Any, now: datetime) -> tuple[str, str]:
    if not isinstance(polling, Mapping):
        return ("n/a", MUTED)
    if polling.get("checking") is True:
        return ("checking now…", "cyan")
    due = parse_time(polling.get("next_poll_at"))
    if due is None:
        return ("n/a", MUTED)
    return (f"{max(0, math.ceil((due - now).total_seconds()))}s", "cyan")


# --- running table ------------------------------------------------------------------------------

# (title, width, droppable): on narrow terminals the least useful columns go first so the
# EVENT column keeps at least ``COMFORT_EVENT_WIDTH`` cells.
_COLUMNS = [
    ("STAGE", 14, False),
    ("PID", 8, True),
    ("AGE / TURN", 12, False),
    ("TOKENS", 10, False),
    ("SESSION", 14, True),
]
_DROP_ORDER = ("SESSION", "PID")
COMFORT_EVENT_WIDTH = 24


def _event_style(event: Any) -> str:
    if not isinstance(event, str) or not event:
        return "red"
    if "token" in event:
        return "yellow"
    if event in ("session_started", "turn_started"):
        return "green"
    if event == "turn_completed":
        return "magenta"
    if "fail" in event or "error" in event or event in ("malformed", "stalled"):
        return "red"
    return "blue"


def _layout(id_width: int, width: int) -> tuple[list[tuple[str, int]], int]:
    columns = [(name, w) for name, w, _ in _COLUMNS]
    for victim in (None, *_DROP_ORDER):
        if victim is not None:
            columns = [c for c in columns if c[0] != victim]
        fixed = 4 + id_width + 1 + sum(w + 1 for _, w in columns)
        if width - fixed >= COMFORT_EVENT_WIDTH:
            break
    return columns, max(MIN_EVENT_WIDTH, width - fixed)


def _running(
    snapshot: Mapping[str, Any], now: datetime, width: int, recent: Mapping[str, str]
) -> list[Text]:
    rows = [r for r in snapshot.get("running") or [] if isinstance(r, Mapping)]
    id_width = min(16, max([8, *(len(str(r.get("issue_identifier") or "")) for r in rows)]))
    columns, event_width = _layout(id_width, width)

    header = Text(f"{BORDER}   ")
    titles = ["ID".ljust(id_width)] + [name.ljust(w) for name, w in columns] + ["EVENT"]
    header.append(" ".join(titles).ljust(width - 4), style=MUTED)
    rule = Text(f"{BORDER}   ")
    rule.append("─" * (width - 4), style=MUTED)
    lines = [header, rule]
    if not rows:
        lines.append(Text(f"{BORDER}  ").append("No active agents", style=MUTED))
        lines.append(Text(BORDER))
        return lines

    for row in sorted(rows, key=lambda r: str(r.get("issue_identifier") or "")):
        style = _event_style(row.get("last_event"))
        age = seconds_between(row.get("started_at"), now)
        turns = as_int(row.get("turn_count")) or 0
        age_text = format_duration(age) if age is not None else "-"
        if turns:
            age_text = f"{age_text} / {turns}"
        summary = summarize_event(
            row.get("last_event") if isinstance(row.get("last_event"), str) else None,
            row.get("last_message"),
        )
        if not row.get("last_message"):
            remembered = recent.get(str(row.get("issue_identifier")))
            if remembered:
                summary = remembered
            elif not row.get("last_event"):
                summary = "no agent event yet"
        _, _, total = token_counts(row.get("tokens"))
        values = {
            "STAGE": (_cell(row.get("state"), 14), style),
            "PID": (_cell(row.get("pid"), 8), "yellow"),
            "AGE / TURN": (_cell(age_text, 12), "magenta"),
            "TOKENS": (f"{total:,}".rjust(10)[-10:], "yellow"),
            "SESSION": (_cell(short_session(row.get("session_id")), 14), "cyan"),
        }
        line = Text(f"{BORDER} ")
        line.append("●", style=style)
        line.append(" ")
        cells = [
            (_cell(row.get("issue_identifier"), id_width), "cyan"),
            *(values[name] for name, _ in columns),
            (_cell(summary, event_width), style),
        ]
        for index, (text, cell_style) in enumerate(cells):
            if index:
                line.append(" ")
            line.append(text, style=cell_style)
        lines.append(line)
    lines.append(Text(BORDER))
    return lines


def _cell(value: Any, width: int) -> str:
    text = clean_text(str(value)) if value is not None else "-"
    return truncate(text, width).ljust(width)


# --- retry queue and blocked ---------------------------------------------------------------------


def _retrying(snapshot: Mapping[str, Any], now: datetime, width: int) -> list[Text]:
    rows = [r for r in snapshot.get("retrying") or [] if isinstance(r, Mapping)]
    if not rows:
        return [Text(f"{BORDER}  ").append("No queued retries", style=MUTED)]
    lines = []
    for row, due_in in sorted(
        ((r, _due_in(r, snapshot, now)) for r in rows), key=lambda pair: pair[1]
    ):
        line = Text(f"{BORDER}  ")
        line.append("↻", style="yellow")
        line.append(" ")
        line.append(str(row.get("issue_identifier") or row.get("issue_id") or "?"), style="red")
        line.append(f" attempt={as_int(row.get('attempt')) or 0}", style="yellow")
        if row.get("kind") == "continuation":
            line.append(" continuation", style=MUTED)
        line.append(" in ", style="dim")
        line.append(format_countdown(due_in), style="cyan")
        error = row.get("error")
        if error:
            used = line.cell_len + len(" error=")
            budget = min(ERROR_LIMIT, max(12, width - used))
            line.append(f" error={truncate(clean_text(str(error)), budget)}", style="dim")
        lines.append(line)
    return lines


def _due_in(row: Mapping[str, Any], snapshot: Mapping[str, Any], now: datetime) -> float:
    due = parse_time(row.get("due_at"))
    if due is not None:
        return (due - now).total_seconds()
    # Fall back to the relative countdown, aged by how long ago the snapshot was taken.
    due_ms = as_int(row.get("due_in_ms")) or 0
    elapsed = seconds_between(snapshot.get("generated_at"), now) or 0.0
    return due_ms / 1000 - elapsed


def _blocked_rows(snapshot: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    rows = snapshot.get("blocked")
    return [r for r in rows if isinstance(r, Mapping)] if isinstance(rows, list) else []


def _blocked_total(snapshot: Mapping[str, Any]) -> int:
    """The runtime lists a bounded number of rows; ``counts.blocked`` has them all."""
    counted = as_int(_section(snapshot, "counts").get("blocked")) or 0
    return max(counted, len(_blocked_rows(snapshot)))


def _blocked(snapshot: Mapping[str, Any], total: int) -> list[Text]:
    rows = _blocked_rows(snapshot)
    lines = []
    for row in rows[:BLOCKED_LINES]:
        line = Text(f"{BORDER}  ")
        line.append("■", style="red")
        line.append(" ")
        line.append(str(row.get("issue_identifier") or row.get("issue_id") or "?"), style="red")
        if row.get("state"):
            line.append(f" {clean_text(str(row['state']))}", style=MUTED)
        reason = row.get("reason") or row.get("error")
        if reason:
            line.append(f" {clean_text(str(reason))}", style="dim")
        lines.append(line)
    hidden = total - min(len(rows), BLOCKED_LINES)
    if hidden > 0:
        more = Text(f"{BORDER}  ")
        more.append(f"… {hidden:,} more blocked (see the dashboard or /api/v1/state)", style=MUTED)
        lines.append(more)
    return lines


def _join(lines: list[Text], width: int) -> Text:
    frame = Text()
    for index, line in enumerate(lines):
        line.truncate(width, overflow="ellipsis")
        line.rstrip()
        if index:
            frame.append("\n")
        frame.append_text(line)
    return frame
