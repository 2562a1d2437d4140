"""The shared moves of the scheduling core: dispatch, stop, schedule a retry (SPEC §8.4, §16.4).

Every transition that starts or ends a run goes through these, so claims, totals, history and the
matching effects always change together.
"""

from __future__ import annotations

from typing import Any

from symphony.core import best_of, blocked, outage, parked, policy, workers
from symphony.core.effects import (
    CancelRetryTimer,
    Effect,
    ForgetResume,
    ForgetRetry,
    Log,
    RecordRetry,
    RecordRunStarted,
    StartWorker,
    StopWorker,
)
from symphony.core.events import FetchError
from symphony.core.records import end_run, remember_retry, timed_retry
from symphony.core.state import (
    OrchestratorState,
    Problem,
    RetryEntry,
    RetryKind,
    RunningEntry,
    RunOutcome,
)
from symphony.issue import Issue

Effects = list[Effect]


def dispatch(
    state: OrchestratorState,
    issue: Issue,
    attempt: int | None,
    now: float,
    out: Effects,
    *,
    preferred_host: str | None = None,
) -> None:
    """Start a run. With worker hosts the caller made sure one has room (``workers.has_room``)."""
    count = best_of.count_for(state, issue)
    if count > 1:
        _dispatch_candidates(state, issue, count, attempt, now, out)
        return
    host = workers.pick(state, now, preferred_host) if workers.enabled(state) else None
    run_id = state.next_run_id
    state.next_run_id += 1
    # A cut-short run's issue dispatched by any path continues that run's thread.
    resume = state.resumable.pop(issue.id, None)
    resume_thread = resume.thread_id if resume is not None else None
    if resume is not None:
        attempt = resume.attempt  # not a failure: the run goes on as the same attempt
    state.running[issue.id] = RunningEntry(
        issue=issue,
        run_id=run_id,
        attempt=attempt,
        started_ms=now,
        resume_thread_id=resume_thread,
        agent_kind=state.config.agent_kind,
        worker_host=host,
    )
    outage.dispatched(state, run_id)
    if state.retry_attempts.pop(issue.id, None) is not None:
        out.append(CancelRetryTimer(issue.id))
        out.append(ForgetRetry(issue.id))
    if resume is not None:
        out.append(ForgetResume(issue.id))
    parked.unpark(state, issue.id)
    blocked.forget(state, issue.id)
    out.append(RecordRunStarted(run_id, issue.id, issue.identifier, issue.url, attempt, now))
    out.append(StartWorker(issue, attempt, run_id, resume_thread, host))
    out.append(
        Log.info(
            "dispatching issue",
            about=issue,
            state=issue.state,
            attempt=attempt,
            run_id=run_id,
            **({"resume_thread_id": resume_thread} if resume_thread else {}),
            **({"worker_host": host} if host else {}),
        )
    )


def _dispatch_candidates(
    state: OrchestratorState,
    issue: Issue,
    count: int,
    attempt: int | None,
    now: float,
    out: Effects,
) -> None:
    """Best of K (docs/best-of.md): the issue's claim moves from its retry to its candidates."""
    if state.resumable.pop(issue.id, None) is not None:
        out.append(ForgetResume(issue.id))
    if state.retry_attempts.pop(issue.id, None) is not None:
        out.append(CancelRetryTimer(issue.id))
        out.append(ForgetRetry(issue.id))
    parked.unpark(state, issue.id)
    blocked.forget(state, issue.id)
    best_of.start(state, issue, count, attempt, now, out)


def stop(
    state: OrchestratorState,
    entry: RunningEntry,
    *,
    cleanup: bool,
    reason: str,
    now: float,
    out: Effects,
    outcome: RunOutcome = "canceled",
) -> None:
    end_run(state, entry, now, outcome=outcome, error=reason, out=out, note_error=not cleanup)
    outage.run_ended(state, entry.run_id)
    issue = entry.issue
    out.append(
        StopWorker(
            entry.run_key, issue.identifier, entry.run_id, cleanup, reason, entry.workspace_path
        )
    )
    out.append(
        Log.info(
            "stopping agent",
            about=issue,
            session_id=entry.session_id,
            reason=reason,
            cleanup_workspace=cleanup,
        )
    )


def stop_and_release(
    state: OrchestratorState,
    entry: RunningEntry,
    cleanup: bool,
    reason: str,
    now: float,
    out: Effects,
) -> None:
    stop(state, entry, cleanup=cleanup, reason=reason, now=now, out=out)
    out.append(
        Log.info(
            "claim released",
            about=entry.issue,
            reason=reason,
        )
    )


def reconcile(
    state: OrchestratorState, entry: RunningEntry, issue: Issue | None, now: float, out: Effects
) -> None:
    """SPEC §8.5 part B for one running entry, given its refreshed issue (None: not visible)."""
    config = state.config
    if entry.candidate is not None:
        _reconcile_candidate(state, entry, issue, now, out)
        return
    if issue is None:
        stop_and_release(state, entry, False, "issue no longer visible", now, out)
    elif policy.is_terminal(issue, config):
        entry.issue = issue
        stop_and_release(state, entry, True, f"issue is {issue.state}", now, out)
    elif entry.handing_off or (
        not policy.is_active(issue, config) and policy.in_review(issue, config)
    ):
        # A hand-off: the worker sees it at the end of the turn, collects the proof and runs
        # hooks.verify, which may send the issue back (docs/orchestrator.md, hand-offs).
        entry.issue = issue
    elif not policy.is_active(issue, config):
        entry.issue = issue
        stop_and_release(state, entry, False, f"issue is {issue.state}", now, out)
        parked.park(state, issue, entry.workspace_path, now, out)
    elif not policy.is_routable(issue, config):
        entry.issue = issue
        stop_and_release(state, entry, False, "issue no longer routable", now, out)
        parked.park(state, issue, entry.workspace_path, now, out)
        blocked.observe(state, issue, now, out)
    else:
        entry.issue = issue


def _reconcile_candidate(
    state: OrchestratorState, entry: RunningEntry, issue: Issue | None, now: float, out: Effects
) -> None:
    """Candidates keep the issue where it is; one that a person moved elsewhere (or closed)
    stops every candidate and drops the set. A terminal issue takes their workspaces along."""
    config = state.config
    if issue is not None and policy.is_active(issue, config) and policy.is_routable(issue, config):
        entry.issue = issue
        opened = state.candidate_sets.get(issue.id)
        if opened is not None:
            opened.issue = issue
        return
    reason = "issue no longer visible" if issue is None else f"issue is {issue.state}"
    terminal = issue is not None and policy.is_terminal(issue, config)
    if issue is not None:
        entry.issue = issue
    stop_and_release(state, entry, terminal, reason, now, out)
    best_of.drop(state, entry.issue.id, reason, out)


def schedule_retry(
    state: OrchestratorState,
    target: Issue | RetryEntry,
    attempt: int,
    kind: RetryKind,
    error: str | None,
    *,
    now: float,
    out: Effects,
    worker_host: str | None = None,
    delay_ms: float | None = None,
) -> None:
    """``delay_ms`` overrides the SPEC §8.4 delay of ``kind`` (an outage's own backoff)."""
    if isinstance(target, Issue):
        issue_id, identifier, url = target.id, target.identifier, target.url
    else:
        issue_id, identifier, url = target.issue_id, target.identifier, target.issue_url
    if delay_ms is not None:
        delay = delay_ms
    elif kind == "continuation":
        delay = float(policy.CONTINUATION_DELAY_MS)
    else:
        delay = float(policy.failure_delay_ms(attempt, state.config.max_retry_backoff_ms))
    entry = timed_retry(
        state,
        issue_id,
        issue_id=issue_id,
        identifier=identifier,
        issue_url=url,
        attempt=attempt,
        due_ms=now + delay,
        delay_ms=delay,
        out=out,
        kind=kind,
        error=error,
        worker_host=worker_host,
    )
    state.retry_attempts[issue_id] = entry
    remember_retry(state, entry)
    out.append(
        RecordRetry(issue_id, identifier, url, attempt, entry.due_ms, kind, error, worker_host)
    )
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


def tracker_read_failed(
    state: OrchestratorState,
    error: FetchError,
    message: str,
    now: float,
    out: Effects,
    **fields: Any,
) -> None:
    """A tracker read failed: the tracker's problem (shown until a read succeeds), logged once."""
    state.tracker_error = Problem(error.code, error.message, now)
    out.append(Log.warning(message, code=error.code, error=error.message, **fields))
