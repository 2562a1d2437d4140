"""Outputs of the scheduling core: what the runtime must do next (tracker reads, workers, timers).

Each fetch effect names the event its result must come back as, so the runtime stays a dumb
executor. ``Log`` keeps even logging out of the core, which makes it trivially testable.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from symphony.core.candidates import CandidateRef, CandidateSet
from symphony.core.state import Hold, RetryKind, RunRecord
from symphony.issue import Issue


@dataclass(frozen=True, slots=True)
class FetchTerminalIssues:
    """Startup cleanup (SPEC §8.6); answer with ``TerminalIssuesFetched``."""

    states: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FetchRunningIssues:
    """Reconciliation refresh (SPEC §8.5 part B); answer with ``RunningRefreshed``."""

    tick_id: int
    issue_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FetchCandidates:
    """Candidate poll (SPEC §8.1 step 3); answer with ``CandidatesFetched``."""

    tick_id: int
    states: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FetchRetryIssue:
    """Retry re-fetch by id (SPEC §8.4); answer with ``RetryIssueFetched``."""

    issue_id: str
    token: int


@dataclass(frozen=True, slots=True)
class FetchChangedIssues:
    """Targeted refresh of issues the tracker said changed; answer with
    ``ChangedIssuesFetched(read_id, ...)``."""

    read_id: int
    issue_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StartWorker:
    issue: Issue
    attempt: int | None
    run_id: int
    # Continue this agent thread instead of starting a new one (a run a restart cut short).
    resume_thread_id: str | None = None
    # The worker.ssh_hosts entry to run on; None: this machine.
    worker_host: str | None = None
    # A best-of candidate's run (docs/best-of.md); its events come back keyed by run key.
    candidate: CandidateRef | None = None


@dataclass(frozen=True, slots=True)
class StopWorker:
    """Cancel the worker (its agent process group is killed, ``after_run`` still runs).

    With ``cleanup`` the workspace is removed once the worker is gone (terminal issue).
    """

    issue_id: str
    identifier: str
    run_id: int
    cleanup: bool
    reason: str
    # Where the worker put its workspace, so cleanup works even after workspace.root changed.
    workspace_path: str | None = None


@dataclass(frozen=True, slots=True)
class RemoveWorkspaces:
    """Remove workspaces of issues that are not running (startup sweep, terminal retry, a
    parked issue that became terminal); ``before_remove`` runs first."""

    issues: tuple[tuple[str, str], ...]  # (issue_id, identifier)
    # (issue_id, path) where a worker recorded the workspace path: removal uses that path, so it
    # still works after workspace.root changed. Other issues go by identifier under the root.
    paths: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ScheduleTick:
    """(Re)arm the single poll timer."""

    delay_ms: float


@dataclass(frozen=True, slots=True)
class SetRetryTimer:
    """(Re)arm the retry timer of one issue; it fires ``RetryDue(issue_id, token)``."""

    issue_id: str
    token: int
    delay_ms: float


@dataclass(frozen=True, slots=True)
class CancelRetryTimer:
    issue_id: str


@dataclass(frozen=True, slots=True)
class AckRefresh:
    coalesced: bool


@dataclass(frozen=True, slots=True)
class Notify:
    """Scheduling state changed; observers should re-read the snapshot (SPEC §8.1 step 6)."""


@dataclass(frozen=True, slots=True)
class Log:
    level: int
    message: str
    fields: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def info(cls, message: str, /, about: Issue | None = None, **fields: Any) -> Log:
        return cls(logging.INFO, message, _fields(about, fields))

    @classmethod
    def warning(cls, message: str, /, about: Issue | None = None, **fields: Any) -> Log:
        return cls(logging.WARNING, message, _fields(about, fields))

    @classmethod
    def error(cls, message: str, /, about: Issue | None = None, **fields: Any) -> Log:
        return cls(logging.ERROR, message, _fields(about, fields))

    @classmethod
    def debug(cls, message: str, /, about: Issue | None = None, **fields: Any) -> Log:
        return cls(logging.DEBUG, message, _fields(about, fields))


def _fields(about: Issue | None, fields: dict[str, Any]) -> Mapping[str, Any]:
    """``about`` puts the issue's id and identifier first, as every issue line carries them."""
    if about is None:
        return fields
    return {"issue_id": about.id, "issue_identifier": about.identifier, **fields}


# --- durable state (docs/storage.md): what the runtime writes to the store -------------------
# Times are the core's monotonic milliseconds; the runtime turns them into wall-clock instants.


@dataclass(frozen=True, slots=True)
class RecordRunStarted:
    run_id: int
    issue_id: str
    identifier: str
    issue_url: str | None
    attempt: int | None
    started_ms: float


@dataclass(frozen=True, slots=True)
class RecordRunProgress:
    """The run's agent process or thread became known: enough to clean up and resume it after a
    crash. Emitted when one of them changes, never per agent event."""

    run_id: int
    pid: str | None
    thread_id: str | None


@dataclass(frozen=True, slots=True)
class RecordRunEnded:
    """``resume``: the run was cut short by the shutdown, continue it after the restart."""

    issue_id: str
    identifier: str
    run: RunRecord
    resume: bool = False


@dataclass(frozen=True, slots=True)
class RecordRetry:
    issue_id: str
    identifier: str
    issue_url: str | None
    attempt: int
    due_ms: float
    kind: RetryKind
    error: str | None
    worker_host: str | None = None


@dataclass(frozen=True, slots=True)
class ForgetRetry:
    """The retry was dispatched or released (a shutdown keeps retries: they survive it)."""

    issue_id: str


@dataclass(frozen=True, slots=True)
class ForgetResume:
    """The cut-short run of this issue was dispatched again, or the tracker no longer wants it."""

    issue_id: str


@dataclass(frozen=True, slots=True)
class RecordHold:
    hold: Hold


@dataclass(frozen=True, slots=True)
class ForgetHold:
    """The hold ended (released, limit raised, issue left the active states)."""

    issue_id: str


@dataclass(frozen=True, slots=True)
class RecordBudgetReset:
    """The issue's budgets count from now on (it was released): runs before do not count."""

    issue_id: str


@dataclass(frozen=True, slots=True)
class SaveCandidates:
    """Keep the issue's best-of candidate set as it is now (docs/best-of.md)."""

    candidates: CandidateSet


@dataclass(frozen=True, slots=True)
class ForgetCandidates:
    issue_id: str


@dataclass(frozen=True, slots=True)
class JudgeCandidates:
    """Every candidate of the issue handed off or failed: verify, rank, move the issue once and
    post the comparison comment, then report ``CandidatesJudged``."""

    issue: Issue
    candidates: CandidateSet


@dataclass(frozen=True, slots=True)
class PublishCandidates:
    """Moving the judged issue to review failed before: try the move and the comparison
    comment again (no new judging), then report ``CandidatesJudged``."""

    issue: Issue
    candidates: CandidateSet


@dataclass(frozen=True, slots=True)
class AnnounceCandidatesFailed:
    """Every candidate of the issue failed: one comment (the best-of comment, replaced) with
    their errors and when the issue is tried again (``attempt``, in ``delay_ms``)."""

    issue: Issue
    candidates: CandidateSet
    attempt: int
    delay_ms: float


StoreEffect = (
    RecordRunStarted
    | RecordRunProgress
    | RecordRunEnded
    | RecordRetry
    | ForgetRetry
    | ForgetResume
    | RecordHold
    | ForgetHold
    | RecordBudgetReset
    | SaveCandidates
    | ForgetCandidates
)


@dataclass(frozen=True, slots=True)
class AnnounceHold:
    """Tell the people on the issue why it stopped (one comment, ``holds.comment``)."""

    hold: Hold


Effect = (
    FetchTerminalIssues
    | FetchRunningIssues
    | FetchCandidates
    | FetchRetryIssue
    | FetchChangedIssues
    | StartWorker
    | StopWorker
    | RemoveWorkspaces
    | ScheduleTick
    | SetRetryTimer
    | CancelRetryTimer
    | AckRefresh
    | Notify
    | Log
    | AnnounceHold
    | JudgeCandidates
    | PublishCandidates
    | AnnounceCandidatesFailed
    | StoreEffect
)
