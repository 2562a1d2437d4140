"""Carry out a human's review decision through the tracker (docs/review.md).

The issue's state is read from the tracker at the moment of the decision, never from the last
poll: a decision for an issue someone already moved on the board must be refused, not replayed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from symphony.issue import Issue
from symphony.review import ReviewDecision, ReviewOutcome, ReviewStatus
from symphony.trackers.base import (
    TRACKER_ISSUE_NOT_FOUND,
    IssueWrites,
    TrackerAdapter,
    TrackerError,
    UnknownState,
    read_by_states,
)
from symphony.workflow.config import ReviewConfig

_T = TypeVar("_T")


async def carry_out_review(
    adapter: TrackerAdapter,
    config: ReviewConfig,
    identifier: str,
    decision: ReviewDecision,
    *,
    known_issue_id: str | None,
    timeout_s: float,
) -> ReviewOutcome:
    """Post the comment (if any), then move the issue; ``known_issue_id`` is the runtime's id
    for ``identifier`` when it knows the issue, else it is looked up among the review states."""

    def outcome(
        status: ReviewStatus, message: str, state: str | None = None, posted: bool = False
    ) -> ReviewOutcome:
        return ReviewOutcome(status, message, identifier, decision.decision, state, posted)

    if not isinstance(adapter, IssueWrites):
        return outcome(
            "unsupported",
            f"the {adapter.kind} tracker cannot move issues or post comments; decide on "
            f"{identifier} in the tracker itself",
        )
    waiting = ", ".join(config.states)
    posted = False
    try:
        issue = await _find(adapter, config, identifier, known_issue_id, timeout_s)
        if issue is None:
            return outcome(
                "not_found",
                f"Issue {identifier} is not known to the running service and is not in a "
                f"review state ({waiting})",
            )
        if not config.in_review(issue.state):
            return outcome(
                "not_in_review",
                f"{identifier} is in {issue.state!r}, not in a review state ({waiting}); "
                "only an issue waiting for review can be approved or sent back",
            )
        if decision.comment is not None:
            # First, so the run the move starts finds the comment in ``issue.comments``.
            await _bounded(
                adapter.post_comment(issue.id, identifier, decision.comment),
                "take the comment",
                timeout_s,
            )
            posted = True
        target = config.approve_state if decision.decision == "approve" else config.rework_state
        state = await _bounded(
            adapter.move_issue(issue.id, identifier, target), "move the issue", timeout_s
        )
    except TrackerError as exc:
        if exc.category == TRACKER_ISSUE_NOT_FOUND:
            return outcome("not_found", exc.message, posted=posted)
        key = "review.approve_state" if decision.decision == "approve" else "review.rework_state"
        message = f"{key}: {exc.message}" if isinstance(exc, UnknownState) else exc.message
        if posted:
            message += f"; the comment was posted, but {identifier} did not move"
        return outcome("tracker_error", message, posted=posted)
    return outcome("accepted", f"{identifier} moved to {state}", state=state, posted=posted)


async def _bounded(call: Awaitable[_T], what: str, timeout_s: float) -> _T:
    try:
        return await asyncio.wait_for(call, timeout=timeout_s)
    except TimeoutError:
        raise TrackerError(
            "tracker_timeout", f"the tracker did not {what} within {timeout_s:g}s"
        ) from None


async def _find(
    adapter: TrackerAdapter,
    config: ReviewConfig,
    identifier: str,
    known_issue_id: str | None,
    timeout_s: float,
) -> Issue | None:
    issue_id = known_issue_id
    if issue_id is None:
        # Issues waiting for review are usually not active, so the runtime may never have seen
        # them; the adapters have no read by identifier, so look among the review states.
        waiting = await _bounded(
            read_by_states(adapter, config.states), "list the issues", timeout_s
        )
        issue_id = next((i.id for i in waiting if i.identifier == identifier), None)
        if issue_id is None:
            return None
    found = await _bounded(adapter.fetch_issues_by_ids([issue_id]), "read the issue", timeout_s)
    return found[0] if found else None
