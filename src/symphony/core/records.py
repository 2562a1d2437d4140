"""Bookkeeping shared by the core's transitions: ending a run, and per-issue history.

History keeps what an operator needs after a worker ended (workspace, logs, last error, recent
events) for ``issue_detail``; it is bounded so a long-lived service does not grow without limit.
"""

from __future__ import annotations

from symphony.core.state import (
    HISTORY_LIMIT,
    IssueRecord,
    OrchestratorState,
    RetryEntry,
    RunningEntry,
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
    return record


def end_run(
    state: OrchestratorState, entry: RunningEntry, now: float, *, error: str | None
) -> None:
    """Remove the running entry and fold its runtime into the totals (SPEC §13.5)."""
    issue = entry.issue
    state.running.pop(issue.id, None)
    state.totals.ended_seconds += max(now - entry.started_ms, 0.0) / 1000.0
    record = record_for(state, issue.id, issue.identifier)
    record.issue_url = issue.url
    record.state = issue.state
    record.runs += 1
    if entry.workspace_path is not None:
        record.workspace_path = entry.workspace_path
    if entry.log_paths:
        record.log_paths = entry.log_paths
    if entry.recent:
        record.recent = tuple(entry.recent)
    if error is not None:
        record.last_error = error


def remember_retry(state: OrchestratorState, entry: RetryEntry) -> None:
    record = record_for(state, entry.issue_id, entry.identifier)
    record.issue_url = entry.issue_url or record.issue_url
    if entry.error is not None:
        record.last_error = entry.error
