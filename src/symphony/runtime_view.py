"""What the running service exposes to observability surfaces (SPEC §13.3, §13.7).

The orchestrator implements ``RuntimeView``; the HTTP API, web dashboard and terminal view read it
and never mutate scheduling state (the one exception: ``request_refresh``, an operational trigger).
Everything returned is JSON-safe (timestamps are RFC 3339 UTC strings ending in ``Z``).

``snapshot()`` shape (a superset of SPEC §13.7.2 ``GET /api/v1/state``)::

    {
      "generated_at": str,
      "counts": {"running": int, "retrying": int, "blocked": int},
      "limits": {"max_concurrent_agents": int, "by_state": {state: int}},
      "running": [{
          "issue_id", "issue_identifier", "issue_url", "title", "state",
          "session_id", "thread_id", "turn_count", "pid", "attempt",
          "last_event", "last_message", "started_at", "last_event_at",
          "workspace_path",
          "tokens": {"input_tokens", "output_tokens", "total_tokens"}
      }],
      "retrying": [{
          "issue_id", "issue_identifier", "issue_url", "attempt",
          "due_at", "due_in_ms", "error", "kind": "continuation" | "failure"
      }],
      "blocked": [{
          "issue_id", "issue_identifier", "issue_url", "title", "state",
          "reason": str, "blocked_by": [{"identifier", "state"}], "blocked_at"
      }],
      "codex_totals": {"input_tokens", "output_tokens", "total_tokens", "seconds_running"},
      "rate_limits": object | null,
      "workflow": {"path", "version", "loaded_at", "warnings": [str],
                   "error": {"code", "message", "at"} | null},
      "tracker": {"kind", "last_poll_at", "error": {"code", "message", "at"} | null},
      "polling": {"interval_ms", "next_poll_at", "checking": bool}
    }

``blocked`` lists active, unclaimed issues the scheduler will not dispatch (the tracker marks
them not dispatchable, or a required label is missing), at most 500 rows; ``counts.blocked``
counts them all. ``blocked_by`` holds only open (non-terminal) blockers.

``issue_detail(identifier)`` follows SPEC §13.7.2 ``GET /api/v1/<identifier>`` (status,
workspace, attempts, running, retry, logs.codex_session_logs, recent_events, last_error, tracked)
plus ``blocked`` (``{"state", "reason", "blocked_by", "blocked_at"}`` when ``status`` is
``"blocked"``, else null); ``status`` is ``running``, ``retrying``, ``blocked`` or ``released``.
It returns None for an identifier the runtime does not know.

``subscribe(listener)`` delivers ``RuntimeChange`` values on the event loop thread: ``"snapshot"``
when scheduling state changed (payload: the new snapshot) and ``"agent_event"`` for each agent
event (payload: ``{"issue_id", "issue_identifier", "session_id", "at", "event", "message"}`` plus
optional ``"tokens"``). Listeners must be fast and must not raise; a listener that raises is logged
and dropped, never allowed to affect orchestration (SPEC §17.6).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol


@dataclass(frozen=True, slots=True)
class RuntimeChange:
    kind: Literal["snapshot", "agent_event"]
    payload: dict[str, Any]


class RuntimeView(Protocol):
    def snapshot(self) -> dict[str, Any]: ...

    def issue_detail(self, identifier: str) -> dict[str, Any] | None: ...

    def request_refresh(self) -> dict[str, Any]:
        """Queue an immediate poll + reconcile; returns SPEC's 202 body
        ``{"queued": true, "coalesced": bool, "requested_at": str, "operations": [...]}``."""
        ...

    def subscribe(self, listener: Callable[[RuntimeChange], None]) -> Callable[[], None]:
        """Register a listener; returns a function that unsubscribes it."""
        ...
