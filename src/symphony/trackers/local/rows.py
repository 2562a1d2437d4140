"""SQLite rows -> board records; batch-loads labels and blockers for a set of issues."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Sequence

from symphony.issue import BlockerRef
from symphony.timefmt import parse_timestamp
from symphony.trackers.local.records import Comment, IssueRecord, StateChange

_CHUNK = 500


def fetch_records(
    conn: sqlite3.Connection, where: str, params: Sequence[object]
) -> list[IssueRecord]:
    """Issues matching a trusted ``where`` clause (placeholders for every value), by number."""
    rows = conn.execute(
        f"SELECT * FROM issues WHERE {where} ORDER BY number",  # noqa: S608 (trusted clause)
        list(params),
    ).fetchall()
    ids = [str(row["id"]) for row in rows]
    labels: dict[str, list[str]] = defaultdict(list)
    blockers: dict[str, list[BlockerRef]] = defaultdict(list)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        for label_row in conn.execute(
            f"SELECT issue_id, label FROM issue_labels WHERE issue_id IN ({marks})"  # noqa: S608
            " ORDER BY issue_id, position",
            chunk,
        ):
            labels[label_row["issue_id"]].append(label_row["label"])
        blocker_sql = (
            "SELECT b.issue_id, i.id, i.identifier, i.state FROM blockers b"  # noqa: S608
            f" JOIN issues i ON i.id = b.blocker_id WHERE b.issue_id IN ({marks})"
            " ORDER BY b.issue_id, i.number"
        )
        for blocker_row in conn.execute(blocker_sql, chunk):
            blockers[blocker_row["issue_id"]].append(
                BlockerRef(
                    id=blocker_row["id"],
                    identifier=blocker_row["identifier"],
                    state=blocker_row["state"],
                )
            )
    return [
        _record(row, tuple(labels.get(str(row["id"]), ())), tuple(blockers.get(str(row["id"]), ())))
        for row in rows
    ]


def _record(
    row: sqlite3.Row, labels: tuple[str, ...], blocked_by: tuple[BlockerRef, ...]
) -> IssueRecord:
    priority = row["priority"]
    return IssueRecord(
        id=_text(row["id"]),
        number=int(row["number"]),
        identifier=_text(row["identifier"]),
        title=_text(row["title"]),
        description=row["description"] if isinstance(row["description"], str) else None,
        priority=priority if isinstance(priority, int) and 1 <= priority <= 4 else None,
        state=_text(row["state"]),
        branch_name=_optional(row["branch_name"]),
        assignee_id=_optional(row["assignee_id"]),
        created_by=_optional(row["created_by"]),
        created_at=parse_timestamp(row["created_at"]),
        updated_at=parse_timestamp(row["updated_at"]),
        labels=labels,
        blocked_by=blocked_by,
    )


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _optional(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def blocks_of(conn: sqlite3.Connection, issue_id: str) -> tuple[BlockerRef, ...]:
    """The issues this one blocks (the inverse of ``blocked_by``)."""
    return tuple(
        BlockerRef(id=row["id"], identifier=row["identifier"], state=row["state"])
        for row in conn.execute(
            "SELECT i.id, i.identifier, i.state FROM blockers b JOIN issues i ON i.id = b.issue_id"
            " WHERE b.blocker_id = ? ORDER BY i.number",
            (issue_id,),
        )
    )


def comment_from_row(row: sqlite3.Row) -> Comment:
    return Comment(
        id=int(row["id"]),
        kind=str(row["kind"]),
        author=str(row["author"]),
        body=str(row["body"]),
        created_at=parse_timestamp(row["created_at"]),
        updated_at=parse_timestamp(row["updated_at"]),
    )


def comments_of(conn: sqlite3.Connection, issue_id: str) -> tuple[Comment, ...]:
    rows = conn.execute(
        "SELECT * FROM comments WHERE issue_id = ? ORDER BY id", (issue_id,)
    ).fetchall()
    return tuple(comment_from_row(row) for row in rows)


def history_of(conn: sqlite3.Connection, issue_id: str) -> tuple[StateChange, ...]:
    return tuple(
        StateChange(
            from_state=row["from_state"],
            to_state=str(row["to_state"]),
            actor=str(row["actor"]),
            at=parse_timestamp(row["at"]),
        )
        for row in conn.execute(
            "SELECT * FROM state_changes WHERE issue_id = ? ORDER BY id", (issue_id,)
        )
    )
