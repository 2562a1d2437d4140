"""The normalized issue (SPEC §4.1.1) shared by trackers, orchestrator and prompt rendering.

Adapters build these; nothing above the Integration layer looks at provider payloads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from sys import intern
from typing import Any

# Re-exported: modules outside this change still import the formatter from here.
from symphony.timefmt import format_timestamp


def normalize_state(state: str) -> str:
    """States compare after trim + lowercase (SPEC §4.2)."""
    return _trimmed_lower(state)


def normalize_label(label: str) -> str:
    """Labels compare after trim + lowercase (SPEC §11.3)."""
    return _trimmed_lower(label)


# Names seen -> their normalized form, interned: a board has a handful of state and label names,
# and a poll asks for each of its issues several times. Cleared past the limit, which only a
# workspace with thousands of label names would reach.
_NORMALIZED: dict[str, str] = {}
_NORMALIZED_LIMIT = 4096


def _trimmed_lower(name: str) -> str:
    found = _NORMALIZED.get(name)
    if found is None:
        if len(_NORMALIZED) >= _NORMALIZED_LIMIT:
            _NORMALIZED.clear()
        found = _NORMALIZED[name] = intern(name.strip().lower())
    return found


def normalize_labels(labels: Iterable[object]) -> tuple[str, ...]:
    """Trimmed, lowercased, blank-free, first-seen order, duplicates removed (SPEC §11.3)."""
    seen: dict[str, None] = {}
    for label in labels:
        if not isinstance(label, str):
            continue
        norm = normalize_label(label)
        if norm:
            seen.setdefault(norm, None)
    return tuple(seen)


def missing_labels(labels: Iterable[object], required: Iterable[str]) -> list[str]:
    """The required labels, normalized, that ``labels`` lacks (SPEC §8.2).

    A blank required label matches no issue (SPEC §5.3.1), so it is always missing (as ``""``).
    """
    wanted = [normalize_label(label) for label in required]
    if isinstance(labels, tuple) and all(norm and norm in labels for norm in wanted):
        return []  # the usual case: adapters hand over normalized labels
    have = set(normalize_labels(labels))
    return [norm for norm in wanted if not norm or norm not in have]


@dataclass(frozen=True, slots=True)
class BlockerRef:
    id: str | None = None
    identifier: str | None = None
    state: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {"id": self.id, "identifier": self.identifier, "state": self.state}


@dataclass(frozen=True, slots=True)
class IssueComment:
    """One comment on an issue, as the prompt shows it (``issue.comments``)."""

    author: str
    body: str
    created_at: datetime | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {
            "author": self.author,
            "body": self.body,
            "created_at": format_timestamp(self.created_at),
        }


@dataclass(frozen=True, slots=True)
class Issue:
    id: str
    identifier: str
    title: str
    state: str
    dispatchable: bool
    description: str | None = None
    priority: int | None = None
    branch_name: str | None = None
    url: str | None = None
    assignee_id: str | None = None
    labels: tuple[str, ...] = ()
    blocked_by: tuple[BlockerRef, ...] = ()
    created_at: datetime | None = None
    updated_at: datetime | None = None
    native_ref: Mapping[str, Any] | None = field(default=None, compare=False)
    # True when the tracker left out what no scheduling decision reads (description, branch_name,
    # updated_at: ``IssueSummaries``); the worker reads such an issue whole before it starts.
    summary: bool = field(default=False, compare=False)
    # The conversation, oldest first, filled in only for the prompt (``IssueConversation``);
    # reads by state or id leave it empty.
    comments: tuple[IssueComment, ...] = field(default=(), compare=False)

    @property
    def normalized_state(self) -> str:
        return normalize_state(self.state)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe view: every field present, timestamps as RFC 3339 strings.

        The prompt template receives exactly this, so templates can iterate labels and blockers.
        """
        return {
            "id": self.id,
            "identifier": self.identifier,
            "title": self.title,
            "description": self.description,
            "priority": self.priority,
            "state": self.state,
            "branch_name": self.branch_name,
            "url": self.url,
            "assignee_id": self.assignee_id,
            "labels": list(self.labels),
            "blocked_by": [b.to_dict() for b in self.blocked_by],
            "dispatchable": self.dispatchable,
            "created_at": format_timestamp(self.created_at),
            "updated_at": format_timestamp(self.updated_at),
            "native_ref": dict(self.native_ref) if self.native_ref is not None else None,
            "comments": [c.to_dict() for c in self.comments],
        }


# The slots of ``Issue``, set directly by ``new_issue``.
_SLOT = {name: vars(Issue)[name].__set__ for name in Issue.__slots__}
_NEW = object.__new__
_ID = _SLOT["id"]
_IDENTIFIER = _SLOT["identifier"]
_TITLE = _SLOT["title"]
_STATE = _SLOT["state"]
_DISPATCHABLE = _SLOT["dispatchable"]
_DESCRIPTION = _SLOT["description"]
_PRIORITY = _SLOT["priority"]
_BRANCH_NAME = _SLOT["branch_name"]
_URL = _SLOT["url"]
_ASSIGNEE_ID = _SLOT["assignee_id"]
_LABELS = _SLOT["labels"]
_BLOCKED_BY = _SLOT["blocked_by"]
_CREATED_AT = _SLOT["created_at"]
_UPDATED_AT = _SLOT["updated_at"]
_NATIVE_REF = _SLOT["native_ref"]
_SUMMARY = _SLOT["summary"]
_COMMENTS = _SLOT["comments"]


def new_issue(
    id: str,
    identifier: str,
    title: str,
    state: str,
    dispatchable: bool,
    description: str | None = None,
    priority: int | None = None,
    branch_name: str | None = None,
    url: str | None = None,
    assignee_id: str | None = None,
    labels: tuple[str, ...] = (),
    blocked_by: tuple[BlockerRef, ...] = (),
    created_at: datetime | None = None,
    updated_at: datetime | None = None,
    native_ref: Mapping[str, Any] | None = None,
    summary: bool = False,
    comments: tuple[IssueComment, ...] = (),
) -> Issue:
    """``Issue(...)`` with the same fields and defaults, three times cheaper: a frozen
    dataclass's ``__init__`` goes through ``object.__setattr__`` for each of its 17 fields, and a
    poll of a big board builds tens of thousands of issues. This sets the slots directly."""
    issue: Issue = _NEW(Issue)
    _ID(issue, id)
    _IDENTIFIER(issue, identifier)
    _TITLE(issue, title)
    _STATE(issue, state)
    _DISPATCHABLE(issue, dispatchable)
    _DESCRIPTION(issue, description)
    _PRIORITY(issue, priority)
    _BRANCH_NAME(issue, branch_name)
    _URL(issue, url)
    _ASSIGNEE_ID(issue, assignee_id)
    _LABELS(issue, labels)
    _BLOCKED_BY(issue, blocked_by)
    _CREATED_AT(issue, created_at)
    _UPDATED_AT(issue, updated_at)
    _NATIVE_REF(issue, native_ref)
    _SUMMARY(issue, summary)
    _COMMENTS(issue, comments)
    return issue


def issue_routable(issue: Issue, required_labels: Sequence[str]) -> bool:
    """SPEC §8.2: adapter says dispatchable and every required label is present.

    A blank required label matches no issue (SPEC §5.3.1).
    """
    if not required_labels:  # the usual case, for every issue of every poll
        return issue.dispatchable
    return issue.dispatchable and not missing_labels(issue.labels, required_labels)
