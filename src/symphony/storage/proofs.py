"""Stored proofs of work (table ``proofs``, schema v3): the writes and the reads.

Writes go through the writer thread like every other ``Write``. Reads open their own short-lived
connection (WAL lets a reader run beside the writer); callers run them in a thread so the event
loop never waits on the disk.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from symphony.storage.writes import parse_stamp, stamp

BUSY_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class StoredProof:
    issue_id: str
    identifier: str
    created_at: datetime
    body: dict[str, Any]
    diff: str
    verify_failures: int
    reset_at: datetime | None


@dataclass(frozen=True, slots=True)
class ProofSaved:
    """A hand-off's proof replaces the issue's last one; it waits for a reset again."""

    issue_id: str
    identifier: str
    created_at: datetime
    body: dict[str, Any]
    diff: str
    verify_failures: int

    def apply(self, db: sqlite3.Connection) -> None:
        db.execute(
            "INSERT OR REPLACE INTO proofs (issue_id, identifier, created_at, body, diff, "
            "verify_failures, reset_at) VALUES (?, ?, ?, ?, ?, ?, NULL)",
            (
                self.issue_id,
                self.identifier,
                stamp(self.created_at),
                json.dumps(self.body, ensure_ascii=False),
                self.diff,
                self.verify_failures,
            ),
        )


@dataclass(frozen=True, slots=True)
class ProofReset:
    """The workspace of the issue was reset for its last hand-off (``workspace.reset_states``)."""

    issue_id: str
    at: datetime

    def apply(self, db: sqlite3.Connection) -> None:
        db.execute(
            "UPDATE proofs SET reset_at = ? WHERE issue_id = ? AND reset_at IS NULL",
            (stamp(self.at), self.issue_id),
        )


_COLUMNS = "SELECT issue_id, identifier, created_at, body, {diff}, verify_failures, reset_at "
_BY_ISSUE = "FROM proofs WHERE issue_id = ?"
_BY_IDENTIFIER = "FROM proofs WHERE identifier = ? ORDER BY created_at DESC LIMIT 1"


def read_proof(
    path: Path,
    *,
    identifier: str | None = None,
    issue_id: str | None = None,
    with_diff: bool = True,
) -> StoredProof | None:
    """The proof kept for ``issue_id``, or the newest one for ``identifier``; blocking. Without
    ``with_diff`` its ``diff`` is "" and is not read (it may hold megabytes the caller would
    drop: the API and the review queue show the JSON only)."""
    where: str
    if issue_id is not None:
        where, key = _BY_ISSUE, issue_id
    elif identifier is not None:
        where, key = _BY_IDENTIFIER, identifier
    else:
        raise ValueError("read_proof needs an identifier or an issue id")
    query = _COLUMNS.format(diff="diff" if with_diff else "''") + where
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
    try:
        row = db.execute(query, (key,)).fetchone()
    finally:
        db.close()
    if row is None:
        return None
    created = parse_stamp(row[2])
    assert created is not None
    return StoredProof(
        issue_id=row[0],
        identifier=row[1],
        created_at=created,
        body=json.loads(row[3]),
        diff=row[4],
        verify_failures=int(row[5]),
        reset_at=parse_stamp(row[6]),
    )
