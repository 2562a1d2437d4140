"""The one place that turns the typed view (``symphony.view``) into JSON-safe values.

The shapes are the wire contract of SPEC §13.7.2 (``GET /api/v1/state``,
``GET /api/v1/<identifier>``) and of the event stream; ``symphony.runtime_view`` documents them.
Keys keep their order, instants become RFC 3339 UTC strings ending in ``Z``
(``symphony.timefmt.format_timestamp``). Surfaces may add display fields to the result (the HTTP
presenter adds ``summary`` and log ``url``), never change the ones rendered here.
"""

from __future__ import annotations

from typing import Any

from symphony.human import RequestRecord, SteerRecord, question_fields, shown_answers
from symphony.timefmt import format_timestamp
from symphony.view import (
    AgentActivity,
    AgentProblem,
    BlockedRow,
    DayBudget,
    HeldRow,
    HistoryRun,
    IssueDetail,
    LogFile,
    Problem,
    RetryRow,
    RunningRow,
    Snapshot,
    TimelineEvent,
    Tokens,
    WorkerHost,
)

# The fields of a row that ``GET /api/v1/<identifier>`` shows, in order.
DETAIL_RUNNING_FIELDS = (
    "session_id",
    "turn_count",
    "state",
    "started_at",
    "last_event",
    "last_message",
    "last_event_at",
    "tokens",
    "pid",
    "agent_kind",
    "model",
    "cost_usd",
    "workspace_path",
)
DETAIL_RETRY_FIELDS = ("attempt", "due_at", "due_in_ms", "error", "kind")
DETAIL_BLOCKED_FIELDS = ("state", "reason", "blocked_by", "blocked_at")


def tokens_json(tokens: Tokens) -> dict[str, int]:
    return {
        "input_tokens": tokens.input_tokens,
        "output_tokens": tokens.output_tokens,
        "total_tokens": tokens.total_tokens,
    }


def cost_json(cost: float | None) -> float | None:
    """USD rounded to a millionth of a dollar: enough for any budget, free of float noise."""
    return round(cost, 6) if cost is not None else None


def day_budget_json(budget: DayBudget | None) -> dict[str, Any] | None:
    if budget is None:
        return None
    return {
        "day": budget.day,
        "cost_usd": cost_json(budget.cost_usd),
        "max_cost_usd_per_day": budget.max_cost_usd_per_day,
        "dispatch_paused": budget.dispatch_paused,
    }


def agent_problem_json(problem: AgentProblem | None) -> dict[str, Any] | None:
    if problem is None:
        return None
    return {
        "code": problem.code,
        "message": problem.message,
        "since": format_timestamp(problem.since),
        "failures": problem.failures,
        "next_attempt_at": format_timestamp(problem.next_attempt_at),
    }


def problem_json(problem: Problem | None) -> dict[str, Any] | None:
    if problem is None:
        return None
    return {"code": problem.code, "message": problem.message, "at": format_timestamp(problem.at)}


def _issue_ref_json(row: RunningRow | RetryRow | BlockedRow) -> dict[str, Any]:
    """The fields every row starts with, in this order."""
    return {
        "issue_id": row.issue_id,
        "issue_identifier": row.issue_identifier,
        "issue_url": row.issue_url,
    }


def running_row_json(row: RunningRow) -> dict[str, Any]:
    return {
        **_issue_ref_json(row),
        "title": row.title,
        "state": row.state,
        "session_id": row.session_id,
        "thread_id": row.thread_id,
        "turn_count": row.turn_count,
        "pid": row.pid,
        "attempt": row.attempt,
        "last_event": row.last_event,
        "last_message": row.last_message,
        "started_at": format_timestamp(row.started_at),
        "last_event_at": format_timestamp(row.last_event_at),
        "workspace_path": row.workspace_path,
        "tokens": tokens_json(row.tokens),
        "pending_request_count": row.pending_request_count,
        "agent_kind": row.agent_kind,
        "model": row.model,
        "cost_usd": cost_json(row.cost_usd),
        "worker_host": row.worker_host,
        "candidate": row.candidate,
    }


def retry_row_json(row: RetryRow) -> dict[str, Any]:
    return {
        **_issue_ref_json(row),
        "attempt": row.attempt,
        "due_at": format_timestamp(row.due_at),
        "due_in_ms": row.due_in_ms,
        "error": row.error,
        "kind": row.kind,
        "worker_host": row.worker_host,
        "candidate": row.candidate,
    }


def blocked_row_json(row: BlockedRow) -> dict[str, Any]:
    return {
        **_issue_ref_json(row),
        "title": row.title,
        "state": row.state,
        "reason": row.reason,
        "blocked_by": [{"identifier": b.identifier, "state": b.state} for b in row.blocked_by],
        "blocked_at": format_timestamp(row.blocked_at),
    }


def held_row_json(row: HeldRow) -> dict[str, Any]:
    return {
        "issue_id": row.issue_id,
        "issue_identifier": row.issue_identifier,
        "issue_url": row.issue_url,
        "reason": row.reason,
        "message": row.message,
        "since": format_timestamp(row.since),
    }


def hold_json(row: HeldRow | None) -> dict[str, Any] | None:
    """The ``hold`` of ``GET /api/v1/<identifier>``."""
    if row is None:
        return None
    return {"reason": row.reason, "message": row.message, "since": format_timestamp(row.since)}


def worker_host_json(row: WorkerHost) -> dict[str, Any]:
    return {
        "host": row.host,
        "running": row.running,
        "capacity": row.capacity,
        "status": row.status,
        "error": row.error,
        "down_until": format_timestamp(row.down_until),
    }


def snapshot_json(snapshot: Snapshot, *, running: list[Any] | None = None) -> dict[str, Any]:
    """``GET /api/v1/state`` and the event stream's ``snapshot`` event (before display fields).
    ``running``: the running rows already rendered (see the HTTP presenter), instead of
    ``running_row_json`` of each."""
    totals = snapshot.codex_totals
    workflow = snapshot.workflow
    tracker = snapshot.tracker
    polling = snapshot.polling
    return {
        "generated_at": format_timestamp(snapshot.generated_at),
        "counts": {
            "running": snapshot.counts.running,
            "retrying": snapshot.counts.retrying,
            "blocked": snapshot.counts.blocked,
            "held": snapshot.counts.held,
        },
        "limits": {
            "max_concurrent_agents": snapshot.limits.max_concurrent_agents,
            "by_state": dict(snapshot.limits.by_state),
        },
        "running": (
            running if running is not None else [running_row_json(r) for r in snapshot.running]
        ),
        "retrying": [retry_row_json(row) for row in snapshot.retrying],
        "blocked": [blocked_row_json(row) for row in snapshot.blocked],
        "held": [held_row_json(row) for row in snapshot.held],
        "workers": [worker_host_json(row) for row in snapshot.workers],
        "codex_totals": {
            "input_tokens": totals.input_tokens,
            "output_tokens": totals.output_tokens,
            "total_tokens": totals.total_tokens,
            "seconds_running": totals.seconds_running,
            "cost_usd": cost_json(totals.cost_usd),
        },
        "budget": day_budget_json(snapshot.budget),
        "agent_problem": agent_problem_json(snapshot.agent_problem),
        "rate_limits": dict(snapshot.rate_limits) if snapshot.rate_limits is not None else None,
        "workflow": {
            "path": workflow.path,
            "version": workflow.version,
            "loaded_at": format_timestamp(workflow.loaded_at),
            "warnings": list(workflow.warnings),
            "error": problem_json(workflow.error),
        },
        "tracker": {
            "kind": tracker.kind,
            "last_poll_at": format_timestamp(tracker.last_poll_at),
            "error": problem_json(tracker.error),
        },
        "polling": {
            "interval_ms": polling.interval_ms,
            "next_poll_at": format_timestamp(polling.next_poll_at),
            "checking": polling.checking,
        },
    }


def log_file_json(log: LogFile) -> dict[str, Any]:
    return {"label": log.label, "path": log.path, "url": log.url}


def timeline_event_json(event: TimelineEvent) -> dict[str, Any]:
    return {"at": format_timestamp(event.at), "event": event.event, "message": event.message}


def _pick(row: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {key: row[key] for key in keys}


def detail_running_json(row: RunningRow) -> dict[str, Any]:
    return _pick(running_row_json(row), DETAIL_RUNNING_FIELDS)


def issue_detail_json(detail: IssueDetail) -> dict[str, Any]:
    """``GET /api/v1/<identifier>`` (before display fields)."""
    return {
        "issue_identifier": detail.issue_identifier,
        "issue_id": detail.issue_id,
        "status": detail.status,
        "workspace": {"path": detail.workspace_path},
        "attempts": {
            "restart_count": detail.restart_count,
            "current_retry_attempt": detail.current_retry_attempt,
        },
        "running": detail_running_json(detail.running) if detail.running is not None else None,
        "retry": (
            _pick(retry_row_json(detail.retry), DETAIL_RETRY_FIELDS)
            if detail.retry is not None
            else None
        ),
        "blocked": (
            _pick(blocked_row_json(detail.blocked), DETAIL_BLOCKED_FIELDS)
            if detail.blocked is not None
            else None
        ),
        "logs": {"codex_session_logs": [log_file_json(log) for log in detail.logs]},
        "recent_events": [timeline_event_json(event) for event in detail.recent_events],
        "last_error": detail.last_error,
        "tracked": {"issue_url": detail.issue_url},
        "pending_requests": [request_json(r) for r in detail.pending_requests],
        "history": [history_run_json(run) for run in detail.history],
        "hold": hold_json(detail.hold),
        "candidates": [dict(c) for c in detail.candidates],
    }


def history_run_json(run: HistoryRun) -> dict[str, Any]:
    return {
        "attempt": run.attempt,
        "started_at": format_timestamp(run.started_at),
        "ended_at": format_timestamp(run.ended_at),
        "outcome": run.outcome,
        "error": run.error,
        "thread_id": run.thread_id,
        "turns": run.turns,
        "tokens": tokens_json(run.tokens),
        "session_ids": list(run.session_ids),
        "workspace_path": run.workspace_path,
        "worker_host": run.worker_host,
        "cost_usd": cost_json(run.cost_usd),
        "requests": [request_json(request) for request in run.requests],
        "steers": [steer_json(steer) for steer in run.steers],
    }


def steer_json(steer: SteerRecord) -> dict[str, Any]:
    """One steer message: ``POST /api/v1/<identifier>/steer`` and ``history[].steers``."""
    return {
        "id": steer.id,
        "issue_identifier": steer.issue_identifier,
        "message": steer.message,
        "delivery": steer.delivery,
        "at": format_timestamp(steer.at),
    }


def request_json(record: RequestRecord) -> dict[str, Any]:
    """One human request: ``GET /api/v1/<identifier>`` ``pending_requests`` and
    ``GET /api/v1/requests``; ``status``/``decision``/``answers`` tell how it ended."""
    request = record.request
    answer = record.answer
    return {
        "id": record.id,
        "issue_id": record.issue_id,
        "issue_identifier": record.issue_identifier,
        "attempt": record.attempt,
        "kind": request.kind,
        "summary": request.summary,
        "command": request.command,
        "cwd": request.cwd,
        "reason": request.reason,
        "diff": request.diff,
        "questions": [question_fields(q) for q in request.questions],
        "created_at": format_timestamp(record.created_at),
        "status": record.status,
        "decision": answer.decision if answer is not None and request.kind != "question" else None,
        "answers": shown_answers(record),
        "answered_at": format_timestamp(record.answered_at),
    }


def agent_activity_json(activity: AgentActivity) -> dict[str, Any]:
    """The event stream's ``agent_event`` (before display fields); ``tokens`` only when known."""
    rendered: dict[str, Any] = {
        "issue_id": activity.issue_id,
        "issue_identifier": activity.issue_identifier,
        "session_id": activity.session_id,
        "at": format_timestamp(activity.at),
        "event": activity.event,
        "message": activity.message,
    }
    if activity.tokens is not None:
        rendered["tokens"] = dict(activity.tokens)
    return rendered
