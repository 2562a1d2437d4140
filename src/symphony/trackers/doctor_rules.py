"""``symphony doctor`` rules more than one tracker applies: which workflow states it has."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from symphony.checks import Check
from symphony.issue import normalize_state


@dataclass(frozen=True, slots=True)
class WorkflowStates:
    """The states a workflow names: those scheduling needs, and the review loop's."""

    required: tuple[str, ...]  # active and terminal states
    review: tuple[str, ...] = ()  # review.states, approve_state, rework_state


def state_check(
    name: str, where: str, found: Iterable[str], states: WorkflowStates, *, fix: str
) -> Check:
    """Every required state must exist in ``found``; a missing review state is a warning (the
    review loop's decisions fail, scheduling does not)."""
    have = {normalize_state(s) for s in found}
    missing = [s for s in states.required if normalize_state(s) not in have]
    if missing:
        return Check.fail(name, f"{where} has no state {_names(missing)}", fix)
    missing_review = [s for s in dict.fromkeys(states.review) if normalize_state(s) not in have]
    if missing_review:
        return Check.warn(
            name,
            f"{where} has no state {_names(missing_review)} (review.*: approving or sending "
            "back from the dashboard will fail)",
            fix,
        )
    return Check.ok(name, f"{where} has all {len(states.required)} workflow states")


def _names(states: Sequence[str]) -> str:
    return ", ".join(repr(s) for s in states)
