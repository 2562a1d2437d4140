"""Holds: issues Symphony stopped on purpose and keeps from running again (docs/holds.md).

A hold is placed on a running issue (``HoldRequested`` from its worker, or a budget the core
counts) and ends when

- the setting that decided it is raised or removed by a reload (``reconsider``),
- the issue leaves the active states (it is missing from a candidate poll, or a targeted read
  finds it elsewhere; it may come back later as a fresh candidate), or
- an operator releases it (``ReleaseRequested``: ``POST /api/v1/<identifier>/release``).

A held issue is neither claimed nor dispatched, by a poll, a retry or a targeted refresh.
"""

from __future__ import annotations

from collections.abc import Iterable

from symphony.core import best_of
from symphony.core.effects import (
    AnnounceHold,
    ForgetHold,
    Log,
    Notify,
    RecordBudgetReset,
    RecordHold,
)
from symphony.core.events import HoldRequested, ReleaseRequested, TurnMeasured
from symphony.core.state import Hold, OrchestratorState, RunningEntry
from symphony.core.transitions import Effects, stop

# The setting a no-progress hold waits on; its value in ``SchedulerConfig.hold_limits``.
UNPRODUCTIVE_TURNS_KEY = "agent.max_unproductive_turns"
NO_PROGRESS = "no_progress"


def is_held(state: OrchestratorState, issue_id: str) -> bool:
    return issue_id in state.holds


def hold_requested(
    state: OrchestratorState, event: HoldRequested, now: float, out: Effects
) -> None:
    entry = state.running.get(event.issue_id)
    if entry is None or entry.run_id != event.run_id:
        return  # the run ended meanwhile: nothing of it is left to hold
    hold_run(state, entry, event.reason, event.message, event.limit, now, out)


def turn_measured(state: OrchestratorState, event: TurnMeasured, now: float, out: Effects) -> None:
    entry = state.running.get(event.issue_id)
    if entry is None or entry.run_id != event.run_id:
        return
    if event.productive:
        state.unproductive.pop(event.issue_id, None)
        return
    count = state.unproductive.get(event.issue_id, 0) + 1
    state.unproductive[event.issue_id] = count
    limit = state.config.hold_limits.get(UNPRODUCTIVE_TURNS_KEY)
    if limit is None or count < limit:
        return
    message = (
        f"{count} turns in a row changed nothing: the workspace stayed the same (git HEAD, "
        "index and working tree, or its files) and no tracker write succeeded."
    )
    hold_run(state, entry, NO_PROGRESS, message, (UNPRODUCTIVE_TURNS_KEY, limit), now, out)


def forget_unclaimed(state: OrchestratorState) -> None:
    """Unproductive turns count while the issue stays claimed (its runs and retries)."""
    if state.unproductive:
        for issue_id in [i for i in state.unproductive if not state.is_claimed(i)]:
            del state.unproductive[issue_id]


def hold_run(
    state: OrchestratorState,
    entry: RunningEntry,
    reason: str,
    message: str,
    limit: tuple[str, float] | None,
    now: float,
    out: Effects,
) -> None:
    """Stop ``entry``'s run (workspace kept, no retry) and hold its issue."""
    issue = entry.issue
    state.unproductive.pop(issue.id, None)
    hold = Hold(
        issue_id=issue.id,
        identifier=issue.identifier,
        reason=reason,
        message=message,
        since_ms=now,
        issue_url=issue.url,
        limit=limit,
    )
    stop(
        state,
        entry,
        cleanup=False,
        reason=f"held ({reason}): {message}",
        now=now,
        out=out,
    )
    if entry.candidate is not None:
        # A hold stops the issue: every candidate of it, and its set (docs/best-of.md).
        for other in [e for e in state.running.values() if e.issue.id == issue.id]:
            stop(state, other, cleanup=False, reason=f"held ({reason})", now=now, out=out)
        best_of.drop(state, issue.id, f"held ({reason})", out)
    place(state, hold, out)


def place(state: OrchestratorState, hold: Hold, out: Effects) -> None:
    """Record ``hold`` for an issue that is not running (its run was just stopped)."""
    state.holds[hold.issue_id] = hold
    out.append(RecordHold(hold))
    out.append(AnnounceHold(hold))
    out.append(
        Log.warning(
            "issue held",
            issue_id=hold.issue_id,
            issue_identifier=hold.identifier,
            reason=hold.reason,
            detail=hold.message,
        )
    )
    out.append(Notify())


def release(
    state: OrchestratorState, issue_id: str, why: str, out: Effects, *, fresh_budget: bool = True
) -> bool:
    """End the hold. ``fresh_budget``: the issue's budgets count again from zero (every way a
    hold ends but a raised limit)."""
    hold = state.holds.pop(issue_id, None)
    if hold is None:
        return False
    if fresh_budget:
        state.spent.pop(issue_id, None)
        out.append(RecordBudgetReset(issue_id))
    out.append(ForgetHold(issue_id))
    out.append(
        Log.info(
            "hold released",
            issue_id=hold.issue_id,
            issue_identifier=hold.identifier,
            reason=hold.reason,
            released_because=why,
        )
    )
    out.append(Notify())
    return True


def release_requested(
    state: OrchestratorState, event: ReleaseRequested, _now: float, out: Effects
) -> None:
    release(state, event.issue_id, "released by an operator", out)


def reconsider(state: OrchestratorState, out: Effects) -> None:
    """After a reload: holds whose setting was raised or removed end."""
    limits = state.config.hold_limits
    for hold in list(state.holds.values()):
        if hold.limit is None or hold.limit[0] not in limits:
            continue
        key, old = hold.limit
        new = limits[key]
        if new is None or new > old:
            shown = "no limit" if new is None else f"{new:g}"
            why = f"{key} is now {shown} (was {old:g})"
            release(state, hold.issue_id, why, out, fresh_budget=False)


def release_absent(state: OrchestratorState, active_ids: Iterable[str], out: Effects) -> None:
    """A full candidate poll did not list these held issues: they left the active states."""
    if not state.holds:
        return
    seen = set(active_ids)
    for issue_id in [i for i in state.holds if i not in seen]:
        release(state, issue_id, "the issue left the active states", out)
