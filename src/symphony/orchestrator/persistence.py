"""The runtime's side of durable state (docs/storage.md): the core decides, this writes it down.

- ``restore`` (startup, in a thread): reads the store once, kills and waits out the agent
  process groups of runs a crash left behind, closes those runs as ``interrupted`` and turns
  everything into the core's ``Restored`` event (wall-clock instants become this process's
  monotonic milliseconds).
- ``execute``: a store effect of the core becomes a ``Write`` queued for the writer thread.
- Totals are written at most every ``TOTALS_EVERY_S`` and at shutdown, never per agent event.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import assert_never

from symphony.core.candidates import CandidateSet
from symphony.core.effects import (
    ForgetCandidates,
    ForgetHold,
    ForgetResume,
    ForgetRetry,
    RecordBudgetReset,
    RecordHold,
    RecordRetry,
    RecordRunEnded,
    RecordRunProgress,
    RecordRunStarted,
    SaveCandidates,
    StoreEffect,
)
from symphony.core.events import Restored, RestoredRetry, RestoredRun
from symphony.core.snapshot import Instant
from symphony.core.state import (
    RUN_OUTCOMES,
    Hold,
    Resumable,
    RetryKind,
    RunOutcome,
    RunRecord,
    Totals,
)
from symphony.human import HumanAnswer, RequestRecord, SteerRecord
from symphony.logs import get_logger
from symphony.process import ProcessIdentity, kill_stale_group, process_identity
from symphony.storage import StateStore, StoredRun, StoredState
from symphony.storage.candidates import CandidateSetDropped, CandidateSetSaved
from symphony.storage.human import RequestSaved, SteerSaved
from symphony.storage.writes import (
    BudgetReset,
    HoldDropped,
    HoldSaved,
    ResumeSettled,
    RetryDropped,
    RetrySaved,
    RunEnded,
    RunProgress,
    RunStarted,
    TotalsSaved,
)

log = get_logger("symphony.orchestrator")

TOTALS_EVERY_S = 5.0
CUT_SHORT_ERROR = "the service stopped during the run (it continues after the restart)"


class Persistence:
    def __init__(self, store: StateStore) -> None:
        self.store = store
        self._saved: TotalsSaved | None = None
        # What ``restore`` read of the human requests and steers, for the human desk.
        self.human_records: tuple[tuple[RequestRecord, ...], tuple[SteerRecord, ...]] = ((), ())
        # The best-of candidate sets ``restore`` read, for issue details (docs/best-of.md).
        self.candidate_sets: tuple[CandidateSet, ...] = ()

    # --- startup ----------------------------------------------------------------------------

    def restore(self, now: Instant) -> Restored:
        """Blocking (reads the store, waits for stale agents to die): run it in a thread."""
        stored = self.store.load()
        ended_at = now.wall
        runs: list[StoredRun] = []
        for run in stored.runs:
            if run.ended_at is None or run.resume:
                _kill_leftovers(run)
            if run.ended_at is None:
                run = _cut_short(run, ended_at)
                self.store.submit(_ended(run))
            runs.append(run)
        requests: list[RequestRecord] = []
        for request in stored.requests:
            if request.status == "pending":
                # Its agent died with the service: it was never answered (the resumed thread's
                # agent may ask again).
                request = replace(
                    request, status="expired", answer=HumanAnswer.declined(), answered_at=ended_at
                )
                self.store.submit(RequestSaved(request))
            requests.append(request)
        self.human_records = (tuple(requests), stored.steers)
        self.candidate_sets = stored.candidate_sets
        self.store.start()
        totals = stored.totals
        self._saved = TotalsSaved(
            totals.input_tokens,
            totals.output_tokens,
            totals.total_tokens,
            totals.seconds_running,
            totals.cost_usd,
        )
        event = restored_event(stored, runs, now)
        log.info(
            "state restored",
            path=self.store.path,
            runs=len(event.history),
            retries=len(event.retries),
            resumable=len(event.resumable),
            total_tokens=event.total_tokens,
        )
        return event

    # --- effects ----------------------------------------------------------------------------

    def execute(self, effect: StoreEffect, now: Instant) -> None:
        match effect:
            case RecordRunStarted():
                self.store.submit(
                    RunStarted(
                        effect.run_id,
                        effect.issue_id,
                        effect.identifier,
                        effect.issue_url,
                        effect.attempt,
                        now.at(effect.started_ms),
                    )
                )
            case RecordRunProgress(run_id=run_id, pid=pid, thread_id=thread_id):
                identity = _identity(pid)
                self.store.submit(
                    RunProgress(
                        run_id,
                        int(pid) if identity is not None and pid is not None else None,
                        identity.started if identity is not None else None,
                        identity.boot_id if identity is not None else None,
                        thread_id,
                    )
                )
            case RecordRunEnded(run=run, resume=resume):
                self.store.submit(
                    RunEnded(
                        run_id=run.run_id,
                        ended_at=now.at(run.ended_ms),
                        outcome=run.outcome,
                        error=run.error,
                        thread_id=run.thread_id,
                        session_ids=run.session_ids,
                        turns=run.turns,
                        input_tokens=run.input_tokens,
                        output_tokens=run.output_tokens,
                        total_tokens=run.total_tokens,
                        workspace=run.workspace_path,
                        worker_host=run.worker_host,
                        resume=resume,
                        cost_usd=run.cost_usd,
                    )
                )
            case RecordRetry():
                self.store.submit(
                    RetrySaved(
                        effect.issue_id,
                        effect.identifier,
                        effect.issue_url,
                        effect.attempt,
                        now.at(effect.due_ms),
                        effect.kind,
                        effect.error,
                        effect.worker_host,
                    )
                )
            case ForgetRetry(issue_id=issue_id):
                self.store.submit(RetryDropped(issue_id))
            case ForgetResume(issue_id=issue_id):
                self.store.submit(ResumeSettled(issue_id))
            case RecordHold(hold=hold):
                key, value = hold.limit if hold.limit is not None else (None, None)
                self.store.submit(
                    HoldSaved(
                        hold.issue_id,
                        hold.identifier,
                        hold.issue_url,
                        hold.reason,
                        hold.message,
                        now.at(hold.since_ms),
                        key,
                        value,
                    )
                )
            case ForgetHold(issue_id=issue_id):
                self.store.submit(HoldDropped(issue_id))
            case RecordBudgetReset(issue_id=issue_id):
                self.store.submit(BudgetReset(issue_id, now.wall))
            case SaveCandidates(candidates=candidates):
                self.store.submit(CandidateSetSaved(candidates, now.wall))
            case ForgetCandidates(issue_id=issue_id):
                self.store.submit(CandidateSetDropped(issue_id))
            case _:
                assert_never(effect)

    def record_human(self, record: RequestRecord | SteerRecord) -> None:
        """The human desk's listener: every request at each status change, every steer."""
        if isinstance(record, RequestRecord):
            self.store.submit(RequestSaved(record))
        else:
            self.store.submit(SteerSaved(record))

    def save_totals(self, totals: Totals) -> None:
        """Queue the totals when they changed since the last save."""
        tokens = totals.tokens
        current = TotalsSaved(
            tokens.input_tokens,
            tokens.output_tokens,
            tokens.total_tokens,
            round(totals.ended_seconds, 3),
            totals.cost_usd,
        )
        if current != self._saved:
            self._saved = current
            self.store.submit(current)


def _identity(pid: str | None) -> ProcessIdentity | None:
    if pid is None or not pid.isdigit():
        return None
    return process_identity(int(pid))


def _kill_leftovers(run: StoredRun) -> None:
    if run.pgid is None or run.pgid_started is None or run.boot_id is None:
        return
    leader = ProcessIdentity(run.pgid_started, run.boot_id)
    try:
        killed = kill_stale_group(run.pgid, leader)
    except TimeoutError as exc:
        log.error("agent of an interrupted run would not die", pgid=run.pgid, error=str(exc))
        return
    if killed:
        log.warning(
            "killed the agent of a run the restart cut short",
            issue_id=run.issue_id,
            issue_identifier=run.identifier,
            pgid=run.pgid,
            processes=killed,
        )


def _cut_short(run: StoredRun, ended_at: datetime) -> StoredRun:
    return replace(
        run, ended_at=ended_at, outcome="interrupted", error=CUT_SHORT_ERROR, resume=True
    )


def _ended(run: StoredRun) -> RunEnded:
    assert run.ended_at is not None and run.outcome is not None
    return RunEnded(
        run_id=run.run_id,
        ended_at=run.ended_at,
        outcome=run.outcome,
        error=run.error,
        thread_id=run.thread_id,
        session_ids=run.session_ids,
        turns=run.turns,
        input_tokens=run.input_tokens,
        output_tokens=run.output_tokens,
        total_tokens=run.total_tokens,
        workspace=run.workspace,
        worker_host=run.worker_host,
        resume=run.resume,
        cost_usd=run.cost_usd,
    )


def _mono(now: Instant, at: datetime) -> float:
    return now.mono_ms - (now.wall - at.astimezone(UTC)).total_seconds() * 1000.0


def _outcome(text: str | None) -> RunOutcome:
    for outcome in RUN_OUTCOMES:
        if outcome == text:
            return outcome
    return "failed"


def _kind(text: str) -> RetryKind:
    return "continuation" if text == "continuation" else "failure"


def restored_event(stored: StoredState, runs: Iterable[StoredRun], now: Instant) -> Restored:
    history: list[RestoredRun] = []
    latest: dict[str, StoredRun] = {}
    for run in runs:
        latest[run.issue_id] = run
        assert run.ended_at is not None
        history.append(
            RestoredRun(
                run.issue_id,
                run.identifier,
                run.issue_url,
                RunRecord(
                    run_id=run.run_id,
                    attempt=run.attempt,
                    started_ms=_mono(now, run.started_at),
                    ended_ms=_mono(now, run.ended_at),
                    outcome=_outcome(run.outcome),
                    error=run.error,
                    thread_id=run.thread_id,
                    session_ids=run.session_ids,
                    turns=run.turns,
                    input_tokens=run.input_tokens,
                    output_tokens=run.output_tokens,
                    total_tokens=run.total_tokens,
                    workspace_path=run.workspace,
                    worker_host=run.worker_host,
                    cost_usd=run.cost_usd,
                ),
            )
        )
    # Only an issue's last run can be continued: a later run already took over otherwise.
    resumable = tuple(
        Resumable(r.issue_id, r.identifier, r.attempt, r.thread_id, r.workspace)
        for r in latest.values()
        if r.resume
    )
    retries = tuple(
        RestoredRetry(
            r.issue_id,
            r.identifier,
            r.issue_url,
            r.attempt,
            _mono(now, r.due_at),
            _kind(r.kind),
            r.error,
            r.worker_host,
        )
        for r in stored.retries
    )
    spent: dict[str, tuple[int, float, float]] = {}
    for run in runs:
        reset = stored.budget_resets.get(run.issue_id)
        if run.ended_at is None or (reset is not None and run.started_at < reset):
            continue
        tokens, runtime_ms, cost = spent.get(run.issue_id, (0, 0.0, 0.0))
        took = max((run.ended_at - run.started_at).total_seconds() * 1000.0, 0.0)
        spent[run.issue_id] = (
            tokens + run.total_tokens,
            runtime_ms + took,
            cost + (run.cost_usd or 0.0),
        )
    holds = tuple(
        Hold(
            issue_id=h.issue_id,
            identifier=h.identifier,
            reason=h.reason,
            message=h.message,
            since_ms=_mono(now, h.since),
            issue_url=h.issue_url,
            limit=(h.limit_key, h.limit_value)
            if h.limit_key is not None and h.limit_value is not None
            else None,
        )
        for h in stored.holds
    )
    totals = stored.totals
    day = now.wall.astimezone(UTC).date()
    # Runs that ended today (UTC) count for today's cost cap, whenever they started.
    day_cost = sum(
        run.cost_usd or 0.0
        for run in runs
        if run.ended_at is not None and run.ended_at.astimezone(UTC).date() == day
    )
    return Restored(
        retries=retries,
        holds=holds,
        spent=tuple((issue_id, t, r, c) for issue_id, (t, r, c) in spent.items()),
        resumable=resumable,
        history=tuple(history),
        input_tokens=totals.input_tokens,
        output_tokens=totals.output_tokens,
        total_tokens=totals.total_tokens,
        seconds_running=totals.seconds_running,
        cost_usd=totals.cost_usd,
        day=day.isoformat(),
        day_cost_usd=day_cost,
        next_run_id=stored.max_run_id + 1,
        picked=tuple(s.issue_id for s in stored.candidate_sets if s.chosen is not None),
        open_candidates=tuple(s for s in stored.candidate_sets if not s.judged),
    )
