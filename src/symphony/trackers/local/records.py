"""Plain records the board store returns; normalization to ``Issue`` happens elsewhere."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from symphony.issue import BlockerRef
from symphony.timefmt import format_timestamp

WORKPAD = "workpad"
COMMENT = "comment"


@dataclass(frozen=True, slots=True)
class IssueRecord:
    """One row of ``issues`` with its labels and blockers, as stored (not yet normalized)."""

    id: str
    number: int
    identifier: str
    title: str
    description: str | None
    priority: int | None
    state: str
    branch_name: str | None
    assignee_id: str | None
    created_by: str | None
    created_at: datetime | None
    updated_at: datetime | None
    labels: tuple[str, ...] = ()
    blocked_by: tuple[BlockerRef, ...] = ()


@dataclass(frozen=True, slots=True)
class Comment:
    id: int
    kind: str
    author: str
    body: str
    created_at: datetime | None
    updated_at: datetime | None

    @property
    def is_workpad(self) -> bool:
        return self.kind == WORKPAD

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "workpad": self.is_workpad,
            "author": self.author,
            "body": self.body,
            "created_at": format_timestamp(self.created_at),
            "updated_at": format_timestamp(self.updated_at),
        }


@dataclass(frozen=True, slots=True)
class StateChange:
    from_state: str | None
    to_state: str
    actor: str
    at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "from": self.from_state,
            "to": self.to_state,
            "actor": self.actor,
            "at": format_timestamp(self.at),
        }


@dataclass(frozen=True, slots=True)
class IssueDetail:
    """An issue with everything ``show`` and the agent's read tool present."""

    issue: IssueRecord
    blocks: tuple[BlockerRef, ...]
    comments: tuple[Comment, ...]
    history: tuple[StateChange, ...]


@dataclass(frozen=True, slots=True)
class NewIssue:
    title: str
    description: str | None = None
    priority: int | None = None
    state: str | None = None
    labels: tuple[str, ...] = ()
    assignee_id: str | None = None
    branch_name: str | None = None
    blocked_by: tuple[str, ...] = ()
    blocks: tuple[str, ...] = ()
