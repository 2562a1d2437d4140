"""JSON-safe views of the core state for observability (SPEC §13.3, §13.7.2).

Shapes follow ``symphony.runtime_view``. The core keeps monotonic milliseconds; these functions
turn them into RFC 3339 UTC instants relative to one ``(mono_now, wall_now)`` pair, so a single
snapshot is internally consistent even if the wall clock jumps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from symphony.core.blocked import display_key
from symphony.core.state import (
    BlockedIssue,
    IssueRecord,
    OrchestratorState,
    Phase,
    RecentEvent,
    RetryEntry,
    RunningEntry,
)
from symphony.issue import format_timestamp


@dataclass(frozen=True, slots=True)
class Instant:
    """One reading of both clocks; everything in a snapshot is expressed relative to it."""

    mono_ms: float
    wall: datetime

    def at(self, mono_ms: float | None) -> str | None:
        if mono_ms is None:
            return None
        return format_timestamp(self.wall - timedelta(milliseconds=self.mono_ms - mono_ms))


def seconds_running(state: OrchestratorState, now_ms: float) -> float:
    """Ended sessions plus live ones (SPEC §13.3; fixes reference-facts §8 item 2)."""
    live = sum(max(now_ms - e.started_ms, 0.0) for e in state.running.values()) / 1000.0
    return round(state.totals.ended_seconds + live, 3)


def running_row(entry: RunningEntry, now: Instant) -> dict[str, Any]:
    issue = entry.issue
    return {
        "issue_id": issue.id,
        "issue_identifier": issue.identifier,
        "issue_url": issue.url,
        "title": issue.title,
        "state": issue.state,
        "session_id": entry.session_id,
        "thread_id": entry.thread_id,
        "turn_count": entry.turn_count,
        "pid": entry.pid,
        "attempt": entry.attempt,
        "last_event": entry.last_event,
        "last_message": entry.last_message,
        "started_at": now.at(entry.started_ms),
        "last_event_at": now.at(entry.last_event_ms),
        "workspace_path": entry.workspace_path,
        "tokens": entry.tokens.to_dict(),
    }


def retry_row(entry: RetryEntry, now: Instant) -> dict[str, Any]:
    return {
        "issue_id": entry.issue_id,
        "issue_identifier": entry.identifier,
        "issue_url": entry.issue_url,
        "attempt": entry.attempt,
        "due_at": now.at(entry.due_ms),
        "due_in_ms": max(int(entry.due_ms - now.mono_ms), 0),
        "error": entry.error,
        "kind": entry.kind,
    }


def blocked_row(row: BlockedIssue, now: Instant) -> dict[str, Any]:
    issue = row.issue
    return {
        "issue_id": issue.id,
        "issue_identifier": issue.identifier,
        "issue_url": issue.url,
        "title": issue.title,
        "state": issue.state,
        "reason": row.reason,
        "blocked_by": [{"identifier": b.identifier, "state": b.state} for b in row.blockers],
        "blocked_at": now.at(row.since_ms),
    }


def build_snapshot(
    state: OrchestratorState,
    now: Instant,
    *,
    workflow: Mapping[str, Any],
    tracker_kind: str | None,
) -> dict[str, Any]:
    config = state.config
    running = sorted(state.running.values(), key=lambda e: e.started_ms)
    retrying = sorted(state.retry_attempts.values(), key=lambda e: e.due_ms)
    blocked = sorted(state.blocked.values(), key=display_key)
    tracker_error = state.tracker_error
    return {
        "generated_at": now.at(now.mono_ms),
        "counts": {
            "running": len(running),
            "retrying": len(retrying),
            "blocked": len(blocked) + state.blocked_beyond,
        },
        "limits": {
            "max_concurrent_agents": config.max_concurrent_agents,
            "by_state": dict(config.max_concurrent_agents_by_state),
        },
        "running": [running_row(e, now) for e in running],
        "retrying": [retry_row(e, now) for e in retrying],
        "blocked": [blocked_row(e, now) for e in blocked],
        "codex_totals": {
            **state.totals.tokens.to_dict(),
            "seconds_running": seconds_running(state, now.mono_ms),
        },
        "rate_limits": dict(state.rate_limits) if state.rate_limits is not None else None,
        "workflow": dict(workflow),
        "tracker": {
            "kind": tracker_kind,
            "last_poll_at": now.at(state.last_poll_ms),
            "error": (
                {
                    "code": tracker_error.code,
                    "message": tracker_error.message,
                    "at": now.at(tracker_error.at_ms),
                }
                if tracker_error is not None
                else None
            ),
        },
        "polling": {
            "interval_ms": config.poll_interval_ms,
            "next_poll_at": now.at(state.next_tick_ms),
            "checking": state.phase is not Phase.IDLE,
        },
    }


def _events(events: Iterable[RecentEvent], now: Instant) -> list[dict[str, Any]]:
    return [{"at": now.at(e.at_ms), "event": e.event, "message": e.message} for e in events]


def _logs(paths: Iterable[tuple[str, str]]) -> dict[str, Any]:
    return {
        "codex_session_logs": [{"label": label, "path": path, "url": None} for label, path in paths]
    }


def _parked_record(state: OrchestratorState, identifier: str) -> IssueRecord | None:
    """A parked issue the bounded history already dropped still answers, as released."""
    parked = next((p for p in state.parked.values() if p.identifier == identifier), None)
    if parked is None:
        return None
    return IssueRecord(
        issue_id=parked.issue_id,
        identifier=parked.identifier,
        state=parked.tracker_state,
        workspace_path=parked.workspace_path,
    )


def build_issue_detail(
    state: OrchestratorState,
    identifier: str,
    now: Instant,
    *,
    default_workspace: str | None,
) -> dict[str, Any] | None:
    running = next((e for e in state.running.values() if e.issue.identifier == identifier), None)
    retry = next((e for e in state.retry_attempts.values() if e.identifier == identifier), None)
    record: IssueRecord | None = state.history.get(identifier)
    held = (
        next((b for b in state.blocked.values() if b.issue.identifier == identifier), None)
        if running is None and retry is None
        else None
    )
    if running is None and retry is None and record is None and held is None:
        record = _parked_record(state, identifier)
        if record is None:
            return None
    if running is not None:
        issue_id, status = running.issue.id, "running"
    elif retry is not None:
        issue_id, status = retry.issue_id, "retrying"
    elif held is not None:
        issue_id, status = held.issue.id, "blocked"
    else:
        assert record is not None
        issue_id, status = record.issue_id, "released"
    workspace = (
        (running.workspace_path if running is not None else None)
        or (record.workspace_path if record is not None else None)
        or default_workspace
    )
    log_paths = (running.log_paths if running is not None else ()) or (
        record.log_paths if record is not None else ()
    )
    recent: Iterable[RecentEvent] = (
        running.recent
        if running is not None and running.recent
        else (record.recent if record is not None else ())
    )
    current_attempt = (
        running.attempt if running is not None else retry.attempt if retry is not None else None
    )
    running_view = None
    if running is not None:
        row = running_row(running, now)
        running_view = {
            k: row[k]
            for k in (
                "session_id",
                "turn_count",
                "state",
                "started_at",
                "last_event",
                "last_message",
                "last_event_at",
                "tokens",
                "pid",
                "workspace_path",
            )
        }
    retry_view = None
    if retry is not None:
        row = retry_row(retry, now)
        retry_view = {k: row[k] for k in ("attempt", "due_at", "due_in_ms", "error", "kind")}
    last_error = (retry.error if retry is not None else None) or (
        record.last_error if record is not None else None
    )
    blocked_view = None
    if held is not None:
        row = blocked_row(held, now)
        blocked_view = {k: row[k] for k in ("state", "reason", "blocked_by", "blocked_at")}
    if running is not None:
        issue_url = running.issue.url
    elif retry is not None:
        issue_url = retry.issue_url
    elif held is not None:
        issue_url = held.issue.url
    else:
        issue_url = record.issue_url if record is not None else None
    return {
        "issue_identifier": identifier,
        "issue_id": issue_id,
        "status": status,
        "workspace": {"path": workspace},
        "attempts": {
            "restart_count": record.runs if record is not None else 0,
            "current_retry_attempt": current_attempt,
        },
        "running": running_view,
        "retry": retry_view,
        "blocked": blocked_view,
        "logs": _logs(log_paths),
        "recent_events": _events(recent, now),
        "last_error": last_error,
        "tracked": {"issue_url": issue_url},
    }
