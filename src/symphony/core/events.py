"""Inputs to the scheduling core: timers firing, tracker answers, worker reports (SPEC §7.3).

Tracker reads come back as ``issues`` on success or an ``error`` (a short, operator-facing
``code``/``message`` pair) on failure; the core relies only on success versus failure (SPEC §11.1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from symphony.core.candidates import CandidateSet
from symphony.core.config import SchedulerConfig
from symphony.core.state import Hold, Resumable, RetryKind, RunRecord
from symphony.fastdata import record
from symphony.issue import Issue
from symphony.usage import TokenUsage


@dataclass(frozen=True, slots=True)
class FetchError:
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Started:
    """The service passed startup validation (SPEC §16.1): clean up, then tick at once."""


@dataclass(frozen=True, slots=True)
class TerminalIssuesFetched:
    issues: Sequence[Issue] = ()
    error: FetchError | None = None


@dataclass(frozen=True, slots=True)
class TickDue:
    """The poll timer fired (or a refresh asked for a poll now). ``day`` is the UTC day
    (``YYYY-MM-DD``) from the runtime's clock, for the daily cost cap; None: unchanged."""

    day: str | None = None


@dataclass(frozen=True, slots=True)
class RunningRefreshed:
    tick_id: int
    issues: Sequence[Issue] = ()
    error: FetchError | None = None


@dataclass(frozen=True, slots=True)
class CandidatesFetched:
    tick_id: int
    issues: Sequence[Issue] = ()
    error: FetchError | None = None


@dataclass(frozen=True, slots=True)
class RefreshRequested:
    """Operator trigger (SPEC §13.7.2 ``POST /api/v1/refresh``); coalesced while a poll is due."""


@dataclass(frozen=True, slots=True)
class IssuesChanged:
    """The tracker says these issues changed (a verified webhook): refresh just them, at once."""

    issue_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ChangedIssuesFetched:
    """The answer to ``FetchChangedIssues``; ``read_id`` names the request it answers."""

    read_id: int
    issues: Sequence[Issue] = ()
    error: FetchError | None = None


@dataclass(frozen=True, slots=True)
class RetryDue:
    issue_id: str
    token: int


@dataclass(frozen=True, slots=True)
class RetryIssueFetched:
    issue_id: str
    token: int
    issues: Sequence[Issue] = ()
    error: FetchError | None = None


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    """The worker prepared its workspace (and opened its transcript)."""

    issue_id: str
    run_id: int
    workspace_path: str
    log_paths: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class HumanRequestsChanged:
    """The run's agent now waits on ``pending`` human requests (docs/human-requests.md)."""

    issue_id: str
    run_id: int
    pending: int


@record
class AgentUpdate:
    """One agent event (SPEC §10.4), whichever backend runs. ``usage`` holds the absolute
    totals of the agent's thread when the event carries them."""

    issue_id: str
    run_id: int
    event: str
    session_id: str | None = None
    thread_id: str | None = None
    turn_id: str | None = None
    pid: str | None = None
    message: str | None = None
    usage: TokenUsage | None = None
    rate_limits: Mapping[str, Any] | None = None
    # The model the session runs (set on session start), and what the agent itself says this
    # event's work cost in USD (an increment, not a total), when it says so.
    model: str | None = None
    cost_usd: float | None = None


@dataclass(frozen=True, slots=True)
class HandingOff:
    """The run's issue left the active states for a non-terminal one (e.g. ``Human Review``):
    the worker collects the proof of work and runs ``hooks.verify``. While ``active`` is true,
    reconciliation keeps the run for a non-active state and the stall check skips it;
    ``active=False`` says the hand-off is over (verify failed and the agent goes on, or the
    worker is about to exit)."""

    issue_id: str
    run_id: int
    active: bool = True


@dataclass(frozen=True, slots=True)
class HoldRequested:
    """The worker found a reason to stop its run and keep the issue from running again
    (``reason``: ``no_progress``, ``budget_exhausted``); ``limit`` is the deciding setting and
    its value (docs/holds.md)."""

    issue_id: str
    run_id: int
    reason: str
    message: str
    limit: tuple[str, float] | None = None


@dataclass(frozen=True, slots=True)
class TurnMeasured:
    """A turn of the run ended; ``productive``: it changed the workspace or wrote to the
    tracker (``agent.max_unproductive_turns``, docs/holds.md)."""

    issue_id: str
    run_id: int
    productive: bool


@dataclass(frozen=True, slots=True)
class ReleaseRequested:
    """An operator released the issue's hold (``POST /api/v1/<identifier>/release``)."""

    issue_id: str


@dataclass(frozen=True, slots=True)
class WorkerExited:
    """The attempt ended by itself: ``ok`` is a normal exit, otherwise ``error`` says why and
    ``code`` is the error's stable code when there is one (e.g. ``turn_timeout``)."""

    issue_id: str
    run_id: int
    ok: bool
    error: str | None = None
    code: str | None = None
    # The failure is this machine's setup, not the issue's (core.outage): every run would fail.
    environment: bool = False
    # A best-of candidate called symphony_hand_off: its summary (docs/best-of.md).
    handed_off: str | None = None


@dataclass(frozen=True, slots=True)
class RestoredRetry:
    issue_id: str
    identifier: str
    issue_url: str | None
    attempt: int
    due_ms: float
    kind: RetryKind
    error: str | None
    worker_host: str | None = None


@dataclass(frozen=True, slots=True)
class RestoredRun:
    issue_id: str
    identifier: str
    issue_url: str | None
    run: RunRecord


@dataclass(frozen=True, slots=True)
class Restored:
    """What the store kept from before the restart, fed once before ``Started`` (times already
    turned into this process's monotonic milliseconds). The core's own rules decide what
    happens to it: retries keep their due time and attempt, cut-short runs are offered to the
    first poll, history and totals continue."""

    retries: tuple[RestoredRetry, ...] = ()
    holds: tuple[Hold, ...] = ()
    # Issues whose best-of candidate a human picked (docs/best-of.md).
    picked: tuple[str, ...] = ()
    # Candidate sets a restart cut short (not judged yet): they go on.
    open_candidates: tuple[CandidateSet, ...] = ()
    # What each issue's runs used since its last release: (issue_id, tokens, runtime_ms,
    # cost_usd).
    spent: tuple[tuple[str, int, float, float], ...] = ()
    resumable: tuple[Resumable, ...] = ()
    history: tuple[RestoredRun, ...] = ()  # oldest first
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    seconds_running: float = 0.0
    cost_usd: float = 0.0
    # The UTC day at startup and what the stored runs that ended in it cost.
    day: str | None = None
    day_cost_usd: float = 0.0
    next_run_id: int = 1


@dataclass(frozen=True, slots=True)
class ConfigChanged:
    """A reload produced a new effective config, or the workflow's error status changed.

    ``error`` set means the workflow file is currently invalid: new dispatches are skipped while
    reconciliation keeps running (SPEC §5.5, §6.3).
    """

    config: SchedulerConfig
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ShutdownRequested:
    """Stop dispatching and stop every worker (no retries are scheduled)."""


@dataclass(frozen=True, slots=True)
class CandidatesJudged:
    """Judging of the issue's candidates is over; ``moved``: the issue went to review."""

    issue_id: str
    candidates: CandidateSet
    moved: bool
    # Why the issue did not move (the tracker's error), when it did not.
    error: str | None = None


@dataclass(frozen=True, slots=True)
class CandidatePicked:
    """A human approved candidate ``name`` of the issue: later runs are its one run."""

    issue_id: str
    name: str


Event = (
    Restored
    | Started
    | TerminalIssuesFetched
    | TickDue
    | RunningRefreshed
    | CandidatesFetched
    | RefreshRequested
    | IssuesChanged
    | ChangedIssuesFetched
    | RetryDue
    | RetryIssueFetched
    | WorkerInfo
    | AgentUpdate
    | HumanRequestsChanged
    | HandingOff
    | HoldRequested
    | ReleaseRequested
    | TurnMeasured
    | WorkerExited
    | ConfigChanged
    | ShutdownRequested
    | CandidatesJudged
    | CandidatePicked
)
