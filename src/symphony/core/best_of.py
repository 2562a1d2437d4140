"""Best of K in the scheduling core (docs/best-of.md).

An issue dispatched with K > 1 (``agent.best_of`` or its ``best-of:K`` label) gets an
``OpenCandidates`` entry: it stays claimed while its candidates work. Each candidate runs as its
own running entry keyed ``<issue id>/<name>``, so it counts as one agent against the global and
per-state limits; the candidates that find no free slot wait (``pending``) and start as slots
free up, before any new issue.

A candidate whose run fails is retried like a run (the failure backoff, its workspace, its
thread) up to ``agent.candidate_max_retries`` times, then marked failed; an agents-cannot-start
failure goes through the outage (``core.outage``) and costs it no attempt. A candidate ends by
handing off or by failing; once all have, the runtime judges them (``JudgeCandidates``) and
reports ``CandidatesJudged``, which releases the issue once it moved to review (a refused move
is tried again, bounded). A set whose candidates all failed has nothing to review: the issue
is retried as a whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from symphony.core import outage, parked, policy
from symphony.core.candidates import CandidateRef, CandidateSet, best_of
from symphony.core.effects import (
    AnnounceCandidatesFailed,
    CancelRetryTimer,
    Effect,
    ForgetCandidates,
    JudgeCandidates,
    Log,
    Notify,
    PublishCandidates,
    RecordRunStarted,
    SaveCandidates,
    StartWorker,
)
from symphony.core.events import CandidatePicked, CandidatesJudged, RetryDue, WorkerExited
from symphony.core.records import end_run, timed_retry
from symphony.core.state import (
    Hold,
    OpenCandidates,
    OrchestratorState,
    Phase,
    RetryEntry,
    RunningEntry,
    RunOutcome,
    run_key,
)
from symphony.issue import Issue

NO_HAND_OFF = "ended without calling symphony_hand_off"
# Moving a judged issue to review: tries before the issue is held for a person to move it.
MAX_PUBLISH_FAILURES = 10
REVIEW_MOVE_FAILED = "review_move_failed"


def start(
    state: OrchestratorState,
    issue: Issue,
    count: int,
    attempt: int | None,
    now: float,
    out: list[Effect],
) -> None:
    """Open the issue's candidate set and start as many candidates as slots allow."""
    opened = OpenCandidates(issue, attempt, CandidateSet.start(issue.id, issue.identifier, count))
    state.candidate_sets[issue.id] = opened
    out.append(Log.info("best of K: candidates opened", about=issue, candidates=count))
    _fill_one(state, opened, now, out)
    out.append(SaveCandidates(opened.candidates))


def fill(state: OrchestratorState, now: float, out: list[Effect]) -> None:
    """Start the waiting candidates of open sets while slots are free (oldest set first)."""
    for opened in list(state.candidate_sets.values()):
        if policy.global_slots(state) == 0:
            return
        before = opened.candidates
        _fill_one(state, opened, now, out)
        if opened.candidates is not before:
            out.append(SaveCandidates(opened.candidates))


def _fill_one(
    state: OrchestratorState, opened: OpenCandidates, now: float, out: list[Effect]
) -> None:
    if opened.judging:
        return
    for candidate in opened.candidates.candidates:
        if candidate.status != "pending" or candidate.name in opened.retries:
            continue
        if policy.global_slots(state) == 0 or not policy.state_slot_free(state, opened.issue):
            return
        _start_candidate(state, opened, candidate.index, now, out)


def _start_candidate(
    state: OrchestratorState, opened: OpenCandidates, index: int, now: float, out: list[Effect]
) -> None:
    issue = opened.issue
    ref = CandidateRef.of(index, opened.candidates.count)
    run_id = state.next_run_id
    state.next_run_id += 1
    # A rerun after a failure is that candidate's attempt; a first run is the issue's.
    attempt = opened.candidates.candidates[index].attempt or opened.attempt
    entry = RunningEntry(
        issue=issue,
        run_id=run_id,
        attempt=attempt,
        started_ms=now,
        agent_kind=state.config.agent_kind,
        candidate=ref,
    )
    state.running[entry.run_key] = entry
    opened.candidates = opened.candidates.with_candidate(ref.name, status="running")
    outage.dispatched(state, run_id)
    out.append(RecordRunStarted(run_id, issue.id, issue.identifier, issue.url, attempt, now))
    # A candidate a restart or a failure cut short continues its thread in its workspace.
    resume = opened.candidates.candidates[index].thread_id
    out.append(StartWorker(issue, attempt, run_id, resume, candidate=ref))
    out.append(
        Log.info(
            "dispatching candidate",
            about=issue,
            candidate=ref.name,
            run_id=run_id,
        )
    )


def thread_known(state: OrchestratorState, entry: RunningEntry, out: list[Effect]) -> None:
    """Keep a running candidate's thread (and workspace) with its set: a restart continues it."""
    opened = state.candidate_sets.get(entry.issue.id)
    if opened is None or entry.candidate is None:
        return
    opened.candidates = opened.candidates.with_candidate(
        entry.candidate.name, thread_id=entry.thread_id, workspace_path=entry.workspace_path
    )
    out.append(SaveCandidates(opened.candidates))


def candidate_exited(
    state: OrchestratorState,
    entry: RunningEntry,
    event: WorkerExited,
    now: float,
    out: list[Effect],
) -> None:
    if event.ok:
        end_run(state, entry, now, outcome="succeeded", error=None, out=out)
        # Ending its turns (agent.max_turns) without handing off is no failure to retry: the
        # agent worked and stopped; running it again would only continue that.
        ended(state, entry, event.handed_off, NO_HAND_OFF, now, out)
        return
    error = f"worker exited: {event.error or 'unknown error'}"
    outcome: RunOutcome = "timed_out" if event.code in policy.TIMEOUT_CODES else "failed"
    end_run(state, entry, now, outcome=outcome, error=error, out=out)
    if event.environment and entry.worker_host is None and not state.shutting_down:
        # This machine's problem, not the candidate's: shown once, dispatch backs off and one
        # run probes (core.outage); the candidate waits without losing an attempt.
        current = outage.run_failed(state, event.code, event.error or error, now, out)
        out.append(Log.info("candidate run failed", about=entry.issue, code=event.code))
        delay = outage.retry_delay_ms(current, now)
        _wait(state, entry, outage.waiting_error(current), delay, now, out)
        fill(state, now, out)
        out.append(Notify())
        return
    failed(state, entry, event.error or "unknown error", now, out)


def failed(
    state: OrchestratorState, entry: RunningEntry, error: str, now: float, out: list[Effect]
) -> None:
    """The candidate's run failed (its worker, a stall, a timeout): it runs again after the
    failure backoff, in its workspace and on its thread, until agent.candidate_max_retries
    reruns failed too; then it is marked failed and the others go on."""
    opened = state.candidate_sets.get(entry.issue.id)
    if opened is None or entry.candidate is None:
        return
    name = entry.candidate.name
    current = opened.candidates.get(name)
    attempt = (current.attempt if current is not None else 0) + 1
    if attempt > state.config.candidate_max_retries or state.shutting_down:
        ended(state, entry, None, error, now, out)
        return
    opened.candidates = opened.candidates.with_candidate(name, attempt=attempt)
    delay = float(policy.failure_delay_ms(attempt, state.config.max_retry_backoff_ms))
    out.append(
        Log.warning(
            "candidate failed, retrying",
            about=entry.issue,
            candidate=name,
            attempt=attempt,
            delay_ms=int(delay),
            error=error,
        )
    )
    _wait(state, entry, error, delay, now, out)
    fill(state, now, out)
    out.append(Notify())


def _used(opened: OpenCandidates, entry: RunningEntry) -> dict[str, object]:
    """What the candidate of ``entry`` is known by after its run: where it works, its thread,
    and what all its runs used together."""
    assert entry.candidate is not None
    before = opened.candidates.get(entry.candidate.name)
    tokens = (before.tokens if before is not None else 0) + entry.tokens.total_tokens
    costs = [c for c in (before.cost_usd if before else None, entry.cost_usd) if c is not None]
    return {
        "workspace_path": entry.workspace_path or (before.workspace_path if before else None),
        "thread_id": entry.thread_id or (before.thread_id if before else None),
        "tokens": tokens,
        "cost_usd": sum(costs) if costs else None,
    }


def _wait(
    state: OrchestratorState,
    entry: RunningEntry,
    error: str,
    delay: float,
    now: float,
    out: list[Effect],
) -> None:
    """The candidate of ``entry`` waits ``delay`` ms (pending, taking no slot), then for a slot;
    its retry row shows in the state API with its name."""
    opened = state.candidate_sets.get(entry.issue.id)
    if opened is None or entry.candidate is None:
        return
    name = entry.candidate.name
    issue = opened.issue
    opened.candidates = opened.candidates.with_candidate(
        name, status="pending", error=error, **_used(opened, entry)
    )
    waiting = opened.candidates.get(name)
    opened.retries[name] = timed_retry(
        state,
        run_key(issue.id, name),
        issue_id=issue.id,
        identifier=issue.identifier,
        issue_url=issue.url,
        attempt=waiting.attempt if waiting is not None else 0,
        due_ms=now + delay,
        delay_ms=delay,
        out=out,
        kind="failure",
        error=error,
        candidate=name,
    )
    out.append(SaveCandidates(opened.candidates))


def retry_due(state: OrchestratorState, event: RetryDue, now: float, out: list[Effect]) -> None:
    """A candidate's backoff is over (it starts when a slot is free), or a judged issue's move
    to review is tried again. A stale timer (its set dropped, a newer retry) changes nothing."""
    for opened in list(state.candidate_sets.values()):
        publish = opened.publish_retry
        if publish is not None and publish.token == event.token:
            opened.publish_retry = None
            out.append(PublishCandidates(opened.issue, opened.candidates))
            out.append(Log.info("moving judged candidates to review again", about=opened.issue))
            out.append(Notify())
            return
        for name, entry in list(opened.retries.items()):
            if entry.token == event.token:
                del opened.retries[name]
                outage.open_if_due(state, now)
                fill(state, now, out)
                out.append(Notify())
                return


def ended(
    state: OrchestratorState,
    entry: RunningEntry,
    handed_off: str | None,
    error: str | None,
    now: float,
    out: list[Effect],
) -> None:
    """Record how the candidate of ``entry`` ended, start waiting ones in the freed slot, and
    once every candidate has ended ask for judging (or, when none handed off, retry the issue
    as a whole)."""
    opened = state.candidate_sets.get(entry.issue.id)
    if opened is None or entry.candidate is None:
        return
    name = entry.candidate.name
    changes = _used(opened, entry)
    if handed_off is not None:
        changes.update(status="handed_off", summary=handed_off, error=None)
        out.append(Log.info("candidate handed off", about=entry.issue, candidate=name))
    else:
        changes.update(status="failed", error=error or NO_HAND_OFF)
        out.append(Log.warning("candidate failed", about=entry.issue, candidate=name, error=error))
    opened.candidates = opened.candidates.with_candidate(name, **changes)
    if opened.candidates.all_ended and not opened.judging:
        if opened.candidates.any_handed_off:
            opened.judging = True
            out.append(JudgeCandidates(opened.issue, opened.candidates))
            out.append(Log.info("judging candidates", about=entry.issue))
        else:
            all_failed(state, opened, now, out)
            fill(state, now, out)
            out.append(Notify())
            return
    out.append(SaveCandidates(opened.candidates))
    fill(state, now, out)
    out.append(Notify())


def all_failed(
    state: OrchestratorState, opened: OpenCandidates, now: float, out: list[Effect]
) -> None:
    """No candidate handed off: nothing to review, nothing moves. The failure is logged and
    commented on the issue (one comment, replaced by a later round's), and the issue is retried
    as a whole, a new set after the failure backoff (its workspaces are kept, like a failed
    run's)."""
    # Imported here: transitions imports this module to dispatch candidates.
    from symphony.core.transitions import schedule_retry

    issue = opened.issue
    state.candidate_sets.pop(issue.id, None)
    _cancel_retries(opened, out)
    attempt = (opened.attempt or 0) + 1
    delay = policy.failure_delay_ms(attempt, state.config.max_retry_backoff_ms)
    summary = opened.candidates.failure_summary()
    out.append(ForgetCandidates(issue.id))
    out.append(
        Log.warning(
            "every candidate failed, retrying the issue",
            about=issue,
            attempt=attempt,
            delay_ms=delay,
            errors=summary,
        )
    )
    out.append(AnnounceCandidatesFailed(issue, opened.candidates, attempt, delay))
    schedule_retry(
        state,
        issue,
        attempt,
        "failure",
        f"every candidate failed ({summary})",
        now=now,
        out=out,
    )


def judged(
    state: OrchestratorState, event: CandidatesJudged, now: float, out: list[Effect]
) -> None:
    opened = state.candidate_sets.get(event.issue_id)
    if opened is None or not opened.judging:
        return
    if not event.moved:
        _publish_failed(state, opened, event, now, out)
        return
    del state.candidate_sets[event.issue_id]
    if state.phase is Phase.FETCHING_CANDIDATES:
        state.moved_mid_poll.add(event.issue_id)
    # Judged even when judging itself failed: in review, its candidates can be picked.
    out.append(SaveCandidates(replace(event.candidates, judged=True)))
    # Watched like any issue released with its workspace kept: closing it later removes
    # the candidates' workspaces while the service runs.
    parked.park(state, opened.issue, None, now, out)
    out.append(Log.info("candidates judged", about=opened.issue, moved_to_review=True))
    out.append(Notify())


def _publish_failed(
    state: OrchestratorState,
    opened: OpenCandidates,
    event: CandidatesJudged,
    now: float,
    out: list[Effect],
) -> None:
    """The tracker did not move the judged issue to review. Releasing it would start a new set
    at the next poll, so the judged set stays and the move is tried again with the failure
    backoff; after MAX_PUBLISH_FAILURES tries the issue is held for a person to move it (its
    candidates stay pickable)."""
    # Imported here: holds imports this module to drop the sets of held issues.
    from symphony.core import holds

    opened.candidates = event.candidates
    opened.publish_failures += 1
    failures = opened.publish_failures
    error = event.error or "the tracker did not move the issue"
    issue = opened.issue
    if failures >= MAX_PUBLISH_FAILURES:
        del state.candidate_sets[issue.id]
        # Judged in the store: the Review view offers them; the hold keeps a new set away.
        out.append(SaveCandidates(event.candidates))
        message = (
            f"moving it to review failed {failures} times (last: {error}); its judged "
            "candidates are kept: move the issue to review by hand and pick one in the Review "
            "view, or release the hold to start a new set"
        )
        out.append(Log.error("candidates judged, moving the issue to review failed", about=issue))
        # Watched like a judged issue: closing it removes the candidates' workspaces.
        parked.park(state, issue, None, now, out)
        holds.place(
            state,
            Hold(issue.id, issue.identifier, REVIEW_MOVE_FAILED, message, now, issue.url),
            out,
        )
        return
    # Not judged in the store yet: a restart judges the set again and moves it then.
    out.append(SaveCandidates(replace(event.candidates, judged=False)))
    delay = float(policy.failure_delay_ms(failures, state.config.max_retry_backoff_ms))
    waiting = (
        f"moving to review failed ({error}); try {failures + 1} of {MAX_PUBLISH_FAILURES} "
        "follows, the judged candidates wait"
    )
    opened.publish_retry = timed_retry(
        state,
        _publish_key(issue.id),
        issue_id=issue.id,
        identifier=issue.identifier,
        issue_url=issue.url,
        attempt=failures,
        due_ms=now + delay,
        delay_ms=delay,
        out=out,
        kind="failure",
        error=waiting,
        publish=True,
    )
    out.append(
        Log.error(
            "candidates judged, moving the issue to review failed; trying again",
            about=issue,
            error=error,
            failures=failures,
            delay_ms=int(delay),
        )
    )
    out.append(Notify())


def _publish_key(issue_id: str) -> str:
    # Not a run key: candidate names are letters only.
    return f"{issue_id}#review"


def _cancel_retries(opened: OpenCandidates, out: list[Effect]) -> None:
    for name in opened.retries:
        out.append(CancelRetryTimer(run_key(opened.issue.id, name)))
    opened.retries.clear()
    if opened.publish_retry is not None:
        out.append(CancelRetryTimer(_publish_key(opened.issue.id)))
        opened.publish_retry = None


def retry_rows(state: OrchestratorState) -> list[RetryEntry]:
    """The waiting candidates' retries and the judged issues' moves to review, for the
    snapshot's ``retrying``."""
    rows: list[RetryEntry] = []
    for opened in state.candidate_sets.values():
        rows.extend(opened.retries.values())
        if opened.publish_retry is not None:
            rows.append(opened.publish_retry)
    return rows


def shutdown(state: OrchestratorState, out: list[Effect]) -> None:
    """The store keeps the sets (a waiting candidate starts at the first poll after a restart,
    its attempt kept); their timers go."""
    for opened in state.candidate_sets.values():
        _cancel_retries(opened, out)


def drop(state: OrchestratorState, issue_id: str, reason: str, out: list[Effect]) -> None:
    """The issue left the active states while its candidates worked: forget the set (its
    running candidates are stopped by the caller)."""
    opened = state.candidate_sets.pop(issue_id, None)
    if opened is None:
        return
    _cancel_retries(opened, out)
    out.append(ForgetCandidates(issue_id))
    out.append(Log.info("candidates dropped", about=opened.issue, reason=reason))


def restore(
    state: OrchestratorState, sets: tuple[CandidateSet, ...], now: float, out: list[Effect]
) -> None:
    """Candidate sets a restart cut short go on: running and waiting candidates wait for a
    slot again (and continue their threads, their attempts kept), a set whose candidates all
    ended is judged now (or retried as a whole when none handed off). The issue is known only
    by id until the next poll reads it (``refresh``)."""
    for candidates in sets:
        restarted = CandidateSet(
            candidates.issue_id,
            candidates.identifier,
            tuple(
                replace(c, status="pending") if c.status == "running" else c
                for c in candidates.candidates
            ),
        )
        issue = Issue(
            id=candidates.issue_id,
            identifier=candidates.identifier,
            title=candidates.identifier,
            state="",
            dispatchable=True,
            summary=True,  # the worker reads the whole issue before it starts
        )
        opened = OpenCandidates(issue, None, restarted)
        state.candidate_sets[candidates.issue_id] = opened
        out.append(Log.info("candidates restored", about=issue))
        if restarted.all_ended:
            if restarted.any_handed_off:
                opened.judging = True
                out.append(JudgeCandidates(issue, restarted))
            else:
                all_failed(state, opened, now, out)


def refresh(state: OrchestratorState, fetched: Sequence[Issue], out: list[Effect]) -> None:
    """A poll's active issues: open sets with no candidate running take the issue as read
    now; one whose issue is no longer among them is dropped (its running candidates, if any,
    are reconciled like every run)."""
    if not state.candidate_sets:
        return
    by_id = {issue.id: issue for issue in fetched}
    busy = {e.issue.id for e in state.running.values() if e.candidate is not None}
    for issue_id in list(state.candidate_sets):
        if issue_id not in busy:
            refreshed(state, issue_id, by_id.get(issue_id), out)


def refreshed(
    state: OrchestratorState, issue_id: str, issue: Issue | None, out: list[Effect]
) -> None:
    """The issue of a set with no candidate running, as just read (None: not among the
    active ones): it takes the issue, or is dropped once the issue is no longer wanted. A set
    being judged is left to its judging."""
    opened = state.candidate_sets.get(issue_id)
    if opened is None or opened.judging:
        return
    if issue is None or not policy.still_wanted(issue, state.config):
        reason = "issue is no longer active" if issue is None else f"issue is {issue.state}"
        drop(state, issue_id, reason, out)
    else:
        opened.issue = issue


def count_for(state: OrchestratorState, issue: Issue) -> int:
    """K for ``issue``: its best-of:K label, else agent.best_of; 1 once a candidate of it was
    picked."""
    if issue.id in state.picked:
        return 1
    return best_of(issue, state.config.best_of).count


def picked(state: OrchestratorState, event: CandidatePicked, out: list[Effect]) -> None:
    state.picked.add(event.issue_id)
    out.append(Log.info("candidate picked", issue_id=event.issue_id, candidate=event.name))
