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
    format_ago,
    format_countdown,
    format_duration,
    format_int,
    live_runtime_seconds,
    rate_limit_parts,
    seconds_between,
    short_session,
    truncate,
)
from symphony.observability.humanize import summarize_event
from symphony.observability.status_summary import blocked_total
from symphony.text import clean_text
from symphony.view import Polling, Problem, RetryRow, RunningRow, Snapshot

DEFAULT_WIDTH = 115
MIN_EVENT_WIDTH = 12
ERROR_LIMIT = 96
# The terminal frame lists this many blocked issues; the rest are summed up in one line.
BLOCKED_LINES = 10

BORDER = "│"
HEADER = "bold"
MUTED = "bright_black"


def render_status(
    snapshot: Snapshot | None,
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
    blocked = blocked_total(snapshot)
    if blocked:
        lines.append(_title("├─ Blocked (operator action needed)"))
        lines.append(Text(BORDER))
        lines.extend(_blocked(snapshot, blocked))
    if snapshot.held:
        lines.append(_title("├─ Held (stopped by Symphony; symphony release ID)"))
        lines.extend(_held(snapshot))
    lines.append(Text("╰─"))
    return _join(lines, width)


def render_offline() -> Text:
    return _join(
        [_title("╭─ SYMPHONY STATUS"), _field("Status", [("offline", "red")]), Text("╰─")], 80
    )


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
    snapshot: Snapshot, now: datetime, tps: float, dashboard_url: str | None
) -> list[Text]:
    agents = Text()
    agents.append(f"{BORDER} Agents: ", style=HEADER)
    agents.append(str(snapshot.counts.running), style="green")
    agents.append("/", style=MUTED)
    agents.append(str(snapshot.limits.max_concurrent_agents), style=MUTED)
    retrying = snapshot.counts.retrying
    if retrying:
        agents.append(f"  retrying {retrying}", style="yellow")
    blocked = blocked_total(snapshot)
    if blocked:
        agents.append(f"  blocked {blocked}", style="red")

    totals = snapshot.codex_totals
    inp, out, total = totals.input_tokens, totals.output_tokens, totals.total_tokens
    lines = [
        agents,
        _field("Throughput", [(f"{format_int(round(tps))} tps", "cyan")]),
        _field("Runtime", [(format_duration(live_runtime_seconds(snapshot, now)), "magenta")]),
        _field(
            "Tokens",
            [(f"in {inp:,}", "yellow"), (f"out {out:,}", "yellow"), (f"total {total:,}", "yellow")],
        ),
        _rate_limits(snapshot.rate_limits, now),
    ]
    cost = _cost(snapshot)
    if cost is not None:
        lines.insert(4, cost)
    hosts = _workers(snapshot)
    if hosts is not None:
        lines.append(hosts)
    lines.extend(_health(snapshot, now))
    if dashboard_url:
        lines.append(_field("Dashboard", [(dashboard_url, "cyan")]))
    lines.append(_field("Next refresh", [_next_refresh(snapshot.polling, now)]))
    return lines


def _cost(snapshot: Snapshot) -> Text | None:
    """Cost so far and today's against agent.max_cost_usd_per_day; None while both are moot."""
    total = snapshot.codex_totals.cost_usd
    budget = snapshot.budget
    limit = budget.max_cost_usd_per_day if budget is not None else None
    if not total and limit is None:
        return None
    segments = [(f"${total:,.2f} total", "green")]
    if budget is not None:
        today = f"today ${budget.cost_usd:,.2f}"
        segments.append((today if limit is None else f"{today} of ${limit:,.2f}", "green"))
        if budget.dispatch_paused:
            segments.append(("DAILY LIMIT REACHED: no new dispatch until tomorrow (UTC)", "red"))
    return _field("Cost", segments)


def _workers(snapshot: Snapshot) -> Text | None:
    """SSH worker hosts with load and health (docs/workers.md); None when agents run here."""
    if not snapshot.workers:
        return None
    segments: list[tuple[str, str]] = []
    for host in snapshot.workers:
        load = f"{host.running}/{host.capacity}" if host.capacity is not None else str(host.running)
        if host.status == "down":
            segments.append((f"{host.host} {load} DOWN", "red"))
        else:
            segments.append((f"{host.host} {load}", "green"))
    return _field("Workers", segments)


def _rate_limits(rate_limits: Any, now: datetime) -> Text:
    parts = rate_limit_parts(rate_limits, now)
    if not parts:
        return _field("Rate Limits", [("unavailable", MUTED)])
    styles = {"id": "yellow", "bucket": "cyan", "credits": "green"}
    return _field("Rate Limits", [(text, styles[kind]) for kind, text in parts])


def _health(snapshot: Snapshot, now: datetime) -> list[Text]:
    tracker = snapshot.tracker
    segments = [(tracker.kind or "tracker", "cyan")]
    polled = seconds_between(tracker.last_poll_at, now)
    segments.append(
        (f"last poll {format_ago(polled)}" if polled is not None else "not polled yet", MUTED)
    )
    if tracker.error is not None:
        segments.append((_error_text(tracker.error), "red"))
    lines = [_field("Tracker", segments)]
    problem = snapshot.agent_problem
    if problem is not None:
        # Once here, instead of on every retry row: the fix is in the message.
        lines.append(
            _field(
                "Agents",
                [
                    ("CANNOT START", "red"),
                    (f"[{problem.code}] {clean_text(problem.message)}", "red"),
                    ("dispatch paused; one agent retries at a time", MUTED),
                ],
            )
        )

    workflow = snapshot.workflow
    segments = [(workflow.path or "WORKFLOW.md", "cyan"), (f"v{workflow.version}", MUTED)]
    if workflow.error is not None:
        segments.append(
            (f"reload failed, running last good config: {_error_text(workflow.error)}", "red")
        )
    if workflow.warnings:
        segments.append(
            (f"{len(workflow.warnings)} warning(s): {clean_text(workflow.warnings[0])}", "yellow")
        )
    lines.append(_field("Workflow", segments))
    return lines


def _error_text(problem: Problem) -> str:
    message = clean_text(problem.message or "")
    return f"[{problem.code}] {message}" if problem.code else message


def _next_refresh(polling: Polling, now: datetime) -> tuple[str, str]:
    if polling.checking:
        return ("checking now…", "cyan")
    due = polling.next_poll_at
    if due is None:
        return ("n/a", MUTED)
    return (f"{max(0, math.ceil(_seconds_until(due, now)))}s", "cyan")


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
    snapshot: Snapshot, now: datetime, width: int, recent: Mapping[str, str]
) -> list[Text]:
    rows = snapshot.running
    id_width = min(16, max([8, *(len(_row_id(r)) for r in rows)]))
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

    for row in sorted(rows, key=_row_id):
        style = _event_style(row.last_event)
        age = seconds_between(row.started_at, now)
        age_text = format_duration(age) if age is not None else "-"
        if row.turn_count:
            age_text = f"{age_text} / {row.turn_count}"
        summary = summarize_event(row.last_event, row.last_message)
        if not row.last_message:
            remembered = recent.get(row.issue_identifier)
            if remembered:
                summary = remembered
            elif not row.last_event:
                summary = "no agent event yet"
        if row.pending_request_count:
            # Parked for a human: the one thing an operator must act on (symphony requests).
            summary = f"WAITING FOR YOU ({row.pending_request_count}): {summary}"
            style = "bold yellow"
        values = {
            "STAGE": (_cell(row.state, 14), style),
            "PID": (_cell(row.pid, 8), "yellow"),
            "AGE / TURN": (_cell(age_text, 12), "magenta"),
            "TOKENS": (f"{row.tokens.total_tokens:,}".rjust(10)[-10:], "yellow"),
            "SESSION": (_cell(short_session(row.session_id), 14), "cyan"),
        }
        line = Text(f"{BORDER} ")
        line.append("●", style=style)
        line.append(" ")
        cells = [
            (_cell(_row_id(row), id_width), "cyan"),
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


def _row_id(row: RunningRow | RetryRow) -> str:
    """The identifier a row is shown by; a best-of candidate's is its workspace key (MT-1.a)."""
    if row.candidate is None or not row.issue_identifier:
        return row.issue_identifier
    return f"{row.issue_identifier}.{row.candidate}"


def _retrying(snapshot: Snapshot, now: datetime, width: int) -> list[Text]:
    rows = snapshot.retrying
    if not rows:
        return [Text(f"{BORDER}  ").append("No queued retries", style=MUTED)]
    lines = []
    for row, due_in in sorted(
        ((r, _seconds_until(r.due_at, now)) for r in rows), key=lambda pair: pair[1]
    ):
        line = Text(f"{BORDER}  ")
        line.append("↻", style="yellow")
        line.append(" ")
        line.append(_row_id(row) or row.issue_id or "?", style="red")
        line.append(f" attempt={row.attempt or 0}", style="yellow")
        if row.kind == "continuation":
            line.append(" continuation", style=MUTED)
        line.append(" in ", style="dim")
        line.append(format_countdown(due_in), style="cyan")
        if row.error:
            used = line.cell_len + len(" error=")
            budget = min(ERROR_LIMIT, max(12, width - used))
            line.append(f" error={truncate(clean_text(row.error), budget)}", style="dim")
        lines.append(line)
    return lines


def _seconds_until(due: datetime, now: datetime) -> float:
    return -(seconds_between(due, now) or 0.0)


def _blocked(snapshot: Snapshot, total: int) -> list[Text]:
    rows = snapshot.blocked
    lines = []
    for row in rows[:BLOCKED_LINES]:
        line = Text(f"{BORDER}  ")
        line.append("■", style="red")
        line.append(" ")
        line.append(row.issue_identifier or row.issue_id or "?", style="red")
        if row.state:
            line.append(f" {clean_text(row.state)}", style=MUTED)
        if row.reason:
            line.append(f" {clean_text(row.reason)}", style="dim")
        lines.append(line)
    hidden = total - min(len(rows), BLOCKED_LINES)
    if hidden > 0:
        more = Text(f"{BORDER}  ")
        more.append(f"… {hidden:,} more blocked (see the dashboard or /api/v1/state)", style=MUTED)
        lines.append(more)
    return lines


def _held(snapshot: Snapshot) -> list[Text]:
    lines = []
    for row in snapshot.held[:BLOCKED_LINES]:
        line = Text(f"{BORDER}  ")
        line.append("■", style="yellow")
        line.append(" ")
        line.append(row.issue_identifier, style="yellow")
        line.append(f" {clean_text(row.reason)}", style=MUTED)
        line.append(f" {clean_text(row.message)}", style="dim")
        lines.append(line)
    hidden = len(snapshot.held) - BLOCKED_LINES
    if hidden > 0:
        more = Text(f"{BORDER}  ")
        more.append(f"… {hidden:,} more held (see the dashboard or /api/v1/state)", style=MUTED)
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
