"""Writes to the store: small values the writer thread applies in batches, one transaction each.

A ``Write`` is anything with ``apply(db)``; a later feature adds its own next to its migration.
Every write is idempotent where it can be (upserts), because a failed batch is applied again.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from symphony.timefmt import format_timestamp


class Write(Protocol):
    def apply(self, db: sqlite3.Connection) -> None: ...


def stamp(value: datetime) -> str:
    return format_timestamp(value, timespec="milliseconds")


def parse_stamp(text: str | None) -> datetime | None:
    if text is None:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class RunStarted:
    run_id: int
    issue_id: str
    identifier: str
    issue_url: str | None
    attempt: int | None
    started_at: datetime

    def apply(self, db: sqlite3.Connection) -> None:
        db.execute(
            "INSERT OR REPLACE INTO runs (id, issue_id, identifier, issue_url, attempt, "
            "started_at) VALUES (?, ?, ?, ?, ?, ?)",
            (
                self.run_id,
                self.issue_id,
                self.identifier,
                self.issue_url,
                self.attempt,
                stamp(self.started_at),
            ),
        )


@dataclass(frozen=True, slots=True)
class RunProgress:
    """The agent's process group (with its leader's start time) and thread became known."""

    run_id: int
    pgid: int | None
    pgid_started: int | None
    boot_id: str | None
    thread_id: str | None

    def apply(self, db: sqlite3.Connection) -> None:
        db.execute(
            "UPDATE runs SET pgid = ?, pgid_started = ?, boot_id = ?, "
            "thread_id = coalesce(?, thread_id) WHERE id = ?",
            (self.pgid, self.pgid_started, self.boot_id, self.thread_id, self.run_id),
        )


@dataclass(frozen=True, slots=True)
class RunEnded:
    run_id: int
    ended_at: datetime
    outcome: str
    error: str | None
    thread_id: str | None
    session_ids: tuple[str, ...]
    turns: int
    input_tokens: int
    output_tokens: int
    total_tokens: int
    workspace: str | None
    worker_host: str | None
    resume: bool
    cost_usd: float | None = None

    def apply(self, db: sqlite3.Connection) -> None:
        db.execute(
            "UPDATE runs SET ended_at = ?, outcome = ?, error = ?, "
            "thread_id = coalesce(?, thread_id), session_ids = ?, turns = ?, input_tokens = ?, "
            "output_tokens = ?, total_tokens = ?, workspace = coalesce(?, workspace), "
            "worker_host = ?, resume = ?, cost_usd = ? WHERE id = ?",
            (
                stamp(self.ended_at),
                self.outcome,
                self.error,
                self.thread_id,
                json.dumps(list(self.session_ids)),
                self.turns,
                self.input_tokens,
                self.output_tokens,
                self.total_tokens,
                self.workspace,
                self.worker_host,
                int(self.resume),
                self.cost_usd,
                self.run_id,
            ),
        )


@dataclass(frozen=True, slots=True)
class RetrySaved:
    issue_id: str
    identifier: str
    issue_url: str | None
    attempt: int
    due_at: datetime
    kind: str
    error: str | None
    worker_host: str | None = None

    def apply(self, db: sqlite3.Connection) -> None:
        db.execute(
            "INSERT OR REPLACE INTO retries (issue_id, identifier, issue_url, attempt, due_at, "
            "kind, error, worker_host) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                self.issue_id,
                self.identifier,
                self.issue_url,
                self.attempt,
                stamp(self.due_at),
                self.kind,
                self.error,
                self.worker_host,
            ),
        )


@dataclass(frozen=True, slots=True)
class RetryDropped:
    issue_id: str

    def apply(self, db: sqlite3.Connection) -> None:
        db.execute("DELETE FROM retries WHERE issue_id = ?", (self.issue_id,))


@dataclass(frozen=True, slots=True)
class ResumeSettled:
    """The issue's cut-short run was continued, or will not be."""

    issue_id: str

    def apply(self, db: sqlite3.Connection) -> None:
        db.execute("UPDATE runs SET resume = 0 WHERE issue_id = ? AND resume = 1", (self.issue_id,))


@dataclass(frozen=True, slots=True)
class HoldSaved:
    issue_id: str
    identifier: str
    issue_url: str | None
    reason: str
    message: str
    since: datetime
    limit_key: str | None
    limit_value: float | None

    def apply(self, db: sqlite3.Connection) -> None:
        db.execute(
            "INSERT OR REPLACE INTO holds (issue_id, identifier, issue_url, reason, message, "
            "since, limit_key, limit_value) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                self.issue_id,
                self.identifier,
                self.issue_url,
                self.reason,
                self.message,
                stamp(self.since),
                self.limit_key,
                self.limit_value,
            ),
        )


@dataclass(frozen=True, slots=True)
class HoldDropped:
    issue_id: str

    def apply(self, db: sqlite3.Connection) -> None:
        db.execute("DELETE FROM holds WHERE issue_id = ?", (self.issue_id,))


@dataclass(frozen=True, slots=True)
class BudgetReset:
    issue_id: str
    at: datetime

    def apply(self, db: sqlite3.Connection) -> None:
        db.execute(
            "INSERT OR REPLACE INTO budget_resets (issue_id, at) VALUES (?, ?)",
            (self.issue_id, stamp(self.at)),
        )


@dataclass(frozen=True, slots=True)
class TotalsSaved:
    input_tokens: int
    output_tokens: int
    total_tokens: int
    seconds_running: float
    cost_usd: float = 0.0

    def apply(self, db: sqlite3.Connection) -> None:
        db.execute(
            "INSERT OR REPLACE INTO totals (id, input_tokens, output_tokens, total_tokens, "
            "seconds_running, cost_usd) VALUES (1, ?, ?, ?, ?, ?)",
            (
                self.input_tokens,
                self.output_tokens,
                self.total_tokens,
                self.seconds_running,
                self.cost_usd,
            ),
        )
