"""Builders and a fake-clock driver for the scheduling core."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from symphony.core.config import SchedulerConfig
from symphony.core.effects import Effect
from symphony.core.events import (
    CandidatesFetched,
    Event,
    RunningRefreshed,
    Started,
    TerminalIssuesFetched,
    TickDue,
)
from symphony.core.machine import decide
from symphony.core.state import OrchestratorState
from symphony.issue import Issue

E = TypeVar("E")

BASE_TIME = datetime(2026, 1, 1, tzinfo=UTC)


def issue(
    n: int | str,
    *,
    state: str = "Todo",
    priority: int | None = None,
    created_minutes: int | None = 0,
    labels: Iterable[str] = (),
    dispatchable: bool = True,
    identifier: str | None = None,
    title: str = "Fix it",
) -> Issue:
    ident = identifier if identifier is not None else f"MT-{n}"
    return Issue(
        id=f"id-{n}",
        identifier=ident,
        title=title,
        state=state,
        dispatchable=dispatchable,
        priority=priority,
        labels=tuple(labels),
        url=f"https://tracker.example/{ident}",
        created_at=(
            BASE_TIME + timedelta(minutes=created_minutes) if created_minutes is not None else None
        ),
    )


def config(**overrides: Any) -> SchedulerConfig:
    values: dict[str, Any] = {
        "active_state_names": ("Todo", "In Progress"),
        "terminal_state_names": ("Done", "Cancelled"),
        "max_concurrent_agents": 10,
        "max_retry_backoff_ms": 300_000,
        "stall_timeout_ms": 300_000,
        "poll_interval_ms": 30_000,
    }
    values.update(overrides)
    return SchedulerConfig(**values)


@dataclass
class Driver:
    """Feeds events to ``decide`` with a fake monotonic clock and keeps every effect."""

    state: OrchestratorState
    now: float = 1_000_000.0
    log: list[Effect] = field(default_factory=list)

    @classmethod
    def create(cls, **overrides: Any) -> Driver:
        return cls(OrchestratorState(config=config(**overrides)))

    def send(self, event: Event) -> list[Effect]:
        self.state, effects = decide(self.state, event, self.now)
        self.log.extend(effects)
        return effects

    def advance(self, ms: float) -> None:
        self.now += ms

    def start(self, terminal: Iterable[Issue] = ()) -> list[Effect]:
        out = self.send(Started())
        out += self.send(TerminalIssuesFetched(issues=tuple(terminal)))
        return out

    def tick(
        self,
        candidates: Iterable[Issue] = (),
        *,
        running: Iterable[Issue] | None = None,
        parked: Iterable[Issue] = (),
        day: str | None = None,
    ) -> list[Effect]:
        """One whole poll tick; ``running`` (default: unchanged) and ``parked`` (default: none
        visible) answer the reconciliation refresh if one is asked; ``day`` is the UTC day the
        runtime's clock says (None: unchanged)."""
        out = self.send(TickDue(day=day))
        if self.state.phase.value == "reconciling":
            refreshed = (
                list(running)
                if running is not None
                else [self.state.running[i].issue for i in self.state.reconcile_runs]
            )
            refreshed += list(parked)
            out += self.send(RunningRefreshed(self.state.tick_id, tuple(refreshed)))
        if self.state.phase.value == "fetching_candidates":
            out += self.send(CandidatesFetched(self.state.tick_id, tuple(candidates)))
        return out


def of_type(effects: Iterable[Effect], kind: type[E]) -> list[E]:
    return [e for e in effects if isinstance(e, kind)]
