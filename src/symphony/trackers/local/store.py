"""Board operations: every read and write is one short SQLite transaction.

Writes never read-modify-write a value another writer could change in between: numbers come from a
counter bumped under the write lock, labels and blockers are rows, so concurrent CLI commands and
agent tools cannot lose each other's updates.
"""

from __future__ import annotations

import json
import re
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from symphony.issue import missing_labels, normalize_labels, normalize_state
from symphony.timefmt import format_timestamp
from symphony.trackers.local.db import BoardDatabase
from symphony.trackers.local.errors import InvalidInput, InvalidState, IssueNotFound
from symphony.trackers.local.records import (
    COMMENT,
    WORKPAD,
    Comment,
    IssueDetail,
    IssueRecord,
    NewIssue,
)
from symphony.trackers.local.rows import (
    blocks_of,
    comment_from_row,
    comments_of,
    fetch_records,
    history_of,
)
from symphony.trackers.local.settings import BoardSettings
from symphony.trackers.local.values import (
    clean_body,
    clean_changes,
    clean_optional,
    clean_priority,
    clean_text,
    clean_title,
    default_branch,
)

_NUMBER_REF = re.compile(r"^#?(\d+)$")
_CHUNK = 500


def _now() -> str:
    return format_timestamp(datetime.now(UTC))


class BoardStore:
    """The board behind one settings snapshot; thread-safe, usable from any process."""

    def __init__(self, settings: BoardSettings, db: BoardDatabase | None = None) -> None:
        self.settings = settings
        self.db = db if db is not None else BoardDatabase(settings.db_path)

    def close(self) -> None:
        self.db.close()

    # ---- reads -------------------------------------------------------------------------

    def by_states(self, states: Sequence[str]) -> list[IssueRecord]:
        wanted = sorted({normalize_state(s) for s in states})

        def read(conn: sqlite3.Connection) -> list[IssueRecord]:
            marks = ",".join("?" * len(wanted))
            return fetch_records(
                conn,
                f"lower(trim(state)) IN ({marks})",
                wanted,
            )

        return self.db.run(read, write=False) if wanted else []

    def by_ids(self, ids: Sequence[str]) -> list[IssueRecord]:
        unique = list(dict.fromkeys(ids))

        def read(conn: sqlite3.Connection) -> list[IssueRecord]:
            out: list[IssueRecord] = []
            for start in range(0, len(unique), _CHUNK):
                chunk = unique[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                out.extend(fetch_records(conn, f"id IN ({marks})", chunk))
            return out

        return self.db.run(read, write=False) if unique else []

    def list_issues(
        self, *, states: Sequence[str] = (), labels: Sequence[str] = (), include_terminal: bool
    ) -> list[IssueRecord]:
        wanted = [self.require_state(s) for s in states]
        labels_wanted = normalize_labels(labels)

        def read(conn: sqlite3.Connection) -> list[IssueRecord]:
            if wanted:
                norms = [normalize_state(s) for s in wanted]
                marks = ",".join("?" * len(norms))
                return fetch_records(conn, f"lower(trim(state)) IN ({marks})", norms)
            return fetch_records(conn, "1 = 1", [])

        records = self.db.run(read, write=False)
        if not wanted and not include_terminal:
            records = [r for r in records if not self.settings.is_terminal(r.state)]
        if labels_wanted:
            records = [r for r in records if not missing_labels(r.labels, labels_wanted)]
        order = {normalize_state(s): i for i, s in enumerate(self.settings.states)}
        records.sort(
            key=lambda r: (
                order.get(normalize_state(r.state), len(order)),
                r.priority if r.priority is not None else 5,
                r.number,
            )
        )
        return records

    def get(self, ref: str) -> IssueRecord:
        return self.db.run(lambda conn: self._record(conn, ref), write=False)

    def detail(self, ref: str) -> IssueDetail:
        def read(conn: sqlite3.Connection) -> IssueDetail:
            record = self._record(conn, ref)
            return IssueDetail(
                issue=record,
                blocks=blocks_of(conn, record.id),
                comments=comments_of(conn, record.id),
                history=history_of(conn, record.id),
            )

        return self.db.run(read, write=False)

    def stored_settings(self) -> dict[str, Any] | None:
        def read(conn: sqlite3.Connection) -> dict[str, Any] | None:
            row = conn.execute("SELECT value FROM meta WHERE key = 'settings'").fetchone()
            if row is None:
                return None
            try:
                value = json.loads(row[0])
            except ValueError:
                return None
            return value if isinstance(value, dict) else None

        return self.db.run(read, write=False)

    # ---- writes ------------------------------------------------------------------------

    def remember_settings(self) -> None:
        """Record the board's states etc. so ``--db`` commands agree with the workflow."""
        wanted = json.dumps(self.settings.to_meta(), sort_keys=True)
        if self.stored_settings() == json.loads(wanted):
            return

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('settings', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (wanted,),
            )

        self.db.run(write, write=True)

    def create(self, new: NewIssue, *, actor: str) -> IssueRecord:
        title = clean_title(new.title)
        state = self.require_state(new.state or self.settings.default_state)
        priority = clean_priority(new.priority)
        description = clean_text(new.description, "description")
        labels = normalize_labels(new.labels)

        def write(conn: sqlite3.Connection) -> IssueRecord:
            blockers = [self._row(conn, ref) for ref in new.blocked_by]
            blocked = [self._row(conn, ref) for ref in new.blocks]
            number = int(
                conn.execute(
                    "UPDATE counters SET value = value + 1 WHERE name = 'issue_number' "
                    "RETURNING value"
                ).fetchone()[0]
            )
            identifier = f"{self.settings.prefix}-{number}"
            issue_id = uuid.uuid4().hex
            now = _now()
            conn.execute(
                "INSERT INTO issues (id, number, identifier, title, description, priority, state,"
                " branch_name, assignee_id, created_by, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    issue_id,
                    number,
                    identifier,
                    title,
                    description,
                    priority,
                    state,
                    clean_optional(new.branch_name, "branch name")
                    or default_branch(identifier, title),
                    clean_optional(new.assignee_id, "assignee"),
                    actor,
                    now,
                    now,
                ),
            )
            _insert_labels(conn, issue_id, labels)
            for blocker in blockers:
                self._add_blocker(conn, issue_id, blocker)
            if blocked:
                me = self._row(conn, issue_id)
                for other in blocked:
                    self._add_blocker(conn, str(other["id"]), me)
            _history(conn, issue_id, None, state, actor, now)
            return self._record(conn, issue_id)

        return self.db.run(write, write=True)

    def move(self, ref: str, state: str, *, actor: str) -> tuple[IssueRecord, str]:
        """Returns the issue after the move and the state it left (equal when already there)."""
        target = self.require_state(state)

        def write(conn: sqlite3.Connection) -> tuple[IssueRecord, str]:
            row = self._row(conn, ref)
            previous = str(row["state"])
            if previous != target:
                now = _now()
                conn.execute(
                    "UPDATE issues SET state = ?, updated_at = ? WHERE id = ?",
                    (target, now, row["id"]),
                )
                _history(conn, str(row["id"]), previous, target, actor, now)
            return self._record(conn, str(row["id"])), previous

        return self.db.run(write, write=True)

    def edit(self, ref: str, changes: Mapping[str, Any]) -> IssueRecord:
        cleaned = clean_changes(changes)

        def write(conn: sqlite3.Connection) -> IssueRecord:
            row = self._row(conn, ref)
            columns = ", ".join(f"{name} = ?" for name in cleaned)
            conn.execute(
                f"UPDATE issues SET {columns}, updated_at = ? WHERE id = ?",  # noqa: S608
                (*cleaned.values(), _now(), row["id"]),
            )
            return self._record(conn, str(row["id"]))

        return self.db.run(write, write=True)

    def relabel(self, ref: str, *, add: Iterable[str], remove: Iterable[str]) -> IssueRecord:
        adding = normalize_labels(add)
        removing = normalize_labels(remove)
        if not adding and not removing:
            raise InvalidInput("give at least one label to add or remove")

        def write(conn: sqlite3.Connection) -> IssueRecord:
            row = self._row(conn, ref)
            issue_id = str(row["id"])
            for label in removing:
                conn.execute(
                    "DELETE FROM issue_labels WHERE issue_id = ? AND label = ?", (issue_id, label)
                )
            _insert_labels(conn, issue_id, adding)
            _touch(conn, issue_id)
            return self._record(conn, issue_id)

        return self.db.run(write, write=True)

    def block(self, ref: str, *, by: Sequence[str]) -> IssueRecord:
        if not by:
            raise InvalidInput("name at least one blocking issue")

        def write(conn: sqlite3.Connection) -> IssueRecord:
            row = self._row(conn, ref)
            for blocker_ref in by:
                self._add_blocker(conn, str(row["id"]), self._row(conn, blocker_ref))
            _touch(conn, str(row["id"]))
            return self._record(conn, str(row["id"]))

        return self.db.run(write, write=True)

    def unblock(self, ref: str, *, by: Sequence[str]) -> IssueRecord:
        if not by:
            raise InvalidInput("name at least one blocking issue to remove")

        def write(conn: sqlite3.Connection) -> IssueRecord:
            row = self._row(conn, ref)
            for blocker_ref in by:
                blocker = self._row(conn, blocker_ref)
                gone = conn.execute(
                    "DELETE FROM blockers WHERE issue_id = ? AND blocker_id = ?",
                    (row["id"], blocker["id"]),
                ).rowcount
                if not gone:
                    raise InvalidInput(
                        f"{row['identifier']} is not blocked by {blocker['identifier']}"
                    )
            _touch(conn, str(row["id"]))
            return self._record(conn, str(row["id"]))

        return self.db.run(write, write=True)

    def comment(self, ref: str, body: str, *, author: str) -> Comment:
        text = clean_body(body)

        def write(conn: sqlite3.Connection) -> Comment:
            row = self._row(conn, ref)
            now = _now()
            cursor = conn.execute(
                "INSERT INTO comments (issue_id, kind, author, body, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (row["id"], COMMENT, author, text, now, now),
            )
            _touch(conn, str(row["id"]), now)
            return _comment(conn, int(cursor.lastrowid or 0))

        return self.db.run(write, write=True)

    def upsert_workpad(self, ref: str, body: str, *, author: str) -> tuple[Comment, bool]:
        """Create or replace the issue's single workpad comment; True when it was created."""
        text = clean_body(body)

        def write(conn: sqlite3.Connection) -> tuple[Comment, bool]:
            row = self._row(conn, ref)
            now = _now()
            existing = conn.execute(
                "SELECT id FROM comments WHERE issue_id = ? AND kind = ?", (row["id"], WORKPAD)
            ).fetchone()
            if existing is not None:
                conn.execute(
                    "UPDATE comments SET body = ?, author = ?, updated_at = ? WHERE id = ?",
                    (text, author, now, existing["id"]),
                )
                comment_id, created = int(existing["id"]), False
            else:
                cursor = conn.execute(
                    "INSERT INTO comments (issue_id, kind, author, body, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (row["id"], WORKPAD, author, text, now, now),
                )
                comment_id, created = int(cursor.lastrowid or 0), True
            _touch(conn, str(row["id"]), now)
            return _comment(conn, comment_id), created

        return self.db.run(write, write=True)

    def upsert_marked(
        self, ref: str, body: str, *, is_marked: Callable[[str], bool], author: str
    ) -> tuple[Comment, bool]:
        """Create or replace the first comment whose body ``is_marked`` (Symphony's own comment
        of one kind), in one transaction so two writers cannot both create it; True when it was
        created."""
        text = clean_body(body)

        def write(conn: sqlite3.Connection) -> tuple[Comment, bool]:
            row = self._row(conn, ref)
            now = _now()
            existing = next(
                (c for c in comments_of(conn, str(row["id"])) if is_marked(c.body)), None
            )
            if existing is not None:
                conn.execute(
                    "UPDATE comments SET body = ?, updated_at = ? WHERE id = ?",
                    (text, now, existing.id),
                )
                comment_id, created = existing.id, False
            else:
                cursor = conn.execute(
                    "INSERT INTO comments (issue_id, kind, author, body, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (row["id"], COMMENT, author, text, now, now),
                )
                comment_id, created = int(cursor.lastrowid or 0), True
            _touch(conn, str(row["id"]), now)
            return _comment(conn, comment_id), created

        return self.db.run(write, write=True)

    def recent_comments(self, ref: str, limit: int) -> tuple[Comment, ...]:
        """The issue's newest ``limit`` comments (workpad included), oldest first."""

        def read(conn: sqlite3.Connection) -> tuple[Comment, ...]:
            row = self._row(conn, ref)
            rows = conn.execute(
                "SELECT * FROM (SELECT * FROM comments WHERE issue_id = ? ORDER BY id DESC LIMIT ?)"
                " ORDER BY id",
                (row["id"], limit),
            ).fetchall()
            return tuple(comment_from_row(r) for r in rows)

        return self.db.run(read, write=False)

    def delete(self, ref: str) -> IssueRecord:
        def write(conn: sqlite3.Connection) -> IssueRecord:
            record = self._record(conn, ref)
            conn.execute("DELETE FROM issues WHERE id = ?", (record.id,))
            return record

        return self.db.run(write, write=True)

    # ---- helpers -----------------------------------------------------------------------

    def require_state(self, state: str) -> str:
        if not isinstance(state, str) or not state.strip():
            raise InvalidState(str(state), self.settings.states, why="is empty")
        canonical = self.settings.canonical_state(state)
        if canonical is None:
            raise InvalidState(state, self.settings.states)
        return canonical

    def _row(self, conn: sqlite3.Connection, ref: str) -> sqlite3.Row:
        text = ref.strip() if isinstance(ref, str) else ""
        row: sqlite3.Row | None = None
        if text:
            row = conn.execute(
                "SELECT * FROM issues WHERE identifier = ? COLLATE NOCASE", (text,)
            ).fetchone()
            match = _NUMBER_REF.match(text)
            if row is None and match:
                row = conn.execute(
                    "SELECT * FROM issues WHERE number = ?", (int(match.group(1)),)
                ).fetchone()
            if row is None:
                row = conn.execute("SELECT * FROM issues WHERE id = ?", (text,)).fetchone()
        if row is None:
            raise IssueNotFound(str(ref), self.settings.db_path)
        return row

    def _record(self, conn: sqlite3.Connection, ref: str) -> IssueRecord:
        row = self._row(conn, ref)
        return fetch_records(conn, "id = ?", [row["id"]])[0]

    def _add_blocker(self, conn: sqlite3.Connection, issue_id: str, blocker: sqlite3.Row) -> None:
        issue = conn.execute("SELECT identifier FROM issues WHERE id = ?", (issue_id,)).fetchone()
        if blocker["id"] == issue_id:
            raise InvalidInput(f"{issue['identifier']} cannot block itself")
        # Refuse cycles: they would leave every issue in the loop undispatchable forever.
        cycle = conn.execute(
            "WITH RECURSIVE chain(id) AS ("
            " SELECT blocker_id FROM blockers WHERE issue_id = :start"
            " UNION SELECT b.blocker_id FROM blockers b JOIN chain c ON b.issue_id = c.id)"
            " SELECT 1 FROM chain WHERE id = :target LIMIT 1",
            {"start": blocker["id"], "target": issue_id},
        ).fetchone()
        if cycle is not None:
            raise InvalidInput(
                f"{blocker['identifier']} already depends on {issue['identifier']}; blocking "
                f"{issue['identifier']} by it would make a cycle nobody could start"
            )
        conn.execute(
            "INSERT OR IGNORE INTO blockers (issue_id, blocker_id, created_at) VALUES (?, ?, ?)",
            (issue_id, blocker["id"], _now()),
        )


def _insert_labels(conn: sqlite3.Connection, issue_id: str, labels: Iterable[str]) -> None:
    for label in labels:
        conn.execute(
            "INSERT OR IGNORE INTO issue_labels (issue_id, label, position) VALUES (?, ?,"
            " (SELECT coalesce(max(position), 0) + 1 FROM issue_labels WHERE issue_id = ?))",
            (issue_id, label, issue_id),
        )


def _touch(conn: sqlite3.Connection, issue_id: str, now: str | None = None) -> None:
    conn.execute("UPDATE issues SET updated_at = ? WHERE id = ?", (now or _now(), issue_id))


def _history(
    conn: sqlite3.Connection,
    issue_id: str,
    from_state: str | None,
    to_state: str,
    actor: str,
    at: str,
) -> None:
    conn.execute(
        "INSERT INTO state_changes (issue_id, from_state, to_state, actor, at)"
        " VALUES (?, ?, ?, ?, ?)",
        (issue_id, from_state, to_state, actor, at),
    )


def _comment(conn: sqlite3.Connection, comment_id: int) -> Comment:
    row = conn.execute("SELECT * FROM comments WHERE id = ?", (comment_id,)).fetchone()
    return comment_from_row(row)
