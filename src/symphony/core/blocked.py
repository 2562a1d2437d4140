"""Blocked issues: active and unclaimed, but never dispatched, for a reason an operator can fix.

SPEC §8.2 silently skips an issue the adapter marks not dispatchable (an open blocker while it
is in Todo; on Linear, assigned to someone else) or that lacks a ``tracker.required_labels``
label. Left at that, such an issue is invisible: no row, no log line, a 404 from the API. This
module keeps a bounded list of them, with the reason, for the snapshot, ``issue_detail`` and
the log. Issues merely waiting for a slot are not blocked: they are eligible.

The list is rebuilt from every successful candidate fetch (a failed fetch keeps the previous
one). Between fetches a single issue is re-checked whenever the core sees fresh data for it
(a released run, a retry that let go, a watched released issue), and every row is re-checked
against a reloaded workflow. Dispatch removes a row. Pure: no IO, no clock.
"""

from __future__ import annotations

from collections.abc import Sequence

from symphony.core import policy
from symphony.core.config import SchedulerConfig
from symphony.core.effects import Effect, Log
from symphony.core.state import BLOCKED_LIMIT, BlockedIssue, OrchestratorState
from symphony.issue import BlockerRef, Issue, missing_labels, normalize_state

NOT_DISPATCHABLE = "the tracker marks it not dispatchable (for example, assigned to someone else)"
BLOCKED_MESSAGE = "issue blocked, not dispatching"
CLEARED_MESSAGE = "issue no longer blocked"


def hold(issue: Issue, config: SchedulerConfig) -> tuple[str, tuple[BlockerRef, ...]] | None:
    """Why an active issue is not eligible, with its open blockers; None when it is eligible
    or not active (claims and slots are the caller's business)."""
    return None if _rank(issue, config) is None else _explain(issue, config)


def _rank(issue: Issue, config: SchedulerConfig) -> int | None:
    """0: held for a specific reason (an open blocker, a missing label); 1: only because the
    tracker says so; None: not held. Cheap, because it runs for every fetched issue."""
    if policy.is_routable(issue, config):
        return None
    if not policy.has_required_fields(issue) or not policy.is_active(issue, config):
        return None
    return 0 if _specific(issue, config) else 1


def _specific(issue: Issue, config: SchedulerConfig) -> bool:
    """Whether a held issue is held for a reason of its own: a missing label, an open
    blocker."""
    if config.required_labels and missing_labels(issue.labels, config.required_labels):
        return True
    # A loop, not any() over a generator: this runs for every held issue of every poll.
    for blocker in issue.blocked_by:  # noqa: SIM110
        if not _closed(blocker, config):
            return True
    return False


def _explain(issue: Issue, config: SchedulerConfig) -> tuple[str, tuple[BlockerRef, ...]]:
    parts: list[str] = []
    blockers: tuple[BlockerRef, ...] = ()
    if not issue.dispatchable:
        blockers = tuple(b for b in issue.blocked_by if not _closed(b, config))
        if blockers:
            parts.append("not dispatchable: blocked by " + ", ".join(map(_blocker, blockers)))
        else:
            parts.append(NOT_DISPATCHABLE)
    missing = missing_labels(issue.labels, config.required_labels)
    if missing:
        parts.append("missing required labels: " + ", ".join(m or '""' for m in missing))
    return "; ".join(parts), blockers


def display_key(row: BlockedIssue) -> tuple[int, tuple[int, int, float, str]]:
    """Specific reasons (blockers, labels) before the generic one, then dispatch order."""
    return (1 if row.reason == NOT_DISPATCHABLE else 0, policy.dispatch_sort_key(row.issue))


def replace_from_fetch(
    state: OrchestratorState,
    held: Sequence[Issue],
    fetched: Sequence[Issue],
    now: float,
    out: list[Effect],
) -> None:
    """Rebuild the rows from a successful candidate fetch: ``held`` is what
    ``policy.split_candidates`` held back, in dispatch order; ``fetched`` is every issue read."""
    config = state.config
    specific: list[Issue] = []
    generic: list[Issue] = []
    total = 0
    for issue in held:
        if state.is_claimed(issue.id):
            continue
        total += 1
        bucket = specific if _specific(issue, config) else generic
        if len(bucket) < BLOCKED_LIMIT:
            bucket.append(issue)
    previous = state.blocked
    rows: dict[str, BlockedIssue] = {}
    for issue in (specific + generic)[:BLOCKED_LIMIT]:
        reason, blockers = _explain(issue, config)
        rows[issue.id] = _carry(
            previous.get(issue.id), BlockedIssue(issue, reason, blockers, now), out
        )
    gone = [old for issue_id, old in previous.items() if issue_id not in rows]
    if gone:
        seen = {issue.id: issue for issue in fetched}
        for old in gone:
            fresh = seen.get(old.issue.id)
            if fresh is None:
                why = "not among the active-state issues any more"
            elif _rank(fresh, config) is None or state.is_claimed(fresh.id):
                why = _why_clear(state, fresh)
            else:
                why = f"more than {BLOCKED_LIMIT} blocked issues, only counted"
            _cleared(old, why, out)
    state.blocked = rows
    state.blocked_beyond = total - len(rows)


def observe(state: OrchestratorState, issue: Issue, now: float, out: list[Effect]) -> None:
    """Fresh data for one unclaimed issue outside a candidate fetch: add, update or drop its row.

    A new row is not added past the limit; the next candidate fetch accounts for it.
    """
    old = state.blocked.get(issue.id)
    found = None if state.is_claimed(issue.id) else hold(issue, state.config)
    if found is None:
        if old is not None:
            del state.blocked[issue.id]
            _cleared(old, _why_clear(state, issue), out)
        return
    if old is None and len(state.blocked) >= BLOCKED_LIMIT:
        return
    state.blocked[issue.id] = _carry(old, BlockedIssue(issue, found[0], found[1], now), out)


def reconsider(state: OrchestratorState, out: list[Effect]) -> None:
    """Re-check every row under a reloaded workflow (active states, required labels)."""
    for issue_id, old in list(state.blocked.items()):
        found = hold(old.issue, state.config)
        if found is None:
            del state.blocked[issue_id]
            _cleared(old, _why_clear(state, old.issue), out)
        elif found[0] != old.reason:
            row = BlockedIssue(old.issue, found[0], found[1], old.since_ms)
            state.blocked[issue_id] = _carry(old, row, out)


def forget(state: OrchestratorState, issue_id: str) -> None:
    """A dispatched issue is not blocked."""
    state.blocked.pop(issue_id, None)


def _carry(old: BlockedIssue | None, row: BlockedIssue, out: list[Effect]) -> BlockedIssue:
    """Keep ``since`` across updates; log only a new block or a changed reason."""
    if old is not None:
        row = BlockedIssue(row.issue, row.reason, row.blockers, old.since_ms)
    if old is None or old.reason != row.reason:
        out.append(
            Log.info(
                BLOCKED_MESSAGE,
                about=row.issue,
                state=row.issue.state,
                reason=row.reason,
            )
        )
    return row


def _why_clear(state: OrchestratorState, issue: Issue) -> str:
    if state.is_claimed(issue.id):
        return "claimed"
    if policy.is_active(issue, state.config):
        return "eligible"
    return f"issue is {issue.state}"


def _cleared(row: BlockedIssue, why: str, out: list[Effect]) -> None:
    out.append(
        Log.info(
            CLEARED_MESSAGE,
            about=row.issue,
            reason=why,
        )
    )


def _closed(blocker: BlockerRef, config: SchedulerConfig) -> bool:
    return blocker.state is not None and normalize_state(blocker.state) in config.terminal_states


def _blocker(blocker: BlockerRef) -> str:
    name = blocker.identifier or blocker.id or "an issue the tracker did not name"
    return f"{name} ({blocker.state or 'state unknown'})"
