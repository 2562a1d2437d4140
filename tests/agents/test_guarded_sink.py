"""A session's event sink never raises into the session; its first failure is reported once."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from symphony.agents.base import GuardedSink
from symphony.agents.events import AgentEvent

EVENT = AgentEvent("notification", datetime(2026, 12, 3, tzinfo=UTC), pid=1)


def test_the_first_failure_is_reported_inside_the_except_and_later_ones_counted() -> None:
    delivered: list[AgentEvent] = []
    reported: list[tuple[AgentEvent, str]] = []

    def sink(event: AgentEvent) -> None:
        if delivered:
            raise RuntimeError("listener broke")
        delivered.append(event)

    def first(event: AgentEvent) -> None:
        error = sys.exc_info()[1]  # callers log with exc_info: the exception must be current
        reported.append((event, str(error)))

    guarded = GuardedSink(sink, first)
    for _ in range(3):
        guarded(EVENT)
    assert delivered == [EVENT]
    assert reported == [(EVENT, "listener broke")]
    assert guarded.failures == 2
