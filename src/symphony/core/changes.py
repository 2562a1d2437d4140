"""Targeted refresh: the tracker said some issues changed (a verified webhook), so just those
issues are read by id and acted on at once, instead of at the next poll.

``IssuesChanged(ids)`` -> ``FetchChangedIssues(read_id, ids)`` -> ``ChangedIssuesFetched``. The
answer reconciles running issues the way the tick does (stop, release, park, update), treats
released (parked) issues the way the tick's watch does, and dispatches eligible unclaimed ones
by the candidate rules: dispatch order, global and per-state slots, blocked reasons, never
while the workflow is invalid or the service is shutting down. Polling stays the safety net.

An answer acts only where that is safe:

* Each asked issue belongs to the newest read that asked about it. An older answer skips it,
  so a late answer never overrides a fresher one, and no answer acts twice.
* An issue whose claim changed while it was being read (a run began, or its claim was
  released) is asked again, at most ``CHANGE_ROUNDS`` times: the answer might be older than
  whatever decided that, for example a candidate poll that was in flight.
* A retrying issue is left to its retry timer, which reads it again anyway.
* An issue with best-of candidates is reconciled like the poll does it: running candidates one
  by one (one that left the active states stops them all and drops the set), a set with none
  running is dropped or takes the fresh issue; a set being judged is left to its judging.
* At most ``CHANGE_READS`` reads are in flight. Changes that arrive meanwhile wait and share
  the next read (``CHANGE_BATCH`` ids each), so a burst of webhooks costs a few tracker
  requests, not one each. An issue waits at most once, so the wait is bounded by the board.
* An issue listed as blocked by a changed issue is read too: its blocker may just have ended.
"""

from __future__ import annotations

from itertools import islice

from symphony.core import best_of, blocked, holds, parked, policy, workers
from symphony.core.effects import FetchChangedIssues, Log, Notify
from symphony.core.events import ChangedIssuesFetched, IssuesChanged
from symphony.core.state import (
    CHANGE_BATCH,
    CHANGE_READS,
    CHANGE_ROUNDS,
    ChangeRead,
    OrchestratorState,
)
from symphony.core.transitions import Effects, dispatch, reconcile, tracker_read_failed
from symphony.issue import Issue


def watches(state: OrchestratorState, issue_id: str) -> bool:
    """Whether the service holds or watches this issue: running, retrying, released with its
    workspace kept, listed as blocked, or blocking a listed issue. A change to such an issue
    matters even when the tracker's notice does not place it in the configured scope."""
    if (
        issue_id in state.running
        or issue_id in state.candidate_sets
        or issue_id in state.retry_attempts
        or issue_id in state.parked
        or issue_id in state.blocked
        or issue_id in state.holds
    ):
        return True
    return any(b.id == issue_id for row in state.blocked.values() for b in row.blockers)


def issues_changed(
    state: OrchestratorState, event: IssuesChanged, now: float, out: Effects
) -> None:
    if not state.started or state.shutting_down:
        return
    changed = set(event.issue_ids)
    asked = dict.fromkeys(event.issue_ids)
    for row in state.blocked.values():
        if any(b.id in changed for b in row.blockers):
            asked.setdefault(row.issue.id)
    for issue_id in asked:
        state.change_waiting[issue_id] = 0  # a fresh change: its rounds start again
        if issue_id in state.change_owner:
            state.change_owner[issue_id] = 0  # the read in flight predates this change
    _send(state, out)


def changed_fetched(
    state: OrchestratorState, event: ChangedIssuesFetched, now: float, out: Effects
) -> None:
    read = state.change_reads.pop(event.read_id, None)
    if read is None:
        return  # not a read in flight: already answered, or never asked
    mine = [i for i in read.issue_ids if state.change_owner.get(i) == event.read_id]
    for issue_id in mine:
        del state.change_owner[issue_id]
    if state.shutting_down:
        return
    if event.error is not None:
        tracker_read_failed(
            state,
            event.error,
            "changed issue refresh failed, the next poll covers them",
            now,
            out,
            issues=len(mine),
        )
    else:
        _apply(state, read, mine, {issue.id: issue for issue in event.issues}, now, out)
    _send(state, out)
    out.append(Notify())


def _apply(
    state: OrchestratorState,
    read: ChangeRead,
    mine: list[str],
    fresh: dict[str, Issue],
    now: float,
    out: Effects,
) -> None:
    again: list[str] = []
    watched: list[str] = []
    unclaimed: list[Issue] = []
    for issue_id in mine:
        issue = fresh.get(issue_id)
        entry = state.running.get(issue_id)
        if issue_id in state.candidate_sets:
            if not _candidates(state, read, issue_id, issue, now, out):
                again.append(issue_id)
        elif entry is not None:
            if read.runs.get(issue_id) == entry.run_id:
                reconcile(state, entry, issue, now, out)
            else:
                again.append(issue_id)  # the run began while this answer was on its way
        elif issue_id in state.retry_attempts:
            continue
        elif issue_id in read.claimed:
            again.append(issue_id)  # released meanwhile, maybe on fresher data than ours
        else:
            if issue_id in state.parked:
                watched.append(issue_id)
            if issue is not None:
                unclaimed.append(issue)
    parked.apply_refresh(state, tuple(watched), fresh, now, out)
    for issue in sorted(unclaimed, key=policy.dispatch_sort_key):
        _offer(state, issue, now, out)
    for issue_id in again:
        rounds = read.rounds.get(issue_id, 0) + 1
        if rounds > CHANGE_ROUNDS:
            out.append(
                Log.info(
                    "changed issue keeps changing claim, leaving it to the poll", issue_id=issue_id
                )
            )
        else:
            state.change_waiting.setdefault(issue_id, rounds)


def _candidates(
    state: OrchestratorState,
    read: ChangeRead,
    issue_id: str,
    issue: Issue | None,
    now: float,
    out: Effects,
) -> bool:
    """Reconcile the issue's best-of candidates with ``issue`` as read (None: not visible);
    False when a candidate began or the set opened since it was asked (ask again)."""
    if issue_id not in read.claimed:
        return False  # the set opened while this answer was on its way
    runs = [e for e in state.running.values() if e.issue.id == issue_id]
    if any(read.runs.get(e.run_key) != e.run_id for e in runs):
        return False
    for entry in runs:
        reconcile(state, entry, issue, now, out)
    if not runs:
        best_of.refreshed(state, issue_id, issue, out)
    return True


def _offer(state: OrchestratorState, issue: Issue, now: float, out: Effects) -> None:
    """An unclaimed issue with fresh data: dispatch it if the candidate rules allow, else
    update its blocked row (added, changed or dropped). A held issue stays held while it is
    active, and its hold ends when it is not."""
    if holds.is_held(state, issue.id):
        if not policy.is_active(issue, state.config):
            holds.release(state, issue.id, "the issue left the active states", out)
        return
    if (
        state.config_error is None
        and policy.is_candidate(issue, state.config)
        and policy.global_slots(state) > 0
        and policy.state_slot_free(state, issue)
        and workers.has_room(state, now)
    ):
        dispatch(state, issue, None, now, out)
    else:
        blocked.observe(state, issue, now, out)


def _send(state: OrchestratorState, out: Effects) -> None:
    while state.change_waiting and len(state.change_reads) < CHANGE_READS:
        batch = tuple(islice(state.change_waiting, CHANGE_BATCH))
        rounds = {issue_id: state.change_waiting.pop(issue_id) for issue_id in batch}
        read_id = state.next_change_read
        state.next_change_read += 1
        state.change_reads[read_id] = ChangeRead(
            issue_ids=batch,
            # By run key: an issue's best-of candidates are runs of their own.
            runs={
                key: entry.run_id
                for key, entry in state.running.items()
                if entry.issue.id in rounds
            },
            claimed=frozenset(i for i in batch if state.is_claimed(i)),
            rounds=rounds,
        )
        for issue_id in batch:
            state.change_owner[issue_id] = read_id
        out.append(FetchChangedIssues(read_id, batch))
