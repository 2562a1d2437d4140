"""The store as the simulation keeps it: the core's store effects applied to plain dicts, and the
``Restored`` event a restart builds from them (what ``orchestrator/persistence.py`` does with
SQLite, on the simulation's single monotonic timeline)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from symphony.core.effects import (
    ForgetResume,
    ForgetRetry,
    RecordRetry,
    RecordRunEnded,
    RecordRunProgress,
    RecordRunStarted,
    StoreEffect,
)
from symphony.core.events import Restored, RestoredRetry, RestoredRun
from symphony.core.state import Resumable, RunRecord, Totals


@dataclass
class SimRun:
    issue_id: str
    identifier: str
    attempt: int | None
    started_ms: float
    thread_id: str | None = None
    record: RunRecord | None = None  # None while live
    resume: bool = False


@dataclass
class SimStore:
    runs: dict[int, SimRun] = field(default_factory=dict)
    retries: dict[str, RecordRetry] = field(default_factory=dict)
    tokens: int = 0
    seconds: float = 0.0

    def apply(self, effect: StoreEffect) -> None:
        match effect:
            case RecordRunStarted():
                self.runs[effect.run_id] = SimRun(
                    effect.issue_id, effect.identifier, effect.attempt, effect.started_ms
                )
            case RecordRunProgress(run_id=run_id, thread_id=thread_id):
                self.runs[run_id].thread_id = thread_id or self.runs[run_id].thread_id
            case RecordRunEnded(run=run, resume=resume):
                stored = self.runs[run.run_id]
                stored.record, stored.resume = run, resume
                stored.thread_id = run.thread_id or stored.thread_id
            case RecordRetry():
                self.retries[effect.issue_id] = effect
            case ForgetRetry(issue_id=issue_id):
                self.retries.pop(issue_id, None)
            case ForgetResume(issue_id=issue_id):
                for run in self.runs.values():
                    if run.issue_id == issue_id:
                        run.resume = False

    def save_totals(self, totals: Totals) -> None:
        self.tokens, self.seconds = totals.tokens.total_tokens, totals.ended_seconds

    def crashed(self, now: float) -> None:
        """The service died: its live runs were cut short (the next start closes them)."""
        for run_id, run in self.runs.items():
            if run.record is None:
                run.record = RunRecord(
                    run_id=run_id,
                    attempt=run.attempt,
                    started_ms=run.started_ms,
                    ended_ms=now,
                    outcome="interrupted",
                    error="the service stopped during the run",
                    thread_id=run.thread_id,
                )
                run.resume = True

    def restored(self) -> Restored:
        latest: dict[str, SimRun] = {}
        history: list[RestoredRun] = []
        for _run_id, run in sorted(self.runs.items()):
            assert run.record is not None, "a live run at restart: crashed() was not called"
            latest[run.issue_id] = run
            history.append(RestoredRun(run.issue_id, run.identifier, None, run.record))
        return Restored(
            retries=tuple(
                RestoredRetry(
                    r.issue_id, r.identifier, r.issue_url, r.attempt, r.due_ms, r.kind, r.error
                )
                for r in self.retries.values()
            ),
            resumable=tuple(
                Resumable(r.issue_id, r.identifier, r.attempt, r.thread_id, None)
                for r in latest.values()
                if r.resume
            ),
            history=tuple(history),
            total_tokens=self.tokens,
            seconds_running=self.seconds,
            next_run_id=max(self.runs, default=0) + 1,
        )

    def resumable_run(self, issue_id: str) -> SimRun | None:
        runs = [r for _i, r in sorted(self.runs.items()) if r.issue_id == issue_id]
        return replace(runs[-1]) if runs and runs[-1].resume else None
