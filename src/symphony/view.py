"""The typed view of the running service that every observability surface reads (SPEC §13.3).

The scheduling core builds these values (``symphony.core.snapshot``); the HTTP API, the event
stream, the terminal view and the test fakes read them. They are plain data: frozen, slotted
dataclasses over the standard library, so the pure core may build them. Instants are aware UTC
``datetime`` values, never strings. How they look on the wire (SPEC §13.7.2) is decided in one
place only, ``symphony.view_json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from symphony.fastdata import record
from symphony.human import RequestRecord, SteerRecord

RetryKind = Literal["continuation", "failure"]
# ``idle``: known only from the stored history of runs before the last restart.
IssueStatus = Literal["running", "retrying", "blocked", "held", "released", "idle"]


# ROWS_NOT_FROZEN: the rows a snapshot has by the hundred or thousand (and their parts) are plain
# dataclasses, to be treated as read-only like the frozen rest. A frozen dataclass's
# ``__init__`` sets each field through ``object.__setattr__``, four times the cost of a plain one:
# most of the time of ``GET /api/v1/state`` with a hundred agents running. The running rows and
# their tokens also have no slots: orjson encodes a dataclass with a ``__dict__`` (the API's
# running rows, see the HTTP presenter) more than twice as fast.
@dataclass  # read-only: see ROWS_NOT_FROZEN
class Tokens:
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Counts:
    running: int
    retrying: int
    # Every blocked issue, also the ones beyond the listed rows.
    blocked: int
    # Issues Symphony stopped and keeps from running (docs/holds.md).
    held: int = 0


@dataclass(frozen=True, slots=True)
class Limits:
    max_concurrent_agents: int
    by_state: Mapping[str, int] = field(default_factory=dict)


@dataclass  # read-only: see ROWS_NOT_FROZEN
class RunningRow:
    """One live agent run (SPEC §4.1.6)."""

    issue_id: str
    issue_identifier: str
    issue_url: str | None
    title: str
    state: str
    session_id: str | None
    thread_id: str | None
    turn_count: int
    # The agent process id as the agent client reports it.
    pid: str | None
    attempt: int | None
    last_event: str | None
    last_message: str | None
    started_at: datetime
    last_event_at: datetime | None
    workspace_path: str | None
    tokens: Tokens
    # Requests the agent parked for a human (docs/human-requests.md).
    pending_request_count: int = 0
    # ``agent.kind`` of the run (``codex``, ``claude_code``, ...).
    agent_kind: str | None = None
    # The model the agent reported, and the run's cost in USD so far (None: unknown).
    model: str | None = None
    cost_usd: float | None = None
    # The worker.ssh_hosts entry the run is on; None: this machine.
    worker_host: str | None = None
    # The best-of candidate the run is (docs/best-of.md); None: the issue's one run.
    candidate: str | None = None


@dataclass(slots=True)  # read-only: see ROWS_NOT_FROZEN
class RetryRow:
    """One queued retry (SPEC §4.1.7); ``due_in_ms`` is relative to the snapshot's instant."""

    issue_id: str
    issue_identifier: str
    issue_url: str | None
    attempt: int
    due_at: datetime
    due_in_ms: int
    error: str | None
    kind: RetryKind
    # The host of the run before; the retry prefers it while it is up with room.
    worker_host: str | None = None
    # The best-of candidate it reruns (docs/best-of.md); None: the issue's own retry.
    candidate: str | None = None


@dataclass(slots=True)  # read-only: see ROWS_NOT_FROZEN
class Blocker:
    identifier: str | None
    state: str | None


@dataclass(slots=True)  # read-only: see ROWS_NOT_FROZEN
class BlockedRow:
    """An active, unclaimed issue the scheduler will not dispatch, and why."""

    issue_id: str
    issue_identifier: str
    issue_url: str | None
    title: str
    state: str
    reason: str
    # Only open (non-terminal) blockers.
    blocked_by: tuple[Blocker, ...]
    blocked_at: datetime


@dataclass(slots=True)  # read-only: see ROWS_NOT_FROZEN
class HeldRow:
    """An issue Symphony stopped and will not run again by itself (docs/holds.md)."""

    issue_id: str
    issue_identifier: str
    issue_url: str | None
    reason: str
    message: str
    since: datetime


@dataclass(frozen=True, slots=True)
class CodexTotals:
    input_tokens: int
    output_tokens: int
    total_tokens: int
    # Ended sessions plus the live ones up to the snapshot's instant (SPEC §13.5).
    seconds_running: float
    # USD of every run whose cost is known (docs/pricing.md).
    cost_usd: float = 0.0


@dataclass(frozen=True, slots=True)
class Problem:
    """An operator-visible error with a stable code; ``at`` is None when it has no moment."""

    code: str
    message: str
    at: datetime | None


@dataclass(frozen=True, slots=True)
class WorkflowStatus:
    path: str
    version: int
    loaded_at: datetime
    warnings: tuple[str, ...] = ()
    # A failed reload (the last good config stays in effect) or an unusable tracker config.
    error: Problem | None = None


@dataclass(frozen=True, slots=True)
class TrackerStatus:
    kind: str | None
    last_poll_at: datetime | None
    error: Problem | None


@dataclass(frozen=True, slots=True)
class Polling:
    interval_ms: int
    # None while a tick is running.
    next_poll_at: datetime | None
    checking: bool


@dataclass(frozen=True, slots=True)
class DayBudget:
    """The fleet's cost today (UTC) against ``agent.max_cost_usd_per_day`` (docs/holds.md)."""

    day: str | None
    cost_usd: float
    max_cost_usd_per_day: float | None
    # No new dispatch until the next UTC day or a higher limit; running agents go on.
    dispatch_paused: bool


@dataclass(frozen=True, slots=True)
class AgentProblem:
    """A problem failing every agent run alike (docs/troubleshooting.md, "Agents cannot
    start"): shown once; no run starts until ``next_attempt_at``, then one tries again."""

    code: str
    message: str
    since: datetime | None
    failures: int
    next_attempt_at: datetime | None


@dataclass(frozen=True, slots=True)
class WorkerHost:
    """One ``worker.ssh_hosts`` entry: its load and health (docs/workers.md)."""

    host: str
    running: int
    # worker.max_concurrent_agents_per_host; None: unlimited.
    capacity: int | None
    status: Literal["up", "down"]
    error: str | None
    down_until: datetime | None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """``RuntimeView.snapshot()``: a superset of SPEC §13.7.2 ``GET /api/v1/state``."""

    generated_at: datetime
    counts: Counts
    limits: Limits
    running: tuple[RunningRow, ...]
    retrying: tuple[RetryRow, ...]
    # At most a bounded number of rows; ``counts.blocked`` counts them all.
    blocked: tuple[BlockedRow, ...]
    codex_totals: CodexTotals
    # The agent's latest rate-limit payload, as it sent it.
    rate_limits: Mapping[str, Any] | None
    workflow: WorkflowStatus
    tracker: TrackerStatus
    polling: Polling
    # Oldest first.
    held: tuple[HeldRow, ...] = ()
    budget: DayBudget | None = None
    agent_problem: AgentProblem | None = None
    # Empty when every agent runs on this machine.
    workers: tuple[WorkerHost, ...] = ()


@dataclass(frozen=True, slots=True)
class LogFile:
    label: str
    path: str
    # Filled in by a surface that can serve the file.
    url: str | None = None


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    """One of an issue's recent agent events."""

    at: datetime
    event: str
    message: str | None


@dataclass(frozen=True, slots=True)
class HistoryRun:
    """One finished run of an issue (``history`` of ``GET /api/v1/<identifier>``)."""

    attempt: int | None
    started_at: datetime
    ended_at: datetime
    outcome: str
    error: str | None
    thread_id: str | None
    turns: int
    tokens: Tokens
    session_ids: tuple[str, ...] = ()
    workspace_path: str | None = None
    worker_host: str | None = None
    run_id: int | None = None
    cost_usd: float | None = None
    # What its agent asked a human, with the answers, and the operators' steer messages.
    requests: tuple[RequestRecord, ...] = ()
    steers: tuple[SteerRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class IssueDetail:
    """``RuntimeView.issue_detail()``: SPEC §13.7.2 ``GET /api/v1/<identifier>``.

    ``running``, ``retry`` and ``blocked`` are the issue's rows of the snapshot when it is in that
    list (the API shows a subset of their fields); ``restart_count`` counts earlier runs.
    """

    issue_identifier: str
    issue_id: str
    status: IssueStatus
    workspace_path: str | None
    restart_count: int
    current_retry_attempt: int | None
    running: RunningRow | None
    retry: RetryRow | None
    blocked: BlockedRow | None
    logs: tuple[LogFile, ...]
    recent_events: tuple[TimelineEvent, ...]
    last_error: str | None
    issue_url: str | None
    # Requests its agent parked for a human, oldest first (docs/human-requests.md).
    pending_requests: tuple[RequestRecord, ...] = ()
    # Oldest first; survives restarts (docs/storage.md).
    history: tuple[HistoryRun, ...] = ()
    hold: HeldRow | None = None
    # Its best-of candidates (docs/best-of.md), each as ``Candidate.to_json()``; empty when the
    # issue has none.
    candidates: tuple[Mapping[str, Any], ...] = ()


@record
class AgentActivity:
    """One agent event as listeners see it (``RuntimeChange`` of kind ``agent_event``).

    ``tokens`` holds the thread's absolute token counts by name when the event carried them.
    """

    issue_id: str
    issue_identifier: str
    session_id: str | None = None
    at: datetime | None = None
    event: str | None = None
    message: str | None = None
    tokens: Mapping[str, int] | None = None

    @property
    def kind(self) -> Literal["agent_event"]:
        return "agent_event"


@dataclass(frozen=True, slots=True)
class SnapshotChanged:
    """Scheduling state changed (``RuntimeChange`` of kind ``snapshot``)."""

    snapshot: Snapshot

    @property
    def kind(self) -> Literal["snapshot"]:
        return "snapshot"
