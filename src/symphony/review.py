"""A human's review decision on an issue that waits in a review state (docs/review.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

ReviewChoice = Literal["approve", "rework"]
ReviewStatus = Literal[
    "accepted", "not_found", "not_in_review", "unsupported", "tracker_error", "no_such_candidate"
]

_CANDIDATE = re.compile(r"\A[a-z]{1,3}\Z")

# A review comment is a few paragraphs; anything bigger is a mistake.
MAX_COMMENT_CHARS = 20_000


@dataclass(frozen=True, slots=True)
class ReviewDecision:
    decision: ReviewChoice
    # Stripped; None when there is none.
    comment: str | None = None
    # The best-of candidate approved (docs/best-of.md); None: the issue's one run.
    candidate: str | None = None


class InvalidReview(ValueError):
    """A review body that is not a decision; the message says what to send instead."""


class CommentRequired(InvalidReview):
    """Rework without a comment: the next run would not know what to change."""


def parse_review(body: Any) -> ReviewDecision:
    """``{"decision": "approve" | "rework", "comment": "..."}``; raises ``InvalidReview``."""
    if not isinstance(body, dict):
        raise InvalidReview('the body must be {"decision": "approve" | "rework", "comment": "..."}')
    decision = body.get("decision")
    if decision not in ("approve", "rework"):
        raise InvalidReview(f'"decision" must be "approve" or "rework" (got {decision!r})')
    comment = body.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise InvalidReview('"comment" must be a string')
    text = comment.strip() if comment else ""
    if len(text) > MAX_COMMENT_CHARS:
        raise InvalidReview(f"a review comment is limited to {MAX_COMMENT_CHARS} characters")
    if decision == "rework" and not text:
        raise CommentRequired(
            'rework needs a non-empty "comment" saying what to change; the next run reads it'
        )
    candidate = body.get("candidate")
    if candidate is not None:
        if decision != "approve":
            raise InvalidReview(
                '"candidate" goes with "approve" only: rework sends every candidate back'
            )
        if not isinstance(candidate, str) or not _CANDIDATE.match(candidate.strip().lower()):
            raise InvalidReview('"candidate" must be a candidate name like "a" or "b"')
        candidate = candidate.strip().lower()
    return ReviewDecision(decision, text or None, candidate)


@dataclass(frozen=True, slots=True)
class ReviewOutcome:
    """What a decision did: ``accepted``, or why not (the API maps it to a status)."""

    status: ReviewStatus
    message: str
    issue_identifier: str
    decision: ReviewChoice
    # The state the issue moved to, as the tracker spells it (accepted only).
    state: str | None = None
    comment_posted: bool = False


CandidateDiffStatus = Literal["ok", "no_such_candidate", "no_workspace"]


@dataclass(frozen=True, slots=True)
class CandidateDiff:
    """One best-of candidate's diff, read from its workspace when asked (docs/best-of.md):
    ``ok``, or why there is none (the API maps it to a 404)."""

    status: CandidateDiffStatus
    message: str = ""
    # The unified diff against the workspace's base ("" when there is none: see ``note``).
    diff: str = ""
    # Why there is no diff (not a git repository, no base recorded, git failed); None when read.
    note: str | None = None
    # The diff was cut at the proof's size limit (it then ends with a marker line saying so).
    truncated: bool = False
    base: str | None = None
    head: str | None = None
