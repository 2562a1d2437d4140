"""Listeners of the runtime (``RuntimeView.subscribe``): coalesced snapshots, agent events.

A burst of state changes in one loop iteration produces one snapshot; agent events go out as
they happen. A listener that raises is logged and dropped, never allowed to affect orchestration
(SPEC §13.4, §17.6). With no listeners nothing is built at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from symphony.agents.events import AgentEvent
from symphony.issue import Issue
from symphony.logs import get_logger
from symphony.runtime_view import RuntimeChange
from symphony.view import AgentActivity, Snapshot, SnapshotChanged

log = get_logger("symphony.orchestrator")

Listener = Callable[[RuntimeChange], None]


class Observers:
    def __init__(self, snapshot: Callable[[], Snapshot]) -> None:
        self._snapshot = snapshot
        self._listeners: list[Listener] = []
        self._snapshot_due = False

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def state_changed(self) -> None:
        if not self._listeners or self._snapshot_due:
            return
        self._snapshot_due = True
        asyncio.get_running_loop().call_soon(self._send_snapshot)

    def _send_snapshot(self) -> None:
        self._snapshot_due = False
        if self._listeners:
            self._deliver(SnapshotChanged(self._snapshot()))

    def agent_event(self, issue: Issue, _run_id: int, event: AgentEvent) -> None:
        if not self._listeners:
            return
        self._deliver(
            AgentActivity(
                issue_id=issue.id,
                issue_identifier=issue.identifier,
                session_id=event.session_id,
                at=event.timestamp,
                event=event.event,
                message=event.message,
                tokens=event.usage.to_dict() if event.usage is not None else None,
            )
        )

    def _deliver(self, change: RuntimeChange) -> None:
        for listener in list(self._listeners):
            try:
                listener(change)
            except Exception:
                log.exception("runtime listener failed and was removed")
                if listener in self._listeners:
                    self._listeners.remove(listener)
