"""The scheduling core: ``decide(state, event, now) -> (state, effects)`` (SPEC §7, §8, §16).

Sans-IO: no awaits, no clock reads, no IO. ``now`` is monotonic milliseconds chosen by the caller.
``decide`` takes ownership of ``state`` and returns it updated (mutating in place keeps a busy
fleet's thousands of agent events per second cheap); every IO need comes back as an effect.

The tick is a small chain (SPEC §8.1, §16.2): ``TickDue`` -> stall check -> ``FetchRunningIssues``
-> ``RunningRefreshed`` (reconcile) -> preflight -> ``FetchCandidates`` -> ``CandidatesFetched``
(dispatch) -> ``ScheduleTick``. Results are matched to their request by ``tick_id`` / retry
``token`` / worker ``run_id``, so a late or stale answer is ignored instead of acting twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from symphony.issue import Issue
from symphony.orchestrator import policy
from symphony.orchestrator.effects import (
    AckRefresh,
    CancelRetryTimer,
    Effect,
    FetchCandidates,
    FetchRetryIssue,
    FetchRunningIssues,
    FetchTerminalIssues,
    Log,
    Notify,
    RemoveWorkspaces,
    ScheduleTick,
    SetRetryTimer,
    StartWorker,
    StopWorker,
)
from symphony.orchestrator.events import (
    AgentUpdate,
    CandidatesFetched,
    ConfigChanged,
    Event,
    RefreshRequested,
    RetryDue,
    RetryIssueFetched,
    RunningRefreshed,
    ShutdownRequested,
    Started,
    TerminalIssuesFetched,
    TickDue,
    WorkerExited,
    WorkerInfo,
)
from symphony.orchestrator.records import end_run, remember_retry
from symphony.orchestrator.state import (
    OrchestratorState,
    Phase,
    Problem,
    RecentEvent,
    RetryEntry,
    RetryKind,
    RunningEntry,
)
from symphony.orchestrator.tokens import apply_usage

NO_SLOTS_ERROR = "no available orchestrator slots"
MESSAGE_LIMIT = 500

Effects = list[Effect]


def decide(
    state: OrchestratorState, event: Event, now: float
) -> tuple[OrchestratorState, list[Effect]]:
    effects: Effects = []
    _HANDLERS[type(event)](state, event, now, effects)
    return state, effects


# --- startup (SPEC §8.6, §16.1) -------------------------------------------------------------


def _started(state: OrchestratorState, _event: Any, now: float, out: Effects) -> None:
    if state.started:
        return
    state.started = True
    states = state.config.terminal_state_names
    if states:
        out.append(FetchTerminalIssues(states))
    else:
        _startup_done(state, now, out)


def _terminal_fetched(
    state: OrchestratorState, event: TerminalIssuesFetched, now: float, out: Effects
) -> None:
    if not state.started or state.next_tick_ms is not None or state.tick_id:
        return
    if event.error is not None:
        out.append(
            Log.warning(
                "startup terminal cleanup skipped, tracker read failed",
                code=event.error.code,
                error=event.error.message,
            )
        )
    else:
        stale = tuple(
            (i.id, i.identifier)
            for i in event.issues
            if policy.is_terminal(i, state.config) and not state.is_claimed(i.id)
        )
        if stale:
            out.append(RemoveWorkspaces(stale))
        out.append(Log.info("startup terminal cleanup", terminal_issues=len(stale)))
    _startup_done(state, now, out)


def _startup_done(state: OrchestratorState, now: float, out: Effects) -> None:
    state.next_tick_ms = now
    out.append(ScheduleTick(0))


# --- the tick (SPEC §8.1, §16.2, §16.3) -----------------------------------------------------


def _tick_due(state: OrchestratorState, _event: Any, now: float, out: Effects) -> None:
    if state.shutting_down or not state.started or state.phase is not Phase.IDLE:
        return
    state.tick_id += 1
    state.next_tick_ms = None
    _reconcile_stalls(state, now, out)
    if state.running:
        state.phase = Phase.RECONCILING
        state.reconcile_runs = {i: e.run_id for i, e in state.running.items()}
        out.append(FetchRunningIssues(state.tick_id, tuple(state.reconcile_runs)))
    else:
        _begin_dispatch(state, now, out)


def _reconcile_stalls(state: OrchestratorState, now: float, out: Effects) -> None:
    timeout = state.config.stall_timeout_ms
    if timeout <= 0:
        return
    stalled = [e for e in state.running.values() if now - e.activity_ms > timeout]
    for entry in stalled:
        elapsed = int(now - entry.activity_ms)
        error = f"stalled for {elapsed} ms without agent activity"
        _stop(state, entry, cleanup=False, reason=error, now=now, out=out)
        _schedule_retry(
            state, entry.issue, (entry.attempt or 0) + 1, "failure", error, now=now, out=out
        )


def _running_refreshed(
    state: OrchestratorState, event: RunningRefreshed, now: float, out: Effects
) -> None:
    if event.tick_id != state.tick_id or state.phase is not Phase.RECONCILING:
        return
    asked, state.reconcile_runs = state.reconcile_runs, {}
    if event.error is not None:
        state.tracker_error = Problem(event.error.code, event.error.message, now)
        out.append(
            Log.warning(
                "running issue refresh failed, keeping workers",
                code=event.error.code,
                error=event.error.message,
            )
        )
    else:
        state.tracker_error = None
        fresh = {issue.id: issue for issue in event.issues}
        config = state.config
        for issue_id, run_id in asked.items():
            entry = state.running.get(issue_id)
            if entry is None or entry.run_id != run_id:
                continue  # ended while the refresh was in flight
            issue = fresh.get(issue_id)
            if issue is None:
                _stop_and_release(state, entry, False, "issue no longer visible", now, out)
            elif policy.is_terminal(issue, config):
                entry.issue = issue
                _stop_and_release(state, entry, True, f"issue is {issue.state}", now, out)
            elif not policy.is_active(issue, config):
                entry.issue = issue
                _stop_and_release(state, entry, False, f"issue is {issue.state}", now, out)
            elif not policy.is_routable(issue, config):
                entry.issue = issue
                _stop_and_release(state, entry, False, "issue no longer routable", now, out)
            else:
                entry.issue = issue
    _begin_dispatch(state, now, out)


def _begin_dispatch(state: OrchestratorState, now: float, out: Effects) -> None:
    """SPEC §6.3 preflight, then the candidate poll when a slot is free."""
    if state.config_error is not None:
        out.append(Log.warning("dispatch skipped, workflow is invalid", error=state.config_error))
        _finish_tick(state, now, out)
    elif not state.config.active_state_names or policy.global_slots(state) == 0:
        _finish_tick(state, now, out)
    else:
        state.phase = Phase.FETCHING_CANDIDATES
        out.append(FetchCandidates(state.tick_id, state.config.active_state_names))


def _candidates_fetched(
    state: OrchestratorState, event: CandidatesFetched, now: float, out: Effects
) -> None:
    if event.tick_id != state.tick_id or state.phase is not Phase.FETCHING_CANDIDATES:
        return
    if event.error is not None:
        state.tracker_error = Problem(event.error.code, event.error.message, now)
        out.append(
            Log.warning(
                "candidate fetch failed, skipping dispatch",
                code=event.error.code,
                error=event.error.message,
            )
        )
    else:
        state.tracker_error = None
        state.last_poll_ms = now
        if state.config_error is None:
            _dispatch_candidates(state, event.issues, now, out)
    _finish_tick(state, now, out)


def _dispatch_candidates(state: OrchestratorState, issues: Any, now: float, out: Effects) -> None:
    config = state.config
    for issue in sorted(issues, key=policy.dispatch_sort_key):
        if policy.global_slots(state) == 0:
            break
        if state.is_claimed(issue.id) or not policy.is_candidate(issue, config):
            continue
        if policy.state_slot_free(state, issue):
            _dispatch(state, issue, None, now, out)


def _finish_tick(state: OrchestratorState, now: float, out: Effects) -> None:
    state.phase = Phase.IDLE
    state.last_tick_end_ms = now
    interval = state.config.poll_interval_ms
    state.next_tick_ms = now + interval
    out.append(ScheduleTick(interval))
    out.append(Notify())


def _refresh_requested(state: OrchestratorState, _event: Any, now: float, out: Effects) -> None:
    due_now = state.next_tick_ms is not None and state.next_tick_ms <= now
    if state.shutting_down or not state.started or state.phase is not Phase.IDLE or due_now:
        out.append(AckRefresh(coalesced=True))
        return
    state.next_tick_ms = now
    out.append(ScheduleTick(0))
    out.append(AckRefresh(coalesced=False))


# --- dispatch, exits and retries (SPEC §8.4, §16.4, §16.6) ----------------------------------


def _dispatch(
    state: OrchestratorState, issue: Issue, attempt: int | None, now: float, out: Effects
) -> None:
    run_id = state.next_run_id
    state.next_run_id += 1
    state.running[issue.id] = RunningEntry(
        issue=issue, run_id=run_id, attempt=attempt, started_ms=now
    )
    if state.retry_attempts.pop(issue.id, None) is not None:
        out.append(CancelRetryTimer(issue.id))
    out.append(StartWorker(issue, attempt, run_id))
    out.append(
        Log.info(
            "dispatching issue",
            issue_id=issue.id,
            issue_identifier=issue.identifier,
            state=issue.state,
            attempt=attempt,
            run_id=run_id,
        )
    )


def _stop(
    state: OrchestratorState,
    entry: RunningEntry,
    *,
    cleanup: bool,
    reason: str,
    now: float,
    out: Effects,
) -> None:
    end_run(state, entry, now, error=None if cleanup else reason)
    issue = entry.issue
    out.append(
        StopWorker(issue.id, issue.identifier, entry.run_id, cleanup, reason, entry.workspace_path)
    )
    out.append(
        Log.info(
            "stopping agent",
            issue_id=issue.id,
            issue_identifier=issue.identifier,
            session_id=entry.session_id,
            reason=reason,
            cleanup_workspace=cleanup,
        )
    )


def _stop_and_release(
    state: OrchestratorState,
    entry: RunningEntry,
    cleanup: bool,
    reason: str,
    now: float,
    out: Effects,
) -> None:
    _stop(state, entry, cleanup=cleanup, reason=reason, now=now, out=out)
    out.append(
        Log.info(
            "claim released",
            issue_id=entry.issue.id,
            issue_identifier=entry.issue.identifier,
            reason=reason,
        )
    )


def _schedule_retry(
    state: OrchestratorState,
    target: Issue | RetryEntry,
    attempt: int,
    kind: RetryKind,
    error: str | None,
    *,
    now: float,
    out: Effects,
) -> None:
    if isinstance(target, Issue):
        issue_id, identifier, url = target.id, target.identifier, target.url
    else:
        issue_id, identifier, url = target.issue_id, target.identifier, target.issue_url
    if kind == "continuation":
        delay = float(policy.CONTINUATION_DELAY_MS)
    else:
        delay = float(policy.failure_delay_ms(attempt, state.config.max_retry_backoff_ms))
    token = state.next_retry_token
    state.next_retry_token += 1
    entry = RetryEntry(
        issue_id=issue_id,
        identifier=identifier,
        attempt=attempt,
        due_ms=now + delay,
        token=token,
        kind=kind,
        error=error,
        issue_url=url,
    )
    state.retry_attempts[issue_id] = entry
    remember_retry(state, entry)
    out.append(SetRetryTimer(issue_id, token, delay))
    out.append(
        Log.info(
            "retry scheduled",
            issue_id=issue_id,
            issue_identifier=identifier,
            attempt=attempt,
            delay_ms=int(delay),
            kind=kind,
            error=error,
        )
    )


def _worker_info(state: OrchestratorState, event: WorkerInfo, _now: float, _out: Effects) -> None:
    entry = state.running.get(event.issue_id)
    if entry is not None and entry.run_id == event.run_id:
        entry.workspace_path = event.workspace_path
        entry.log_paths = event.log_paths


def _agent_update(state: OrchestratorState, event: AgentUpdate, now: float, _out: Effects) -> None:
    entry = state.running.get(event.issue_id)
    if entry is None or entry.run_id != event.run_id:
        return
    if event.usage:
        apply_usage(entry, state.totals, event.usage, thread_id=event.thread_id)
    if event.rate_limits:
        state.rate_limits = event.rate_limits
    if event.session_id and event.session_id != entry.session_id:
        # SPEC §4.1.6: turns started in this worker's lifetime; one session id per turn.
        entry.session_id = event.session_id
        entry.turn_count += 1
    if event.thread_id:
        entry.thread_id = event.thread_id
    if event.turn_id:
        entry.turn_id = event.turn_id
    if event.pid:
        entry.pid = event.pid
    message = event.message
    if message is not None and len(message) > MESSAGE_LIMIT:
        message = message[: MESSAGE_LIMIT - 1] + "…"
    entry.last_event = event.event
    entry.last_message = message
    entry.last_event_ms = now
    entry.recent.append(RecentEvent(now, event.event, message))


def _worker_exited(state: OrchestratorState, event: WorkerExited, now: float, out: Effects) -> None:
    entry = state.running.get(event.issue_id)
    if entry is None or entry.run_id != event.run_id:
        return  # a worker we already stopped; its exit changes nothing
    issue = entry.issue
    fields = {"issue_id": issue.id, "issue_identifier": issue.identifier}
    if event.ok:
        end_run(state, entry, now, error=None)
        state.completed.add(issue.id)
        out.append(Log.info("agent run completed", **fields, session_id=entry.session_id))
        if not state.shutting_down:
            _schedule_retry(state, issue, 1, "continuation", None, now=now, out=out)
    else:
        error = f"worker exited: {event.error or 'unknown error'}"
        end_run(state, entry, now, error=error)
        out.append(Log.warning("agent run failed", **fields, error=event.error))
        if not state.shutting_down:
            attempt = (entry.attempt or 0) + 1
            _schedule_retry(state, issue, attempt, "failure", error, now=now, out=out)
    out.append(Notify())


def _retry_due(state: OrchestratorState, event: RetryDue, _now: float, out: Effects) -> None:
    entry = state.retry_attempts.get(event.issue_id)
    if state.shutting_down or entry is None or entry.token != event.token or entry.fetching:
        return  # stale timer: a newer retry or a dispatch replaced it
    entry.fetching = True
    out.append(FetchRetryIssue(event.issue_id, event.token))


def _retry_fetched(
    state: OrchestratorState, event: RetryIssueFetched, now: float, out: Effects
) -> None:
    entry = state.retry_attempts.get(event.issue_id)
    if entry is None or entry.token != event.token or not entry.fetching:
        return
    entry.fetching = False
    config = state.config
    fields = {"issue_id": entry.issue_id, "issue_identifier": entry.identifier}
    if event.error is not None:
        _requeue(state, entry, None, f"retry refresh failed: {event.error.message}", now, out)
        return
    issue = next((i for i in event.issues if i.id == entry.issue_id), None)
    if issue is None:
        _release_retry(state, entry, "issue no longer visible", out)
    elif policy.is_terminal(issue, config):
        _release_retry(state, entry, f"issue is {issue.state}", out)
        out.append(RemoveWorkspaces(((issue.id, issue.identifier),)))
    elif not policy.is_candidate(issue, config):
        _release_retry(state, entry, f"issue is {issue.state} and no longer eligible", out)
    elif state.config_error is not None:
        _requeue(state, entry, issue, "dispatch blocked: the workflow file is invalid", now, out)
    elif policy.global_slots(state) == 0 or not policy.state_slot_free(state, issue):
        _requeue(state, entry, issue, NO_SLOTS_ERROR, now, out)
    else:
        out.append(Log.info("retry dispatch", **fields, attempt=entry.attempt))
        _dispatch(state, issue, entry.attempt, now, out)
    out.append(Notify())


def _requeue(
    state: OrchestratorState,
    entry: RetryEntry,
    issue: Issue | None,
    error: str,
    now: float,
    out: Effects,
) -> None:
    target: Issue | RetryEntry = entry if issue is None else issue
    _schedule_retry(state, target, entry.attempt + 1, "failure", error, now=now, out=out)


def _release_retry(state: OrchestratorState, entry: RetryEntry, reason: str, out: Effects) -> None:
    del state.retry_attempts[entry.issue_id]
    out.append(
        Log.info(
            "claim released",
            issue_id=entry.issue_id,
            issue_identifier=entry.identifier,
            reason=reason,
        )
    )


# --- config and shutdown (SPEC §6.2) --------------------------------------------------------


def _config_changed(
    state: OrchestratorState, event: ConfigChanged, now: float, out: Effects
) -> None:
    old_interval = state.config.poll_interval_ms
    if event.error != state.config_error:
        if event.error is None:
            out.append(Log.info("workflow valid again, dispatch resumes"))
        else:
            out.append(Log.error("workflow invalid, dispatch paused", error=event.error))
    state.config = event.config
    state.config_error = event.error
    interval = event.config.poll_interval_ms
    if (
        interval != old_interval
        and state.phase is Phase.IDLE
        and state.next_tick_ms is not None
        and state.last_tick_end_ms is not None
    ):
        # SPEC §8.1: the new cadence counts from the end of the last tick.
        delay = max(state.last_tick_end_ms + interval - now, 0.0)
        state.next_tick_ms = now + delay
        out.append(ScheduleTick(delay))
    out.append(Notify())


def _shutdown(state: OrchestratorState, _event: Any, now: float, out: Effects) -> None:
    if state.shutting_down:
        return
    state.shutting_down = True
    for entry in list(state.running.values()):
        _stop(state, entry, cleanup=False, reason="service shutting down", now=now, out=out)
    for issue_id in list(state.retry_attempts):
        out.append(CancelRetryTimer(issue_id))
    state.retry_attempts.clear()
    state.phase = Phase.IDLE
    state.next_tick_ms = None
    out.append(Notify())


_HANDLERS: dict[type[Any], Callable[[OrchestratorState, Any, float, Effects], None]] = {
    Started: _started,
    TerminalIssuesFetched: _terminal_fetched,
    TickDue: _tick_due,
    RunningRefreshed: _running_refreshed,
    CandidatesFetched: _candidates_fetched,
    RefreshRequested: _refresh_requested,
    RetryDue: _retry_due,
    RetryIssueFetched: _retry_fetched,
    WorkerInfo: _worker_info,
    AgentUpdate: _agent_update,
    WorkerExited: _worker_exited,
    ConfigChanged: _config_changed,
    ShutdownRequested: _shutdown,
}
