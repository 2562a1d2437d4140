"""The scheduling core: ``decide(state, event, now) -> (state, effects)`` (SPEC §7, §8, §16).

Sans-IO: no awaits, no clock reads, no IO. ``now`` is monotonic milliseconds chosen by the caller.
``decide`` takes ownership of ``state`` and returns it updated (mutating in place keeps a busy
fleet's thousands of agent events per second cheap); every IO need comes back as an effect.

The tick is a small chain (SPEC §8.1, §16.2): ``TickDue`` -> stall check -> ``FetchRunningIssues``
-> ``RunningRefreshed`` (reconcile) -> preflight -> ``FetchCandidates`` -> ``CandidatesFetched``
(dispatch) -> ``ScheduleTick``. A tracker's change notice takes a shorter path beside it
(``IssuesChanged`` -> ``FetchChangedIssues`` -> ``ChangedIssuesFetched``, ``core/changes.py``).
Results are matched to their request by ``tick_id`` / retry ``token`` / worker ``run_id`` /
``read_id``, so a late or stale answer is ignored instead of acting twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import assert_never

from symphony.core import (
    best_of,
    blocked,
    budgets,
    changes,
    holds,
    outage,
    parked,
    policy,
    restore,
    runs,
    workers,
)
from symphony.core.effects import (
    AckRefresh,
    CancelRetryTimer,
    Effect,
    FetchCandidates,
    FetchRunningIssues,
    FetchTerminalIssues,
    Log,
    Notify,
    RemoveWorkspaces,
    ScheduleTick,
)
from symphony.core.events import (
    AgentUpdate,
    CandidatePicked,
    CandidatesFetched,
    CandidatesJudged,
    ChangedIssuesFetched,
    ConfigChanged,
    Event,
    HandingOff,
    HoldRequested,
    HumanRequestsChanged,
    IssuesChanged,
    RefreshRequested,
    ReleaseRequested,
    Restored,
    RetryDue,
    RetryIssueFetched,
    RunningRefreshed,
    ShutdownRequested,
    Started,
    TerminalIssuesFetched,
    TickDue,
    TurnMeasured,
    WorkerExited,
    WorkerInfo,
)
from symphony.core.runs import NO_SLOTS_ERROR
from symphony.core.state import OrchestratorState, Phase
from symphony.core.transitions import (
    Effects,
    dispatch,
    reconcile,
    schedule_retry,
    stop,
    tracker_read_failed,
)
from symphony.issue import Issue

__all__ = ["NO_SLOTS_ERROR", "decide"]


def decide(
    state: OrchestratorState, event: Event, now: float
) -> tuple[OrchestratorState, list[Effect]]:
    """Apply one event. An exception here means the state machine is broken: the runtime stops
    every agent and exits instead of deciding again on a half-updated state."""
    out: Effects = []
    # The hot path first: agent updates are most of the traffic of a busy fleet.
    match event:
        case AgentUpdate():
            runs.agent_update(state, event, now, out)
        case WorkerInfo():
            runs.worker_info(state, event, now, out)
        case WorkerExited():
            runs.worker_exited(state, event, now, out)
        case HumanRequestsChanged():
            runs.human_requests_changed(state, event, now, out)
        case HandingOff():
            runs.handing_off(state, event, now, out)
        case HoldRequested():
            holds.hold_requested(state, event, now, out)
        case ReleaseRequested():
            holds.release_requested(state, event, now, out)
        case TurnMeasured():
            holds.turn_measured(state, event, now, out)
        case TickDue():
            budgets.new_day(state, event.day, out)
            _tick_due(state, now, out)
        case RunningRefreshed():
            _running_refreshed(state, event, now, out)
        case CandidatesFetched():
            _candidates_fetched(state, event, now, out)
        case RetryDue():
            runs.retry_due(state, event, now, out)
        case RetryIssueFetched():
            runs.retry_fetched(state, event, now, out)
        case RefreshRequested():
            _refresh_requested(state, now, out)
        case IssuesChanged():
            changes.issues_changed(state, event, now, out)
        case ChangedIssuesFetched():
            changes.changed_fetched(state, event, now, out)
        case ConfigChanged():
            _config_changed(state, event, now, out)
        case Restored():
            restore.restored(state, event, now, out)
        case Started():
            _started(state, now, out)
        case TerminalIssuesFetched():
            _terminal_fetched(state, event, now, out)
        case ShutdownRequested():
            _shutdown(state, now, out)
        case CandidatesJudged():
            best_of.judged(state, event, now, out)
        case CandidatePicked():
            best_of.picked(state, event, out)
        case _:
            assert_never(event)
    return state, out


# --- startup (SPEC §8.6, §16.1) -------------------------------------------------------------


def _started(state: OrchestratorState, now: float, out: Effects) -> None:
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
        restore.release_terminal_retries(state, event.issues, out)
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


def _tick_due(state: OrchestratorState, now: float, out: Effects) -> None:
    if state.shutting_down or not state.started or state.phase is not Phase.IDLE:
        return
    state.tick_id += 1
    state.next_tick_ms = None
    outage.open_if_due(state, now)
    holds.forget_unclaimed(state)
    workers.forget_recovered(state, now)
    budgets.check_all(state, now, out)
    _reconcile_stalls(state, now, out)
    watched = parked.due_for_refresh(state, now, out)
    if state.running or watched:
        # Parked issues ride along on the same by-id refresh as the running ones.
        state.phase = Phase.RECONCILING
        state.reconcile_runs = {i: e.run_id for i, e in state.running.items()}
        state.reconcile_parked = watched
        # Run keys differ from issue ids for best-of candidates; the tracker is asked once each.
        ids = tuple(dict.fromkeys(e.issue.id for e in state.running.values()))
        out.append(FetchRunningIssues(state.tick_id, ids + watched))
    else:
        _begin_dispatch(state, now, out)


def _reconcile_stalls(state: OrchestratorState, now: float, out: Effects) -> None:
    timeout = state.config.stall_timeout_ms
    if timeout <= 0:
        return
    # An agent waiting on a human is not stalled; agent.human_timeout_ms bounds that wait. A
    # hand-off being verified is bounded by hooks.timeout_ms.
    stalled = [
        e
        for e in state.running.values()
        if now - e.activity_ms > timeout and not e.pending_requests and not e.handing_off
    ]
    for entry in stalled:
        elapsed = int(now - entry.activity_ms)
        error = f"stalled for {elapsed} ms without agent activity"
        stop(state, entry, cleanup=False, reason=error, now=now, out=out, outcome="stalled")
        if entry.candidate is not None:
            best_of.failed(state, entry, error, now, out)  # retried; the others go on
            continue
        schedule_retry(
            state, entry.issue, (entry.attempt or 0) + 1, "failure", error, now=now, out=out
        )


def _running_refreshed(
    state: OrchestratorState, event: RunningRefreshed, now: float, out: Effects
) -> None:
    if event.tick_id != state.tick_id or state.phase is not Phase.RECONCILING:
        return
    asked, state.reconcile_runs = state.reconcile_runs, {}
    watched, state.reconcile_parked = state.reconcile_parked, ()
    if event.error is not None:
        tracker_read_failed(
            state, event.error, "running issue refresh failed, keeping workers", now, out
        )
    else:
        state.tracker_error = None
        fresh = {issue.id: issue for issue in event.issues}
        for key, run_id in asked.items():
            entry = state.running.get(key)
            if entry is None or entry.run_id != run_id:
                continue  # ended while the refresh was in flight
            reconcile(state, entry, fresh.get(entry.issue.id), now, out)
        parked.apply_refresh(state, watched, fresh, now, out)
        for issue_id in watched:
            if issue_id in fresh:
                blocked.observe(state, fresh[issue_id], now, out)
    _begin_dispatch(state, now, out)


def _begin_dispatch(state: OrchestratorState, now: float, out: Effects) -> None:
    """SPEC §6.3 preflight, then the candidate poll when a slot is free."""
    if state.config_error is not None:
        out.append(Log.warning("dispatch skipped, workflow is invalid", error=state.config_error))
        _finish_tick(state, now, out)
    elif (
        not state.config.active_state_names
        or policy.global_slots(state) == 0
        or not workers.has_room(state, now)
    ):
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
        tracker_read_failed(
            state, event.error, "candidate fetch failed, skipping dispatch", now, out
        )
    else:
        state.tracker_error = None
        state.last_poll_ms = now
        ordered = sorted(event.issues, key=policy.dispatch_sort_key)
        holds.release_absent(state, (i.id for i in ordered), out)
        eligible, held = policy.split_candidates(ordered, state.config)
        blocked.replace_from_fetch(state, held, ordered, now, out)
        if state.config_error is None:
            best_of.refresh(state, ordered, out)
            _dispatch_candidates(state, restore.resumable_first(state, eligible), now, out)
            restore.drop_unwanted(state, eligible, out)
    _finish_tick(state, now, out)


def _dispatch_candidates(
    state: OrchestratorState, eligible: Sequence[Issue], now: float, out: Effects
) -> None:
    """``eligible`` passed ``policy.is_candidate`` and is in dispatch order (SPEC §8.2);
    waiting best-of candidates come first."""
    best_of.fill(state, now, out)
    for issue in eligible:
        if policy.global_slots(state) == 0 or not workers.has_room(state, now):
            break
        if (
            state.is_claimed(issue.id)
            or issue.id in state.holds
            or issue.id in state.moved_mid_poll
        ):
            continue
        if policy.state_slot_free(state, issue):
            dispatch(state, issue, None, now, out)


def _finish_tick(state: OrchestratorState, now: float, out: Effects) -> None:
    state.phase = Phase.IDLE
    state.moved_mid_poll.clear()
    state.last_tick_end_ms = now
    delay = 0 if state.refresh_pending else state.config.poll_interval_ms
    state.refresh_pending = False
    state.next_tick_ms = now + delay
    out.append(ScheduleTick(delay))
    out.append(Notify())


def _refresh_requested(state: OrchestratorState, now: float, out: Effects) -> None:
    """An operator's refresh or a tracker's change notice: poll now, or right after the tick
    in flight (which may have read the tracker before the change)."""
    due_now = state.next_tick_ms is not None and state.next_tick_ms <= now
    if state.phase is not Phase.IDLE and not state.shutting_down:
        state.refresh_pending = True
    if state.shutting_down or not state.started or state.phase is not Phase.IDLE or due_now:
        out.append(AckRefresh(coalesced=True))
        return
    state.next_tick_ms = now
    out.append(ScheduleTick(0))
    out.append(AckRefresh(coalesced=False))


# --- config and shutdown (SPEC §6.2) --------------------------------------------------------


def _config_changed(
    state: OrchestratorState, event: ConfigChanged, now: float, out: Effects
) -> None:
    old_interval = state.config.poll_interval_ms
    outage.retry_now(state)
    if event.error != state.config_error:
        if event.error is None:
            out.append(Log.info("workflow valid again, dispatch resumes"))
        else:
            out.append(Log.error("workflow invalid, dispatch paused", error=event.error))
    state.config = event.config
    state.config_error = event.error
    blocked.reconsider(state, out)
    holds.reconsider(state, out)
    budgets.check_day(state, out)
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


def _shutdown(state: OrchestratorState, now: float, out: Effects) -> None:
    if state.shutting_down:
        return
    state.shutting_down = True
    for entry in list(state.running.values()):
        # Not a failure: the restarted service continues the run (docs/storage.md).
        stop(
            state,
            entry,
            cleanup=False,
            reason="service shutting down",
            now=now,
            out=out,
            outcome="interrupted",
        )
    # The store keeps the retries: a restart honours their due times and attempts.
    for issue_id in list(state.retry_attempts):
        out.append(CancelRetryTimer(issue_id))
    state.retry_attempts.clear()
    best_of.shutdown(state, out)
    state.phase = Phase.IDLE
    state.next_tick_ms = None
    out.append(Notify())
