"""Core transitions driven by workers and retry timers (SPEC §7.3, §16.6).

Worker reports (workspace info, agent events, exits) and the retry path (timer fired, issue
re-fetched by id). Stale inputs, from a stopped run or a superseded timer, change nothing.
"""

from __future__ import annotations

from typing import Any

from symphony.core import best_of, blocked, budgets, outage, parked, policy, workers
from symphony.core.effects import (
    FetchRetryIssue,
    ForgetRetry,
    Log,
    Notify,
    RecordRunProgress,
    RemoveWorkspaces,
)
from symphony.core.events import (
    AgentUpdate,
    HandingOff,
    HumanRequestsChanged,
    RetryDue,
    RetryIssueFetched,
    WorkerExited,
    WorkerInfo,
)
from symphony.core.records import end_run
from symphony.core.state import OrchestratorState, RecentEvent, RetryEntry, RunOutcome
from symphony.core.tokens import apply_usage
from symphony.core.transitions import Effects, dispatch, schedule_retry
from symphony.issue import Issue
from symphony.text import clip

NO_SLOTS_ERROR = "no available orchestrator slots"
MESSAGE_LIMIT = 500


def worker_info(state: OrchestratorState, event: WorkerInfo, _now: float, _out: Effects) -> None:
    entry = state.running.get(event.issue_id)
    if entry is not None and entry.run_id == event.run_id:
        entry.workspace_path = event.workspace_path
        entry.log_paths = event.log_paths


def agent_update(state: OrchestratorState, event: AgentUpdate, now: float, out: Effects) -> None:
    entry = state.running.get(event.issue_id)
    if entry is None or entry.run_id != event.run_id:
        return
    if event.model and event.model != entry.model:
        entry.model = event.model
    grew = False
    if event.usage is not None or event.cost_usd is not None:
        price = state.config.prices.get(entry.model) if entry.model is not None else None
        cost_before = state.totals.cost_usd
        grew = apply_usage(
            entry,
            state.totals,
            event.usage,
            thread_id=event.thread_id,
            price=price,
            reported_cost=event.cost_usd,
        )
        if state.totals.cost_usd != cost_before:
            state.day_cost_usd += state.totals.cost_usd - cost_before
            budgets.check_day(state, out)
    if event.rate_limits:
        state.rate_limits = event.rate_limits
    if event.session_id and event.session_id != entry.session_id:
        if state.outage is not None:
            outage.run_started(state, out)  # an agent session started: agents work again
        # SPEC §4.1.6: turns started in this worker's lifetime; one session id per turn.
        entry.session_id = event.session_id
        entry.session_ids.append(event.session_id)
        entry.turn_count += 1
    if event.turn_id:
        entry.turn_id = event.turn_id
    if (event.thread_id and event.thread_id != entry.thread_id) or (
        event.pid and event.pid != entry.pid
    ):
        # Once per run (twice at most): what a restart needs to kill the agent and resume.
        entry.thread_id = event.thread_id or entry.thread_id
        entry.pid = event.pid or entry.pid
        out.append(RecordRunProgress(entry.run_id, entry.pid, entry.thread_id))
        if entry.candidate is not None:
            best_of.thread_known(state, entry, out)
    message = event.message
    if message is not None and len(message) > MESSAGE_LIMIT:
        message = clip(message, MESSAGE_LIMIT)
    entry.last_event = event.event
    entry.last_message = message
    entry.last_event_ms = now
    entry.recent.append(RecentEvent(now, event.event, message))
    if grew and budgets.limited(state):
        budgets.check(state, entry, now, out)


def human_requests_changed(
    state: OrchestratorState, event: HumanRequestsChanged, now: float, out: Effects
) -> None:
    entry = state.running.get(event.issue_id)
    if entry is None or entry.run_id != event.run_id or entry.pending_requests == event.pending:
        return
    if not event.pending:
        # The stall clock restarts when the last answer goes out, not from the last event.
        entry.last_event_ms = now
    entry.pending_requests = event.pending
    out.append(Notify())


def handing_off(state: OrchestratorState, event: HandingOff, now: float, out: Effects) -> None:
    entry = state.running.get(event.issue_id)
    if entry is None or entry.run_id != event.run_id or entry.handing_off == event.active:
        return
    entry.handing_off = event.active
    if not event.active:
        # The stall clock restarts when the agent gets the turn back.
        entry.last_event_ms = now
    out.append(Log.info("issue handing off" if event.active else "hand-off over", entry.issue))
    out.append(Notify())


def worker_exited(state: OrchestratorState, event: WorkerExited, now: float, out: Effects) -> None:
    entry = state.running.get(event.issue_id)
    if entry is None or entry.run_id != event.run_id:
        return  # a worker we already stopped; its exit changes nothing
    issue = entry.issue
    if state.outage is not None and (
        event.ok or (not event.environment and state.outage.probe_run == entry.run_id)
    ):
        # A run went through, or the probe got past the problem to fail otherwise: agents
        # start again (what else went wrong is that issue's, retried as usual).
        outage.run_started(state, out)
    if entry.candidate is not None:
        best_of.candidate_exited(state, entry, event, now, out)
        return
    if event.ok:
        end_run(state, entry, now, outcome="succeeded", error=None, out=out)
        state.completed.add(issue.id)
        out.append(Log.info("agent run completed", issue, session_id=entry.session_id))
        if not state.shutting_down:
            schedule_retry(
                state,
                issue,
                1,
                "continuation",
                None,
                now=now,
                out=out,
                worker_host=entry.worker_host,
            )
    else:
        error = f"worker exited: {event.error or 'unknown error'}"
        outcome: RunOutcome = "timed_out" if event.code in policy.TIMEOUT_CODES else "failed"
        end_run(state, entry, now, outcome=outcome, error=error, out=out)
        attempt = (entry.attempt or 0) + 1
        if event.code == workers.HOST_UNREACHABLE and entry.worker_host is not None:
            # The retry goes to another host that is up; this one rests for its cooldown.
            workers.mark_down(state, entry.worker_host, event.error, now, out)
        if event.environment and entry.worker_host is None and not state.shutting_down:
            # Shown once as the agent problem; the issue's retry row only points at it. (On a
            # worker host the same problem is that host's: its runs fail and retry as usual.)
            current = outage.run_failed(state, event.code, event.error or error, now, out)
            out.append(Log.info("agent run failed", issue, code=event.code))
            waiting = outage.waiting_error(current)
            delay = outage.retry_delay_ms(current, now)
            schedule_retry(
                state, issue, attempt, "failure", waiting, now=now, out=out, delay_ms=delay
            )
        else:
            out.append(Log.warning("agent run failed", issue, error=event.error))
            if not state.shutting_down:
                schedule_retry(
                    state,
                    issue,
                    attempt,
                    "failure",
                    error,
                    now=now,
                    out=out,
                    worker_host=entry.worker_host,
                )
    out.append(Notify())


def retry_due(state: OrchestratorState, event: RetryDue, now: float, out: Effects) -> None:
    entry = state.retry_attempts.get(event.issue_id)
    if entry is None and not state.shutting_down:
        best_of.retry_due(state, event, now, out)  # a candidate's, or a move to review
        return
    if state.shutting_down or entry is None or entry.token != event.token or entry.fetching:
        return  # stale timer: a newer retry or a dispatch replaced it
    entry.fetching = True
    out.append(FetchRetryIssue(event.issue_id, event.token))


def retry_fetched(
    state: OrchestratorState, event: RetryIssueFetched, now: float, out: Effects
) -> None:
    entry = state.retry_attempts.get(event.issue_id)
    if entry is None or entry.token != event.token or not entry.fetching:
        return
    entry.fetching = False
    config = state.config
    outage.open_if_due(state, now)
    fields: dict[str, Any] = {"issue_id": entry.issue_id, "issue_identifier": entry.identifier}
    if event.error is not None:
        _requeue(state, entry, None, f"retry refresh failed: {event.error.message}", now, out)
        return
    issue = next((i for i in event.issues if i.id == entry.issue_id), None)
    if entry.issue_id in state.holds:
        _release_retry(state, entry, "the issue is held", out)
    elif issue is None:
        _release_retry(state, entry, "issue no longer visible", out)
    elif policy.is_terminal(issue, config):
        _release_retry(state, entry, f"issue is {issue.state}", out)
        path = parked.recorded_path(state, entry.identifier)
        recorded = ((issue.id, path),) if path is not None else ()
        out.append(RemoveWorkspaces(((issue.id, entry.identifier),), recorded))
    elif not policy.is_candidate(issue, config):
        _release_retry(state, entry, f"issue is {issue.state} and no longer eligible", out)
        parked.park(state, issue, parked.recorded_path(state, entry.identifier), now, out)
        blocked.observe(state, issue, now, out)
    elif state.config_error is not None:
        _requeue(state, entry, issue, "dispatch blocked: the workflow file is invalid", now, out)
    elif state.dispatch_paused:
        _requeue(state, entry, issue, budgets.DAY_PAUSED_ERROR, now, out)
    elif state.outage is not None and policy.global_slots(state) == 0:
        current = state.outage
        schedule_retry(
            state,
            issue,
            entry.attempt,
            entry.kind,
            outage.waiting_error(current),
            now=now,
            out=out,
            worker_host=entry.worker_host,
            delay_ms=outage.retry_delay_ms(current, now),
        )
    elif policy.global_slots(state) == 0 or not policy.state_slot_free(state, issue):
        _requeue(state, entry, issue, NO_SLOTS_ERROR, now, out)
    elif not workers.has_room(state, now):
        _requeue(state, entry, issue, workers.NO_WORKER_CAPACITY_ERROR, now, out)
    else:
        out.append(Log.info("retry dispatch", **fields, attempt=entry.attempt))
        dispatch(state, issue, entry.attempt, now, out, preferred_host=entry.worker_host)
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
    schedule_retry(
        state,
        target,
        entry.attempt + 1,
        "failure",
        error,
        now=now,
        out=out,
        worker_host=entry.worker_host,
    )


def _release_retry(state: OrchestratorState, entry: RetryEntry, reason: str, out: Effects) -> None:
    del state.retry_attempts[entry.issue_id]
    out.append(ForgetRetry(entry.issue_id))
    out.append(
        Log.info(
            "claim released",
            issue_id=entry.issue_id,
            issue_identifier=entry.identifier,
            reason=reason,
        )
    )
