"""Board records -> normalized ``Issue`` (SPEC §4.1.1, §11.3), and ``dispatchable``.

Pure functions: no database, no clock, so the rules can be read and tested on their own.
"""

from __future__ import annotations

from typing import Any

from symphony.issue import Issue, normalize_labels, normalize_state
from symphony.timefmt import format_timestamp
from symphony.trackers.local.errors import MalformedIssue
from symphony.trackers.local.records import IssueDetail, IssueRecord
from symphony.trackers.local.settings import BoardSettings

# Like Linear, open blockers hold an issue back only before work starts; an issue already in
# progress keeps running when someone adds a blocker.
BLOCKER_GATE_STATE = "todo"


def is_dispatchable(record: IssueRecord, settings: BoardSettings) -> bool:
    if settings.assignee is not None and record.assignee_id != settings.assignee:
        return False
    if normalize_state(record.state) != BLOCKER_GATE_STATE:
        return True
    for blocker in record.blocked_by:
        if blocker.state is None or not settings.is_terminal(blocker.state):
            return False
    return True


def to_issue(record: IssueRecord, settings: BoardSettings) -> Issue:
    """Raises ``MalformedIssue`` when a required field is blank (a hand-edited database)."""
    missing = [
        name
        for name, value in (
            ("id", record.id),
            ("identifier", record.identifier),
            ("title", record.title),
            ("state", record.state),
        )
        if not value.strip()
    ]
    if missing:
        raise MalformedIssue(
            f"issue #{record.number} on the board {settings.db_path} has no "
            f"{', '.join(missing)}; fix it with `symphony board edit` or delete it"
        )
    return Issue(
        id=record.id,
        identifier=record.identifier,
        title=record.title,
        state=record.state,
        dispatchable=is_dispatchable(record, settings),
        description=record.description,
        priority=record.priority,
        branch_name=record.branch_name,
        url=settings.url_for(identifier=record.identifier, id=record.id, number=record.number),
        assignee_id=record.assignee_id,
        labels=normalize_labels(record.labels),
        blocked_by=record.blocked_by,
        created_at=record.created_at,
        updated_at=record.updated_at,
        native_ref=None,
    )


def record_dict(record: IssueRecord, settings: BoardSettings) -> dict[str, Any]:
    """The JSON shape of one issue for ``--json`` output and tool results."""
    return {
        "id": record.id,
        "identifier": record.identifier,
        "number": record.number,
        "title": record.title,
        "description": record.description,
        "priority": record.priority,
        "state": record.state,
        "labels": list(record.labels),
        "blocked_by": [b.to_dict() for b in record.blocked_by],
        "branch_name": record.branch_name,
        "url": settings.url_for(identifier=record.identifier, id=record.id, number=record.number),
        "assignee_id": record.assignee_id,
        "dispatchable": is_dispatchable(record, settings),
        "created_by": record.created_by,
        "created_at": format_timestamp(record.created_at),
        "updated_at": format_timestamp(record.updated_at),
    }


def detail_dict(detail: IssueDetail, settings: BoardSettings) -> dict[str, Any]:
    workpad = next((c for c in detail.comments if c.is_workpad), None)
    return {
        **record_dict(detail.issue, settings),
        "blocks": [b.to_dict() for b in detail.blocks],
        "comments": [c.to_dict() for c in detail.comments],
        "workpad": workpad.to_dict() if workpad is not None else None,
        "history": [h.to_dict() for h in detail.history],
    }
