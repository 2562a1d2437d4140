"""Listeners of the runtime (``RuntimeView.subscribe``): coalesced snapshots, agent events.

A burst of state changes in one loop iteration produces one snapshot; agent events go out as
they happen. A listener that raises is logged and dropped, never allowed to affect orchestration
(SPEC §13.4, §17.6). With no listeners nothing is built at all.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from symphony.issue import Issue
from symphony.runtime_view import RuntimeChange
from symphony.timefmt import format_timestamp

log = logging.getLogger("symphony.orchestrator")

Listener = Callable[[RuntimeChange], None]


class Observers:
    def __init__(self, snapshot: Callable[[], dict[str, Any]]) -> None:
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
            self._deliver(RuntimeChange("snapshot", self._snapshot()))

    def agent_event(self, issue: Issue, _run_id: int, event: Any) -> None:
        if not self._listeners:
            return
        payload: dict[str, Any] = {
            "issue_id": issue.id,
            "issue_identifier": issue.identifier,
            "session_id": getattr(event, "session_id", None),
            "at": format_timestamp(getattr(event, "timestamp", None)),
            "event": getattr(event, "event", None),
            "message": getattr(event, "message", None),
        }
        usage = getattr(event, "usage", None)
        to_dict = getattr(usage, "to_dict", None)
        if callable(to_dict):
            payload["tokens"] = to_dict()
        elif isinstance(usage, dict):
            payload["tokens"] = dict(usage)
        self._deliver(RuntimeChange("agent_event", payload))

    def _deliver(self, change: RuntimeChange) -> None:
        for listener in list(self._listeners):
            try:
                listener(change)
            except Exception:
                log.exception("runtime listener failed and was removed")
                if listener in self._listeners:
                    self._listeners.remove(listener)
