"""The orchestrator's single authoritative in-memory state (SPEC §4.1.6-4.1.8).

Only ``decide`` mutates it. Times are monotonic milliseconds supplied by the caller; the snapshot
converts them to wall-clock instants. ``claimed`` is derived rather than stored: an issue is
claimed exactly while it is running or has a retry entry, so a claim can never outlive both, and
an issue waiting for its retry (after a stall, say) is never dispatched early by a poll.
"""

from __future__ import annotations

import enum
from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from symphony.core.candidates import CandidateRef, CandidateSet
from symphony.core.config import SchedulerConfig
from symphony.fastdata import record
from symphony.issue import BlockerRef, Issue
from symphony.usage import TokenUsage

RECENT_EVENTS = 20
HISTORY_LIMIT = 1_000
# Parked issues (released with their workspace kept): how many are remembered, how many are
# refreshed per tick (one tracker page), and how long one may sit unchanged before it is dropped.
PARKED_LIMIT = 2_000
PARKED_BATCH = 50
PARKED_MAX_IDLE_MS = 7 * 24 * 3_600_000
# Blocked issues shown to operators; past this many the rest are only counted.
BLOCKED_LIMIT = 500
# Targeted refreshes (tracker webhooks): reads in flight at once (more changes wait and share
# the next read), ids per read (one tracker page), and how often one issue is asked again when
# its claim changed while it was being read.
CHANGE_READS = 2
CHANGE_BATCH = 50
CHANGE_ROUNDS = 3

RetryKind = Literal["continuation", "failure"]
# How a run ended, as its history row says. Every outcome but ``succeeded`` carries an error.
RunOutcome = Literal["succeeded", "failed", "timed_out", "stalled", "canceled", "interrupted"]
RUN_OUTCOMES: tuple[RunOutcome, ...] = (
    "succeeded",
    "failed",
    "timed_out",
    "stalled",
    "canceled",
    "interrupted",
)
# Runs remembered per issue for ``issue_detail`` (the store keeps every one).
RUN_HISTORY_LIMIT = 50


class Phase(enum.Enum):
    """Where the poll tick is (SPEC §8.1): idle between ticks, else waiting on a tracker read."""

    IDLE = "idle"
    RECONCILING = "reconciling"
    FETCHING_CANDIDATES = "fetching_candidates"


@record
class RecentEvent:
    at_ms: float
    event: str
    message: str | None


@dataclass(slots=True)
class TokenCounts:
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0

    def to_dict(self) -> dict[str, int]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
        }


@dataclass(slots=True)
class RunningEntry:
    """One live worker (SPEC §16.4) plus its live session metadata (SPEC §4.1.6)."""

    issue: Issue
    run_id: int
    attempt: int | None
    started_ms: float
    workspace_path: str | None = None
    log_paths: tuple[tuple[str, str], ...] = ()
    session_id: str | None = None
    thread_id: str | None = None
    turn_id: str | None = None
    pid: str | None = None
    turn_count: int = 0
    last_event: str | None = None
    last_message: str | None = None
    last_event_ms: float | None = None
    tokens: TokenCounts = field(default_factory=TokenCounts)
    # Absolute thread totals already accounted for (SPEC §13.5 high-water marks).
    last_reported: TokenUsage = field(default_factory=TokenUsage)
    recent: deque[RecentEvent] = field(default_factory=lambda: deque(maxlen=RECENT_EVENTS))
    # Requests of this run parked for a human; the stall check skips the run meanwhile.
    pending_requests: int = 0
    session_ids: list[str] = field(default_factory=list)
    # The thread a run cut short by a restart had: this run continues it.
    resume_thread_id: str | None = None
    # The worker is collecting the proof and verifying a hand-off: kept in a non-active state,
    # skipped by the stall check (hooks.timeout_ms bounds the verify hook).
    handing_off: bool = False
    # The issue crossed agent.wrap_up_at of a budget: its next continuation turn wraps up.
    wrap_up: bool = False
    # ``agent.kind`` when the run was dispatched.
    agent_kind: str | None = None
    # The model the agent reported at session start; prices its tokens.
    model: str | None = None
    # What the run cost in USD: priced token growth, else what the agent reported; None while
    # neither is known.
    cost_usd: float | None = None
    # Which best-of candidate of the issue this run is (docs/best-of.md); None: its one run.
    candidate: CandidateRef | None = None

    @property
    def run_key(self) -> str:
        """Its key in ``OrchestratorState.running``: the issue id, ``<issue id>/<name>`` for a
        candidate (an issue has one run, or one per candidate)."""
        return run_key(self.issue.id, self.candidate.name if self.candidate else None)

    # The worker.ssh_hosts entry the run was placed on, as configured; None: this machine.
    worker_host: str | None = None

    @property
    def activity_ms(self) -> float:
        """SPEC §8.5 part A: the last agent event, else the start."""
        return self.last_event_ms if self.last_event_ms is not None else self.started_ms


@dataclass(slots=True)
class RetryEntry:
    """SPEC §4.1.7. ``token`` identifies the live timer; a timer with another token is stale."""

    issue_id: str
    identifier: str
    attempt: int
    due_ms: float
    token: int
    kind: RetryKind
    error: str | None = None
    issue_url: str | None = None
    # True between the timer firing and the tracker answering the re-fetch by id.
    fetching: bool = False
    # The host the failed or continued run was on: the retry prefers it (its workspace is there).
    worker_host: str | None = None
    # The best-of candidate this retry reruns (docs/best-of.md), None for the issue's own; with
    # ``publish``, the retry moves a judged issue to review instead of running anything.
    candidate: str | None = None
    publish: bool = False


@dataclass(slots=True)
class OpenCandidates:
    """The core's view of an issue whose candidates are at work: the issue claimed from the
    first candidate's dispatch until judging is over (``judging`` while it runs)."""

    issue: Issue
    attempt: int | None
    candidates: CandidateSet
    judging: bool = False
    # Candidates waiting for their retry's backoff, by name.
    retries: dict[str, RetryEntry] = field(default_factory=dict)
    # Judged, but moving the issue to review failed: the tries so far and the next one's
    # ``RetryEntry`` (None while none is waiting).
    publish_failures: int = 0
    publish_retry: RetryEntry | None = None


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One finished run of an issue, as its history shows it (and the store keeps it)."""

    run_id: int
    attempt: int | None
    started_ms: float
    ended_ms: float
    outcome: RunOutcome
    error: str | None
    thread_id: str | None = None
    session_ids: tuple[str, ...] = ()
    turns: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    workspace_path: str | None = None
    cost_usd: float | None = None
    # Where the agent ran; None while every agent runs on this machine.
    worker_host: str | None = None


@dataclass(frozen=True, slots=True)
class HostHealth:
    """A worker host that failed: no new run goes there until ``down_until_ms``."""

    down_until_ms: float | None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Resumable:
    """A run a restart cut short: the first poll that still finds the issue a candidate
    dispatches it again with the same attempt, on the same thread."""

    issue_id: str
    identifier: str
    attempt: int | None
    thread_id: str | None
    workspace_path: str | None


@dataclass(slots=True)
class IssueRecord:
    """What the runtime remembers about an issue after its worker ended (for issue_detail)."""

    issue_id: str
    identifier: str
    issue_url: str | None = None
    state: str | None = None
    workspace_path: str | None = None
    log_paths: tuple[tuple[str, str], ...] = ()
    runs: int = 0
    last_error: str | None = None
    recent: tuple[RecentEvent, ...] = ()
    runs_history: deque[RunRecord] = field(default_factory=lambda: deque(maxlen=RUN_HISTORY_LIMIT))
    # Known only from the store (it ran before the restart), not from this process.
    restored: bool = False


@dataclass(slots=True)
class ParkedIssue:
    """An issue released while its workspace was kept (not active any more, not terminal yet).

    The tick keeps refreshing it so that a later move to a terminal state removes the workspace
    while the service runs, instead of at the next start's sweep (an extension of SPEC §8.5).
    ``since_ms`` is when it was parked or last seen changing state.
    """

    issue_id: str
    identifier: str
    workspace_path: str | None
    tracker_state: str
    since_ms: float


@dataclass(frozen=True, slots=True)
class BlockedIssue:
    """An active, unclaimed issue the scheduler will not dispatch, for a reason an operator can
    act on: the tracker marks it not dispatchable, or it lacks a required label.

    ``blockers`` are its open (non-terminal) blockers; ``since_ms`` is when it was first seen
    blocked, kept while it stays blocked even if the reason changes.
    """

    issue: Issue
    reason: str
    blockers: tuple[BlockerRef, ...]
    since_ms: float


@dataclass(frozen=True, slots=True)
class Hold:
    """An issue Symphony stopped and will not run again by itself (docs/holds.md): not retried,
    not dispatched, until the limit that stopped it is raised, the issue leaves the active
    states, or an operator releases it.

    ``limit`` names the setting that decided it and the value it had (``agent.*`` key, value);
    a reload that raises that setting (or removes the limit) ends the hold.
    """

    issue_id: str
    identifier: str
    reason: str
    message: str
    since_ms: float
    issue_url: str | None = None
    limit: tuple[str, float] | None = None


@dataclass(frozen=True, slots=True)
class ChangeRead:
    """A targeted refresh in flight, with each asked issue's claim at the time it was asked.

    The answer acts only on claims that did not change meanwhile: data read before a run began
    or a claim was released might be older than the data that decided those.
    """

    issue_ids: tuple[str, ...]
    runs: Mapping[str, int]  # run_id of each asked issue's runs, by run key
    claimed: frozenset[str]  # asked issues that were running or waiting for a retry
    rounds: Mapping[str, int]  # how often each was asked again already


@dataclass(frozen=True, slots=True)
class Problem:
    """An operator-visible error with a stable code, e.g. a tracker read that failed."""

    code: str
    message: str
    at_ms: float


@dataclass(slots=True)
class Outage:
    """A problem failing every agent run alike (``core.outage``): dispatch waits for
    ``retry_ms``, then one run (``probe_run``) tries again."""

    code: str
    message: str
    since_ms: float
    failures: int
    retry_ms: float
    due: bool = False
    probe_run: int | None = None


@dataclass(slots=True)
class Spend:
    """What an issue's ended runs used, since it was last released (docs/holds.md, budgets)."""

    tokens: int = 0
    runtime_ms: float = 0.0
    cost_usd: float = 0.0


@dataclass(slots=True)
class Totals:
    tokens: TokenCounts = field(default_factory=TokenCounts)
    # Runtime of sessions that already ended; the snapshot adds the live ones (SPEC §13.5).
    ended_seconds: float = 0.0
    # USD of every run whose cost is known (priced or reported by the agent).
    cost_usd: float = 0.0


@dataclass(slots=True)
class OrchestratorState:
    config: SchedulerConfig
    config_error: str | None = None
    running: dict[str, RunningEntry] = field(default_factory=dict)
    retry_attempts: dict[str, RetryEntry] = field(default_factory=dict)
    # Bookkeeping only, never consulted for dispatch (SPEC §4.1.8).
    completed: set[str] = field(default_factory=set)
    totals: Totals = field(default_factory=Totals)
    rate_limits: Mapping[str, Any] | None = None
    phase: Phase = Phase.IDLE
    tick_id: int = 0
    # run_id of every entry the in-flight reconciliation refresh asked about.
    reconcile_runs: dict[str, int] = field(default_factory=dict)
    # Parked issue ids the in-flight reconciliation refresh asked about.
    reconcile_parked: tuple[str, ...] = ()
    next_tick_ms: float | None = None
    last_tick_end_ms: float | None = None
    last_poll_ms: float | None = None
    tracker_error: Problem | None = None
    started: bool = False
    shutting_down: bool = False
    # A refresh arrived while a tick was running: the tick may have read the tracker before the
    # change it announces, so one more tick follows at once.
    refresh_pending: bool = False
    next_run_id: int = 1
    next_retry_token: int = 1
    history: OrderedDict[str, IssueRecord] = field(default_factory=OrderedDict)
    # By issue id, in refresh order: the next tick asks about the first PARKED_BATCH.
    parked: OrderedDict[str, ParkedIssue] = field(default_factory=OrderedDict)
    # By issue id: at most BLOCKED_LIMIT rows; ``blocked_beyond`` counts the rest that the last
    # candidate fetch found blocked.
    blocked: dict[str, BlockedIssue] = field(default_factory=dict)
    blocked_beyond: int = 0
    # Targeted refreshes: reads in flight by id; for each asked issue, the one read whose answer
    # may act on it (0 while it waits for a read), so an older answer never overrides a newer
    # one; issues waiting for a free read, with their rounds.
    change_reads: dict[int, ChangeRead] = field(default_factory=dict)
    change_owner: dict[str, int] = field(default_factory=dict)
    change_waiting: dict[str, int] = field(default_factory=dict)
    next_change_read: int = 1
    # Runs the last restart cut short, by issue id, until a poll dispatches or drops them.
    resumable: dict[str, Resumable] = field(default_factory=dict)
    # Issues Symphony stopped and keeps from running again, by issue id (docs/holds.md).
    holds: dict[str, Hold] = field(default_factory=dict)
    # Unproductive turns in a row, by claimed issue id (across its runs while it stays claimed).
    unproductive: dict[str, int] = field(default_factory=dict)
    # By issue id: the tokens and runtime of its ended runs, for the per-issue budgets.
    spent: dict[str, Spend] = field(default_factory=dict)
    # The UTC day as the runtime last said (YYYY-MM-DD), what runs cost in it, and whether
    # agent.max_cost_usd_per_day stops new dispatch.
    day: str | None = None
    day_cost_usd: float = 0.0
    dispatch_paused: bool = False
    # Agents cannot start on this machine (core.outage); None while they can.
    outage: Outage | None = None
    # Issues whose best-of candidates are at work or being judged, by issue id (core/best_of.py).
    candidate_sets: dict[str, OpenCandidates] = field(default_factory=dict)
    # Issues whose candidate a human picked: every later run is the issue's one run, in the
    # chosen candidate's workspace.
    picked: set[str] = field(default_factory=set)
    # Issues judging moved to review while a candidate poll was in flight: that poll read them
    # before the move, so its answer does not dispatch them again (cleared when it ends).
    moved_mid_poll: set[str] = field(default_factory=set)
    # Worker hosts that failed recently, by their worker.ssh_hosts entry (docs/workers.md).
    hosts: dict[str, HostHealth] = field(default_factory=dict)

    def take_retry_token(self) -> int:
        """A fresh token for a retry timer: a timer whose token is no longer current is stale."""
        token = self.next_retry_token
        self.next_retry_token += 1
        return token

    @property
    def claimed(self) -> set[str]:
        return set(self.running) | set(self.retry_attempts) | set(self.candidate_sets)

    def is_claimed(self, issue_id: str) -> bool:
        return (
            issue_id in self.running
            or issue_id in self.retry_attempts
            or issue_id in self.candidate_sets
        )


def run_key(issue_id: str, candidate: str | None) -> str:
    return issue_id if candidate is None else f"{issue_id}/{candidate}"
