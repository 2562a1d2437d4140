"""A scripted ``RuntimeView`` for observability tests: snapshots change when the test says so."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from symphony.runtime_view import RuntimeChange

NOW = datetime(2026, 2, 24, 20, 15, 30, tzinfo=UTC)


def ts(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def running_row(
    identifier: str,
    *,
    now: datetime = NOW,
    started_ago_s: float = 785,
    turn_count: int = 11,
    total_tokens: int = 120_450,
    last_event: str | None = "turn_completed",
    last_message: Any = "turn completed (completed)",
    pid: int = 4242,
    state: str = "In Progress",
) -> dict[str, Any]:
    return {
        "issue_id": f"id-{identifier}",
        "issue_identifier": identifier,
        "issue_url": f"https://tracker.example/issues/{identifier}",
        "title": f"Fix the thing in {identifier}",
        "state": state,
        "session_id": "thread-1234567890-turn-567890",
        "thread_id": "thread-1234567890",
        "turn_count": turn_count,
        "pid": pid,
        "attempt": None,
        "last_event": last_event,
        "last_message": last_message,
        "started_at": ts(now - timedelta(seconds=started_ago_s)),
        "last_event_at": ts(now - timedelta(seconds=4)),
        "workspace_path": f"/tmp/symphony_workspaces/{identifier}",
        "tokens": {
            "input_tokens": total_tokens - total_tokens // 8,
            "output_tokens": total_tokens // 8,
            "total_tokens": total_tokens,
        },
    }


def retry_row(
    identifier: str,
    *,
    now: datetime = NOW,
    attempt: int = 2,
    due_in_s: float = 1.25,
    error: str | None = "rate limit exhausted",
    kind: str = "failure",
) -> dict[str, Any]:
    return {
        "issue_id": f"id-{identifier}",
        "issue_identifier": identifier,
        "issue_url": f"https://tracker.example/issues/{identifier}",
        "attempt": attempt,
        "due_at": ts(now + timedelta(seconds=due_in_s)),
        "due_in_ms": int(due_in_s * 1000),
        "error": error,
        "kind": kind,
    }


def blocked_row(
    identifier: str,
    *,
    now: datetime = NOW,
    state: str = "Todo",
    reason: str = "not dispatchable: blocked by MT-1 (In Progress)",
    blocked_by: list[tuple[str, str]] | None = None,
    since_s: float = 600,
) -> dict[str, Any]:
    """A row of the snapshot's ``blocked`` list, shaped like the orchestrator's."""
    return {
        "issue_id": f"id-{identifier}",
        "issue_identifier": identifier,
        "issue_url": f"https://tracker.example/issues/{identifier}",
        "title": f"Fix the thing in {identifier}",
        "state": state,
        "reason": reason,
        "blocked_by": [
            {"identifier": ident, "state": st}
            for ident, st in (blocked_by if blocked_by is not None else [("MT-1", "In Progress")])
        ],
        "blocked_at": ts(now - timedelta(seconds=since_s)),
    }


def snapshot(
    *,
    now: datetime = NOW,
    running: list[dict[str, Any]] | None = None,
    retrying: list[dict[str, Any]] | None = None,
    blocked: list[dict[str, Any]] | None = None,
    totals: tuple[int, int, int] = (0, 0, 0),
    seconds_running: float = 0.0,
    rate_limits: dict[str, Any] | None = None,
    max_agents: int = 10,
    workflow_error: dict[str, Any] | None = None,
    tracker_error: dict[str, Any] | None = None,
    warnings: list[str] | None = None,
    next_poll_in_s: float | None = 27,
    checking: bool = False,
) -> dict[str, Any]:
    running = running or []
    retrying = retrying or []
    blocked = blocked or []
    return {
        "generated_at": ts(now),
        "counts": {"running": len(running), "retrying": len(retrying), "blocked": len(blocked)},
        "limits": {"max_concurrent_agents": max_agents, "by_state": {}},
        "running": running,
        "retrying": retrying,
        "blocked": blocked,
        "codex_totals": {
            "input_tokens": totals[0],
            "output_tokens": totals[1],
            "total_tokens": totals[2],
            "seconds_running": seconds_running,
        },
        "rate_limits": rate_limits,
        "workflow": {
            "path": "/repo/WORKFLOW.md",
            "version": 3,
            "loaded_at": ts(now - timedelta(minutes=15)),
            "warnings": warnings or [],
            "error": workflow_error,
        },
        "tracker": {
            "kind": "linear",
            "last_poll_at": ts(now - timedelta(seconds=3)),
            "error": tracker_error,
        },
        "polling": {
            "interval_ms": 30000,
            "next_poll_at": (
                ts(now + timedelta(seconds=next_poll_in_s)) if next_poll_in_s is not None else None
            ),
            "checking": checking,
        },
    }


def detail_for(
    row: dict[str, Any], *, events: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "issue_identifier": row["issue_identifier"],
        "issue_id": row["issue_id"],
        "status": "running",
        "workspace": {"path": row.get("workspace_path")},
        "attempts": {"restart_count": 1, "current_retry_attempt": 2},
        "running": {
            k: row.get(k)
            for k in (
                "session_id",
                "turn_count",
                "state",
                "started_at",
                "last_event",
                "last_message",
                "last_event_at",
                "tokens",
                "pid",
                "workspace_path",
            )
        },
        "retry": None,
        "blocked": None,
        "logs": {"codex_session_logs": []},
        "recent_events": events or [],
        "last_error": None,
        "tracked": {"issue_url": row.get("issue_url")},
    }


class FakeView:
    """Implements ``RuntimeView``; tests push new snapshots and agent events."""

    def __init__(self, state: dict[str, Any] | None = None) -> None:
        self.state = state if state is not None else snapshot()
        self.details: dict[str, dict[str, Any]] = {}
        self.listeners: list[Callable[[RuntimeChange], None]] = []
        self.refreshes = 0
        self.snapshot_error: Exception | None = None
        self.detail_error: Exception | None = None
        self.refresh_error: Exception | None = None
        self.snapshot_calls = 0

    # RuntimeView -------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        self.snapshot_calls += 1
        if self.snapshot_error is not None:
            raise self.snapshot_error
        return copy.deepcopy(self.state)

    def issue_detail(self, identifier: str) -> dict[str, Any] | None:
        if self.detail_error is not None:
            raise self.detail_error
        detail = self.details.get(identifier)
        return copy.deepcopy(detail) if detail is not None else None

    def request_refresh(self) -> dict[str, Any]:
        if self.refresh_error is not None:
            raise self.refresh_error
        self.refreshes += 1
        return {
            "queued": True,
            "coalesced": self.refreshes > 1,
            "requested_at": ts(NOW),
            "operations": ["poll", "reconcile"],
        }

    def subscribe(self, listener: Callable[[RuntimeChange], None]) -> Callable[[], None]:
        self.listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self.listeners:
                self.listeners.remove(listener)

        return unsubscribe

    # scripting ---------------------------------------------------------------------------------
    def publish(self, new_state: dict[str, Any] | None = None) -> None:
        if new_state is not None:
            self.state = new_state
        self._notify(RuntimeChange("snapshot", copy.deepcopy(self.state)))

    def agent_event(self, payload: dict[str, Any]) -> None:
        self._notify(RuntimeChange("agent_event", payload))

    def _notify(self, change: RuntimeChange) -> None:
        # Like the orchestrator: a listener that raises is dropped, the rest still get the change.
        for listener in list(self.listeners):
            try:
                listener(change)
            except Exception:
                self.listeners.remove(listener)
