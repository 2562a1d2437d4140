"""Typed views of the core state for observability (SPEC §13.3, §13.7.2).

The types live in ``symphony.view`` and their JSON in ``symphony.view_json``. The core keeps
monotonic milliseconds; these functions turn them into wall-clock instants relative to one
``(mono_now, wall_now)`` pair, so a single snapshot is internally consistent even if the wall
clock jumps.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import overload

from symphony import view
from symphony.core import best_of, workers
from symphony.core.blocked import display_key
from symphony.core.state import (
    BlockedIssue,
    Hold,
    IssueRecord,
    OrchestratorState,
    Phase,
    RecentEvent,
    RetryEntry,
    RunningEntry,
    RunRecord,
    TokenCounts,
)


@dataclass(frozen=True, slots=True)
class Instant:
    """One reading of both clocks; everything in a snapshot is expressed relative to it."""

    mono_ms: float
    wall: datetime
    # The wall-clock epoch seconds at monotonic zero, as this reading sees it.
    epoch_s: float = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "epoch_s", self.wall.timestamp() - self.mono_ms / 1000.0)

    @overload
    def at(self, mono_ms: float) -> datetime: ...

    @overload
    def at(self, mono_ms: float | None) -> datetime | None: ...

    def at(self, mono_ms: float | None) -> datetime | None:
        if mono_ms is None:
            return None
        if self.wall.tzinfo is not UTC:
            return self.wall - timedelta(milliseconds=self.mono_ms - mono_ms)
        # Half the cost of subtracting a timedelta: a snapshot converts every row's instants.
        return datetime.fromtimestamp(self.epoch_s + mono_ms / 1000.0, UTC)


def seconds_running(state: OrchestratorState, now_ms: float) -> float:
    """Ended sessions plus live ones (SPEC §13.3): a live session counts while it runs."""
    live = sum(max(now_ms - e.started_ms, 0.0) for e in state.running.values()) / 1000.0
    return round(state.totals.ended_seconds + live, 3)


def tokens(counts: TokenCounts) -> view.Tokens:
    return view.Tokens(counts.input_tokens, counts.output_tokens, counts.total_tokens)


def running_row(entry: RunningEntry, now: Instant) -> view.RunningRow:
    issue = entry.issue
    return view.RunningRow(
        issue_id=issue.id,
        issue_identifier=issue.identifier,
        issue_url=issue.url,
        title=issue.title,
        state=issue.state,
        session_id=entry.session_id,
        thread_id=entry.thread_id,
        turn_count=entry.turn_count,
        pid=entry.pid,
        attempt=entry.attempt,
        last_event=entry.last_event,
        last_message=entry.last_message,
        started_at=now.at(entry.started_ms),
        last_event_at=now.at(entry.last_event_ms),
        workspace_path=entry.workspace_path,
        tokens=tokens(entry.tokens),
        pending_request_count=entry.pending_requests,
        agent_kind=entry.agent_kind,
        model=entry.model,
        # To the millionth the API shows (``view_json.cost_json``), so a row needs no copy.
        cost_usd=round(entry.cost_usd, 6) if entry.cost_usd is not None else None,
        worker_host=entry.worker_host,
        candidate=entry.candidate.name if entry.candidate is not None else None,
    )


def retry_row(entry: RetryEntry, now: Instant) -> view.RetryRow:
    return view.RetryRow(
        issue_id=entry.issue_id,
        issue_identifier=entry.identifier,
        issue_url=entry.issue_url,
        attempt=entry.attempt,
        due_at=now.at(entry.due_ms),
        due_in_ms=max(int(entry.due_ms - now.mono_ms), 0),
        error=entry.error,
        kind=entry.kind,
        worker_host=entry.worker_host,
        candidate=entry.candidate,
    )


def blocked_row(row: BlockedIssue, now: Instant) -> view.BlockedRow:
    issue = row.issue
    return view.BlockedRow(
        issue_id=issue.id,
        issue_identifier=issue.identifier,
        issue_url=issue.url,
        title=issue.title,
        state=issue.state,
        reason=row.reason,
        blocked_by=tuple(view.Blocker(b.identifier, b.state) for b in row.blockers),
        blocked_at=now.at(row.since_ms),
    )


def held_row(hold: Hold, now: Instant) -> view.HeldRow:
    return view.HeldRow(
        issue_id=hold.issue_id,
        issue_identifier=hold.identifier,
        issue_url=hold.issue_url,
        reason=hold.reason,
        message=hold.message,
        since=now.at(hold.since_ms),
    )


def build_snapshot(
    state: OrchestratorState,
    now: Instant,
    *,
    workflow: view.WorkflowStatus,
    tracker_kind: str | None,
) -> view.Snapshot:
    config = state.config
    running = sorted(state.running.values(), key=lambda e: e.started_ms)
    retrying = sorted(
        [*state.retry_attempts.values(), *best_of.retry_rows(state)], key=lambda e: e.due_ms
    )
    blocked = sorted(state.blocked.values(), key=display_key)
    tracker_error = state.tracker_error
    totals = state.totals.tokens
    return view.Snapshot(
        generated_at=now.at(now.mono_ms),
        counts=view.Counts(
            running=len(running),
            retrying=len(retrying),
            blocked=len(blocked) + state.blocked_beyond,
            held=len(state.holds),
        ),
        limits=view.Limits(
            max_concurrent_agents=config.max_concurrent_agents,
            by_state=dict(config.max_concurrent_agents_by_state),
        ),
        running=tuple(running_row(e, now) for e in running),
        retrying=tuple(retry_row(e, now) for e in retrying),
        blocked=tuple(blocked_row(e, now) for e in blocked),
        agent_problem=(
            view.AgentProblem(
                code=outage.code,
                message=outage.message,
                since=now.at(outage.since_ms),
                failures=outage.failures,
                next_attempt_at=None if outage.due else now.at(outage.retry_ms),
            )
            if (outage := state.outage) is not None
            else None
        ),
        budget=view.DayBudget(
            day=state.day,
            cost_usd=state.day_cost_usd,
            max_cost_usd_per_day=config.max_cost_usd_per_day,
            dispatch_paused=state.dispatch_paused,
        ),
        codex_totals=view.CodexTotals(
            input_tokens=totals.input_tokens,
            output_tokens=totals.output_tokens,
            total_tokens=totals.total_tokens,
            seconds_running=seconds_running(state, now.mono_ms),
            cost_usd=state.totals.cost_usd,
        ),
        rate_limits=dict(state.rate_limits) if state.rate_limits is not None else None,
        workflow=workflow,
        tracker=view.TrackerStatus(
            kind=tracker_kind,
            last_poll_at=now.at(state.last_poll_ms),
            error=(
                view.Problem(tracker_error.code, tracker_error.message, now.at(tracker_error.at_ms))
                if tracker_error is not None
                else None
            ),
        ),
        polling=view.Polling(
            interval_ms=config.poll_interval_ms,
            next_poll_at=now.at(state.next_tick_ms),
            checking=state.phase is not Phase.IDLE,
        ),
        held=tuple(
            held_row(h, now) for h in sorted(state.holds.values(), key=lambda h: h.since_ms)
        ),
        workers=worker_rows(state, now),
    )


def worker_rows(state: OrchestratorState, now: Instant) -> tuple[view.WorkerHost, ...]:
    """Every configured worker host with its load and health (empty without hosts)."""
    counts = workers.load(state)
    rows = []
    for host in state.config.worker_hosts:
        down = workers.is_down(state, host, now.mono_ms)
        health = state.hosts.get(host) if down else None
        rows.append(
            view.WorkerHost(
                host=host,
                running=counts[host],
                capacity=state.config.max_agents_per_host,
                status="down" if down else "up",
                error=health.error if health is not None else None,
                down_until=now.at(health.down_until_ms) if health is not None else None,
            )
        )
    return tuple(rows)


def _events(events: Iterable[RecentEvent], now: Instant) -> tuple[view.TimelineEvent, ...]:
    return tuple(view.TimelineEvent(now.at(e.at_ms), e.event, e.message) for e in events)


def log_files(paths: Iterable[tuple[str, str]]) -> tuple[view.LogFile, ...]:
    return tuple(view.LogFile(label, path) for label, path in paths)


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
) -> view.IssueDetail | None:
    running = next((e for e in state.running.values() if e.issue.identifier == identifier), None)
    retry = next((e for e in state.retry_attempts.values() if e.identifier == identifier), None)
    record: IssueRecord | None = state.history.get(identifier)
    held = (
        next((b for b in state.blocked.values() if b.issue.identifier == identifier), None)
        if running is None and retry is None
        else None
    )
    hold = next((h for h in state.holds.values() if h.identifier == identifier), None)
    if running is None and retry is None and record is None and held is None and hold is None:
        record = _parked_record(state, identifier)
        if record is None:
            return None
    status: view.IssueStatus
    if running is not None:
        issue_id, status = running.issue.id, "running"
    elif retry is not None:
        issue_id, status = retry.issue_id, "retrying"
    elif held is not None:
        issue_id, status = held.issue.id, "blocked"
    elif hold is not None:
        issue_id, status = hold.issue_id, "held"
    else:
        assert record is not None
        issue_id, status = record.issue_id, "idle" if record.restored else "released"
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
    last_error = (retry.error if retry is not None else None) or (
        record.last_error if record is not None else None
    )
    if running is not None:
        issue_url = running.issue.url
    elif retry is not None:
        issue_url = retry.issue_url
    elif held is not None:
        issue_url = held.issue.url
    elif hold is not None:
        issue_url = hold.issue_url
    else:
        issue_url = record.issue_url if record is not None else None
    return view.IssueDetail(
        issue_identifier=identifier,
        issue_id=issue_id,
        status=status,
        workspace_path=workspace,
        restart_count=record.runs if record is not None else 0,
        current_retry_attempt=current_attempt,
        running=running_row(running, now) if running is not None else None,
        retry=retry_row(retry, now) if retry is not None else None,
        blocked=blocked_row(held, now) if held is not None else None,
        logs=log_files(log_paths),
        recent_events=_events(recent, now),
        last_error=last_error,
        issue_url=issue_url,
        history=tuple(history_run(r, now) for r in record.runs_history) if record else (),
        hold=held_row(hold, now) if hold is not None else None,
    )


def history_run(run: RunRecord, now: Instant) -> view.HistoryRun:
    return view.HistoryRun(
        attempt=run.attempt,
        started_at=now.at(run.started_ms),
        ended_at=now.at(run.ended_ms),
        outcome=run.outcome,
        error=run.error,
        thread_id=run.thread_id,
        turns=run.turns,
        tokens=view.Tokens(run.input_tokens, run.output_tokens, run.total_tokens),
        session_ids=run.session_ids,
        workspace_path=run.workspace_path,
        worker_host=run.worker_host,
        run_id=run.run_id,
        cost_usd=run.cost_usd,
    )
