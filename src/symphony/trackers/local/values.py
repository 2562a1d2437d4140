"""Checks and clean-ups for values people and agents type: titles, priorities, text.

Each failure is an ``InvalidInput`` naming the value and the accepted form; nothing is written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from symphony.trackers.local.errors import InvalidInput

EDITABLE = ("title", "description", "priority", "assignee_id", "branch_name")
MAX_TITLE = 500
MAX_TEXT = 1_000_000
_SLUG = re.compile(r"[^a-z0-9]+")


def default_branch(identifier: str, title: str) -> str:
    slug = _SLUG.sub("-", title.lower()).strip("-")[:48].rstrip("-")
    return f"{identifier.lower()}-{slug}" if slug else identifier.lower()


def clean_title(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("the title must not be empty")
    title = " ".join(value.split())
    if len(title) > MAX_TITLE:
        raise InvalidInput(f"the title is {len(title)} characters; keep it under {MAX_TITLE}")
    return title


def clean_priority(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 4:
        raise InvalidInput(
            f"priority must be 1 (urgent), 2 (high), 3 (normal), 4 (low) or 0/none (got {value!r})"
        )
    return value or None


def clean_text(value: object, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"the {what} must be text (got {type(value).__name__})")
    if len(value) > MAX_TEXT:
        raise InvalidInput(f"the {what} is {len(value)} characters; the limit is {MAX_TEXT}")
    return value if value.strip() else None


def clean_optional(value: object, what: str) -> str | None:
    text = clean_text(value, what)
    return text.strip() if text is not None else None


def clean_body(value: object) -> str:
    text = clean_text(value, "comment")
    if text is None:
        raise InvalidInput("the comment must not be empty")
    return text


def clean_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    if not changes:
        raise InvalidInput(
            "nothing to change; give at least one of --title, --description, --priority, "
            "--assignee, --branch"
        )
    out: dict[str, Any] = {}
    for key, value in changes.items():
        if key not in EDITABLE:
            raise InvalidInput(f"{key!r} cannot be edited (editable: {', '.join(EDITABLE)})")
        if key == "title":
            out[key] = clean_title(value)
        elif key == "priority":
            out[key] = clean_priority(value)
        elif key == "description":
            out[key] = clean_text(value, "description")
        else:
            out[key] = clean_optional(value, key.replace("_id", "").replace("_", " "))
    return out
