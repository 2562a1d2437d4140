"""The local board as the dashboard shows and edits it (docs/observability.md, "Board").

Requests are checked here for their shape (which keys, which JSON types); the values themselves
(an empty title, a priority out of range, a state the board does not have) are checked by the
board's own store, so the dashboard, the CLI and the agents' tools accept exactly the same input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

BoardStatus = Literal["ok", "created", "invalid", "not_found", "unsupported", "tracker_error"]

# A comment or a description typed into the dashboard; anything bigger is a mistake.
MAX_BOARD_TEXT = 100_000
_NEW_ISSUE_KEYS = ("title", "description", "priority", "labels", "state")


class InvalidBoardRequest(ValueError):
    """A body the board cannot take; the message names the key and the form expected."""


@dataclass(frozen=True, slots=True)
class NewBoardIssue:
    title: str
    description: str | None = None
    priority: int | None = None
    labels: tuple[str, ...] = ()
    # None: the board's default state.
    state: str | None = None


@dataclass(frozen=True, slots=True)
class BoardOutcome:
    """What a board read or write did; ``body`` is the JSON answer when it succeeded."""

    status: BoardStatus
    message: str = ""
    body: dict[str, Any] | None = None


def _object(body: Any, form: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidBoardRequest(f"the body must be a JSON object: {form}")
    return body


def _text(body: dict[str, Any], key: str, *, required: bool) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        what = "non-empty text" if required else "text or null"
        raise InvalidBoardRequest(f'"{key}" must be {what} (got {value!r:.60})')
    if len(value) > MAX_BOARD_TEXT:
        raise InvalidBoardRequest(f'"{key}" is limited to {MAX_BOARD_TEXT} characters')
    return value


def parse_new_issue(body: Any) -> NewBoardIssue:
    """``{"title", "description"?, "priority"?, "labels"?, "state"?}``."""
    fields = _object(body, '{"title": "...", "description": "...", "priority": 1-4, "labels": []}')
    unknown = sorted(set(fields) - set(_NEW_ISSUE_KEYS))
    if unknown:
        raise InvalidBoardRequest(
            f"unknown key(s) {', '.join(unknown)}; a new issue takes {', '.join(_NEW_ISSUE_KEYS)}"
        )
    title = _text(fields, "title", required=True)
    assert title is not None
    priority = fields.get("priority")
    if priority is not None and (isinstance(priority, bool) or not isinstance(priority, int)):
        raise InvalidBoardRequest(
            f'"priority" must be 1 (urgent), 2 (high), 3 (normal), 4 (low) or null '
            f"(got {priority!r})"
        )
    labels = fields.get("labels") or []
    if isinstance(labels, str):
        labels = [part for part in labels.split(",") if part.strip()]
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise InvalidBoardRequest(
            '"labels" must be a list of strings (or one comma-separated string)'
        )
    return NewBoardIssue(
        title=title,
        description=_text(fields, "description", required=False),
        priority=priority,
        labels=tuple(label.strip() for label in labels if label.strip()),
        state=_text(fields, "state", required=False),
    )


def parse_move(body: Any) -> str:
    """``{"state": "..."}``: the state name as typed; the board matches it (any case)."""
    state = _text(_object(body, '{"state": "<a state of the board>"}'), "state", required=True)
    assert state is not None
    return state


def parse_comment(body: Any) -> str:
    """``{"body": "..."}``, stripped."""
    text = _text(_object(body, '{"body": "<the comment>"}'), "body", required=True)
    assert text is not None
    return text.strip()
