"""Errors of the local board: user mistakes (``BoardError``) and storage trouble (``TrackerError``).

User mistakes (unknown issue, unknown state, bad value) carry a stable ``code`` and a message that
names the issue or argument and what to do. Storage trouble (busy, unreadable, too new) is a
``TrackerError`` with the portable category ``tracker_request`` so the orchestrator treats it like
any other adapter failure (SPEC §11.4).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from symphony.errors import SymphonyError
from symphony.trackers.base import TRACKER_REQUEST, TRACKER_RESPONSE, TrackerError


class BoardError(SymphonyError):
    """A request the board cannot honour as given; nothing was changed."""

    code = "board_error"


class IssueNotFound(BoardError):
    code = "issue_not_found"

    def __init__(self, ref: str, db_path: Path) -> None:
        super().__init__(
            f"no issue {ref!r} on the board {db_path} "
            "(use an identifier like SYM-3, its number, or its id; `symphony board list --all` "
            "shows every issue)"
        )
        self.ref = ref


class InvalidState(BoardError):
    code = "invalid_state"

    def __init__(self, state: str, valid: Sequence[str], *, why: str | None = None) -> None:
        reason = why or "is not a state of this board"
        super().__init__(f"state {state!r} {reason}; valid states: {', '.join(valid)}")
        self.state = state
        self.valid = tuple(valid)


class InvalidInput(BoardError):
    code = "invalid_input"


class BoardUnavailable(TrackerError):
    """The database could not be used (busy past every retry, unreadable, or from a newer build)."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(TRACKER_REQUEST, message, retryable=retryable)


class MalformedIssue(TrackerError):
    """A stored row lacks a required normalized field (only possible if edited by hand)."""

    def __init__(self, message: str) -> None:
        super().__init__(TRACKER_RESPONSE, message)
