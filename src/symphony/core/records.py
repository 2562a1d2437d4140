"""Bookkeeping shared by the core's transitions: ending a run, and per-issue history.

History keeps what an operator needs after a worker ended (workspace, logs, last error, recent
events) for ``issue_detail``; it is bounded so a long-lived service does not grow without limit.
"""

from __future__ import annotations

from typing import Any

from symphony.core.effects import Effect, RecordRunEnded, SetRetryTimer
from symphony.core.state import (
    HISTORY_LIMIT,
    IssueRecord,
    OrchestratorState,
    RetryEntry,
    RunningEntry,
    RunOutcome,
    RunRecord,
    Spend,
)


def record_for(state: OrchestratorState, issue_id: str, identifier: str) -> IssueRecord:
    record = state.history.get(identifier)
    if record is None:
        record = IssueRecord(issue_id=issue_id, identifier=identifier)
        state.history[identifier] = record
        if len(state.history) > HISTORY_LIMIT:
            state.history.popitem(last=False)
    else:
        state.history.move_to_end(identifier)
    record.restored = False
    return record


def end_run(
    state: OrchestratorState,
    entry: RunningEntry,
    now: float,
    *,
    outcome: RunOutcome,
    error: str | None,
    out: list[Effect],
    note_error: bool = True,
) -> None:
    """Remove the running entry, fold its runtime into the totals (SPEC §13.5), add the run to
    the issue's history and have the store record it. ``error`` says why the run ended (None
    only for ``succeeded``); ``note_error`` makes it the issue's last error too (a stop for a
    terminal issue is no error of the issue's)."""
    issue = entry.issue
    state.running.pop(entry.run_key, None)
    runtime_ms = max(now - entry.started_ms, 0.0)
    state.totals.ended_seconds += runtime_ms / 1000.0
    spend = state.spent.setdefault(issue.id, Spend())
    spend.tokens += entry.tokens.total_tokens
    spend.runtime_ms += runtime_ms
    spend.cost_usd += entry.cost_usd or 0.0
    if outcome != "succeeded" and not error:
        error = outcome.replace("_", " ")
    tokens = entry.tokens
    run = RunRecord(
        run_id=entry.run_id,
        attempt=entry.attempt,
        started_ms=entry.started_ms,
        ended_ms=now,
        outcome=outcome,
        error=error if outcome != "succeeded" else None,
        thread_id=entry.thread_id,
        session_ids=tuple(entry.session_ids),
        turns=entry.turn_count,
        input_tokens=tokens.input_tokens,
        output_tokens=tokens.output_tokens,
        total_tokens=tokens.total_tokens,
        workspace_path=entry.workspace_path,
        cost_usd=entry.cost_usd,
        worker_host=entry.worker_host,
    )
    out.append(RecordRunEnded(issue.id, issue.identifier, run, resume=outcome == "interrupted"))
    record = record_for(state, issue.id, issue.identifier)
    record.runs_history.append(run)
    record.issue_url = issue.url
    record.state = issue.state
    record.runs += 1
    if entry.workspace_path is not None:
        record.workspace_path = entry.workspace_path
    if entry.log_paths:
        record.log_paths = entry.log_paths
    if entry.recent:
        record.recent = tuple(entry.recent)
    if note_error and error is not None:
        record.last_error = error


def remember_retry(state: OrchestratorState, entry: RetryEntry) -> None:
    record = record_for(state, entry.issue_id, entry.identifier)
    record.issue_url = entry.issue_url or record.issue_url
    if entry.error is not None:
        record.last_error = entry.error


def timed_retry(
    state: OrchestratorState,
    timer_key: str,
    *,
    issue_id: str,
    identifier: str,
    issue_url: str | None,
    attempt: int,
    due_ms: float,
    delay_ms: float,
    out: list[Effect],
    **fields: Any,
) -> RetryEntry:
    """A retry entry due at ``due_ms`` with a fresh token, and the timer (``timer_key``) that
    fires it ``delay_ms`` from now; the caller files the entry where its kind of retry lives.
    ``fields``: the rest of ``RetryEntry`` (``kind``, ``error``, ``worker_host``,
    ``candidate``, ``publish``)."""
    token = state.take_retry_token()
    out.append(SetRetryTimer(timer_key, token, delay_ms))
    return RetryEntry(
        issue_id=issue_id,
        identifier=identifier,
        attempt=attempt,
        due_ms=due_ms,
        token=token,
        issue_url=issue_url,
        **fields,
    )
