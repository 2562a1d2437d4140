"""What the store hands back at startup, in wall-clock time (the runtime converts it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from symphony.core.candidates import CandidateSet
from symphony.human import RequestRecord, SteerRecord


@dataclass(frozen=True, slots=True)
class StoredRetry:
    issue_id: str
    identifier: str
    issue_url: str | None
    attempt: int
    due_at: datetime
    kind: str
    error: str | None
    worker_host: str | None = None


@dataclass(frozen=True, slots=True)
class StoredRun:
    run_id: int
    issue_id: str
    identifier: str
    issue_url: str | None
    attempt: int | None
    started_at: datetime
    ended_at: datetime | None
    outcome: str | None
    error: str | None
    thread_id: str | None = None
    session_ids: tuple[str, ...] = ()
    turns: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    workspace: str | None = None
    worker_host: str | None = None
    pgid: int | None = None
    pgid_started: int | None = None
    boot_id: str | None = None
    resume: bool = False
    cost_usd: float | None = None


@dataclass(frozen=True, slots=True)
class StoredHold:
    issue_id: str
    identifier: str
    issue_url: str | None
    reason: str
    message: str
    since: datetime
    limit_key: str | None = None
    limit_value: float | None = None


@dataclass(frozen=True, slots=True)
class StoredTotals:
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    seconds_running: float = 0.0
    cost_usd: float = 0.0


@dataclass(frozen=True, slots=True)
class StoredState:
    """``runs`` oldest first; the ones with ``ended_at`` None were live when the service died."""

    runs: tuple[StoredRun, ...] = ()
    retries: tuple[StoredRetry, ...] = ()
    holds: tuple[StoredHold, ...] = ()
    # issue id -> when its budgets last started afresh.
    budget_resets: dict[str, datetime] = field(default_factory=dict)
    totals: StoredTotals = field(default_factory=StoredTotals)
    # Human requests and steers, the newest ones, oldest first (storage/human.py).
    requests: tuple[RequestRecord, ...] = ()
    steers: tuple[SteerRecord, ...] = ()
    # Best-of candidate sets still open (storage/candidates.py), oldest first.
    candidate_sets: tuple[CandidateSet, ...] = ()

    @property
    def max_run_id(self) -> int:
        return max((r.run_id for r in self.runs), default=0)
