"""Stored best-of candidates (tables ``candidate_sets`` and ``candidates``, schema v8,
docs/best-of.md).

One set per issue, from its dispatch until the human picks a candidate or sends the issue back;
one row per candidate with its status, workspace and thread (so a restart continues each one),
and what the judging found (verify, files, tokens, cost, the judge's rank and reason) as JSON.
A save replaces the whole set, so applying it twice (a retried batch) changes nothing.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from symphony.core.candidates import CANDIDATE_STATUSES, Candidate, CandidateSet, CandidateStatus
from symphony.storage.writes import stamp

# Appended to the store's migrations (storage/schema.py).
CANDIDATES_MIGRATION = """
CREATE TABLE candidate_sets (
    issue_id TEXT PRIMARY KEY,
    identifier TEXT NOT NULL,
    judged INTEGER NOT NULL DEFAULT 0,  -- 1: verified, ranked, moved to review
    judge_note TEXT,
    updated_at TEXT NOT NULL
);

CREATE TABLE candidates (
    issue_id TEXT NOT NULL,             -- its candidate_sets row
    name TEXT NOT NULL,                 -- a, b, ... by idx
    idx INTEGER NOT NULL,
    status TEXT NOT NULL,               -- pending|running|handed_off|failed|chosen|discarded
    workspace TEXT,
    thread_id TEXT,
    body TEXT NOT NULL DEFAULT '{}',    -- JSON: summary, error, verify, files, tokens,
                                        -- cost_usd, rank, reason (later also attempt)
    PRIMARY KEY (issue_id, name)
);
"""

# The body is JSON, so a field added later needs no migration. ``attempt``: the candidate's
# failed runs so far (agent.candidate_max_retries), so a restart neither forgets nor resets them;
# a row written before it was kept reads as 0.
_BODY_FIELDS = (
    "attempt",
    "summary",
    "error",
    "verify",
    "verify_output",
    "files",
    "tokens",
    "cost_usd",
    "rank",
    "reason",
)


@dataclass(frozen=True, slots=True)
class CandidateSetSaved:
    candidates: CandidateSet
    at: datetime

    def apply(self, db: sqlite3.Connection) -> None:
        s = self.candidates
        db.execute("DELETE FROM candidates WHERE issue_id = ?", (s.issue_id,))
        db.execute(
            "INSERT OR REPLACE INTO candidate_sets (issue_id, identifier, judged, judge_note, "
            "updated_at) VALUES (?, ?, ?, ?, ?)",
            (s.issue_id, s.identifier, int(s.judged), s.judge_note, stamp(self.at)),
        )
        db.executemany(
            "INSERT INTO candidates (issue_id, name, idx, status, workspace, thread_id, body) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    s.issue_id,
                    c.name,
                    c.index,
                    c.status,
                    c.workspace_path,
                    c.thread_id,
                    json.dumps(_body(c), ensure_ascii=False),
                )
                for c in s.candidates
            ],
        )


@dataclass(frozen=True, slots=True)
class CandidateSetDropped:
    """The issue's candidates are over (picked, sent back, or the issue left the active
    states)."""

    issue_id: str

    def apply(self, db: sqlite3.Connection) -> None:
        db.execute("DELETE FROM candidates WHERE issue_id = ?", (self.issue_id,))
        db.execute("DELETE FROM candidate_sets WHERE issue_id = ?", (self.issue_id,))


def load_candidate_sets(db: sqlite3.Connection) -> tuple[CandidateSet, ...]:
    """Every stored set, oldest first; a row that cannot be read raises ValueError."""
    rows: dict[str, list[Candidate]] = {}
    for row in db.execute("SELECT * FROM candidates ORDER BY issue_id, idx"):
        rows.setdefault(row["issue_id"], []).append(_candidate(row))
    return tuple(
        CandidateSet(
            issue_id=row["issue_id"],
            identifier=row["identifier"],
            candidates=tuple(rows.get(row["issue_id"], ())),
            judged=bool(row["judged"]),
            judge_note=row["judge_note"],
        )
        for row in db.execute("SELECT * FROM candidate_sets ORDER BY updated_at, issue_id")
    )


def _body(c: Candidate) -> dict[str, Any]:
    body = {name: getattr(c, name) for name in _BODY_FIELDS}
    body["files"] = list(c.files)
    return body


def _candidate(row: sqlite3.Row) -> Candidate:
    status = row["status"]
    if status not in CANDIDATE_STATUSES:
        raise ValueError(f"candidate {row['name']!r} of {row['issue_id']} has status {status!r}")
    body = json.loads(row["body"])
    if not isinstance(body, dict):
        raise ValueError(f"candidate {row['name']!r} of {row['issue_id']} has no JSON object")
    cost = body.get("cost_usd")
    return Candidate(
        name=row["name"],
        index=row["idx"],
        status=cast(CandidateStatus, status),
        attempt=int(body.get("attempt") or 0),
        workspace_path=row["workspace"],
        thread_id=row["thread_id"],
        summary=body.get("summary"),
        error=body.get("error"),
        verify=body.get("verify"),
        verify_output=body.get("verify_output"),
        files=tuple(str(f) for f in body.get("files") or ()),
        tokens=int(body.get("tokens") or 0),
        cost_usd=float(cost) if cost is not None else None,
        rank=body.get("rank"),
        reason=body.get("reason"),
    )
