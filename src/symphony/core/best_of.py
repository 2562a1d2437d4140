"""Best of K in the scheduling core (docs/best-of.md).

An issue dispatched with K > 1 (``agent.best_of`` or its ``best-of:K`` label) gets an
``OpenCandidates`` entry: it stays claimed while its candidates work. Each candidate runs as its
own running entry keyed ``<issue id>/<name>``, so it counts as one agent against the global and
per-state limits; the candidates that find no free slot wait (``pending``) and start as slots
free up, before any new issue. A candidate ends by handing off or by failing (a failure marks it
failed: it is not retried); once all have, the runtime judges them (``JudgeCandidates``) and
reports ``CandidatesJudged``, which releases the issue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from symphony.core import outage, parked, policy
from symphony.core.candidates import CandidateRef, CandidateSet, OpenCandidates, best_of
from symphony.core.effects import (
    Effect,
    ForgetCandidates,
    JudgeCandidates,
    Log,
    Notify,
    RecordRunStarted,
    SaveCandidates,
    StartWorker,
)
from symphony.core.events import CandidatePicked, CandidatesJudged, WorkerExited
from symphony.core.records import end_run
from symphony.core.state import OrchestratorState, RunningEntry
from symphony.issue import Issue

NO_HAND_OFF = "ended without calling symphony_hand_off"


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
        if candidate.status != "pending":
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
    entry = RunningEntry(
        issue=issue,
        run_id=run_id,
        attempt=opened.attempt,
        started_ms=now,
        agent_kind=state.config.agent_kind,
        candidate=ref,
    )
    state.running[entry.run_key] = entry
    opened.candidates = opened.candidates.with_candidate(ref.name, status="running")
    outage.dispatched(state, run_id)
    out.append(RecordRunStarted(run_id, issue.id, issue.identifier, issue.url, opened.attempt, now))
    # A candidate a restart cut short continues its thread in its workspace.
    resume = opened.candidates.candidates[index].thread_id
    out.append(StartWorker(issue, opened.attempt, run_id, resume, candidate=ref))
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
    else:
        error = f"worker exited: {event.error or 'unknown error'}"
        end_run(state, entry, now, outcome="failed", error=error, out=out)
    handed_off = event.handed_off if event.ok else None
    ended(state, entry, handed_off, event.error if not event.ok else NO_HAND_OFF, now, out)


def ended(
    state: OrchestratorState,
    entry: RunningEntry,
    handed_off: str | None,
    error: str | None,
    now: float,
    out: list[Effect],
) -> None:
    """Record how the candidate of ``entry`` ended, start waiting ones in the freed slot, and
    ask for judging once every candidate has ended."""
    opened = state.candidate_sets.get(entry.issue.id)
    if opened is None or entry.candidate is None:
        return
    name = entry.candidate.name
    changes: dict[str, object] = {
        "workspace_path": entry.workspace_path,
        "thread_id": entry.thread_id,
        "tokens": entry.tokens.total_tokens,
        "cost_usd": entry.cost_usd,
    }
    if handed_off is not None:
        changes.update(status="handed_off", summary=handed_off)
        out.append(Log.info("candidate handed off", about=entry.issue, candidate=name))
    else:
        changes.update(status="failed", error=error or NO_HAND_OFF)
        out.append(Log.warning("candidate failed", about=entry.issue, candidate=name, error=error))
    opened.candidates = opened.candidates.with_candidate(name, **changes)
    if opened.candidates.all_ended and not opened.judging:
        opened.judging = True
        out.append(JudgeCandidates(opened.issue, opened.candidates))
        out.append(Log.info("judging candidates", about=entry.issue))
    out.append(SaveCandidates(opened.candidates))
    fill(state, now, out)
    out.append(Notify())


def judged(
    state: OrchestratorState, event: CandidatesJudged, now: float, out: list[Effect]
) -> None:
    opened = state.candidate_sets.pop(event.issue_id, None)
    if opened is None:
        return
    out.append(SaveCandidates(event.candidates))
    if event.moved:
        # Watched like any issue released with its workspace kept: closing it later removes
        # the candidates' workspaces while the service runs.
        parked.park(state, opened.issue, None, now, out)
    out.append(
        Log.info("candidates judged", about=opened.issue, moved_to_review=event.moved)
        if event.moved
        else Log.warning("candidates judged, the issue could not be moved", about=opened.issue)
    )
    out.append(Notify())


def drop(state: OrchestratorState, issue_id: str, reason: str, out: list[Effect]) -> None:
    """The issue left the active states while its candidates worked: forget the set (its
    running candidates are stopped by the caller)."""
    opened = state.candidate_sets.pop(issue_id, None)
    if opened is None:
        return
    out.append(ForgetCandidates(issue_id))
    out.append(Log.info("candidates dropped", about=opened.issue, reason=reason))


def restore(state: OrchestratorState, sets: tuple[CandidateSet, ...], out: list[Effect]) -> None:
    """Candidate sets a restart cut short go on: running candidates wait for a slot again (and
    continue their threads), a set whose candidates all ended is judged now. The issue is
    known only by id until the next poll reads it (``refresh``)."""
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
            opened.judging = True
            out.append(JudgeCandidates(issue, restarted))


def refresh(state: OrchestratorState, fetched: Sequence[Issue], out: list[Effect]) -> None:
    """A poll's active issues: open sets with no candidate running take the issue as read
    now; one whose issue is no longer among them is dropped (its running candidates, if any,
    are reconciled like every run)."""
    by_id = {issue.id: issue for issue in fetched}
    busy = {e.issue.id for e in state.running.values() if e.candidate is not None}
    for issue_id, opened in list(state.candidate_sets.items()):
        if opened.judging or issue_id in busy:
            continue
        issue = by_id.get(issue_id)
        if issue is None:
            drop(state, issue_id, "issue is no longer active", out)
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
