"""Adds display fields to what the runtime reports, without changing the runtime's own fields.

The API stays a superset of SPEC §13.7.2: every field the runtime returns passes through untouched;
we only add ``summary`` (a humanized line, SPEC §13.6) next to raw agent events and fill in
``url`` for log files the server can stream.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from symphony.observability.humanize import summarize_event


def present_state(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    state = dict(snapshot)
    running = snapshot.get("running")
    if isinstance(running, list):
        state["running"] = [_with_summary(row) for row in running]
    return state


def present_detail(identifier: str, detail: Mapping[str, Any]) -> dict[str, Any]:
    result = dict(detail)
    running = detail.get("running")
    if isinstance(running, Mapping):
        result["running"] = _with_summary(running)
    events = detail.get("recent_events")
    if isinstance(events, list):
        result["recent_events"] = [_event_with_summary(e) for e in events]
    logs = detail.get("logs")
    if isinstance(logs, Mapping) and isinstance(logs.get("codex_session_logs"), list):
        entries = []
        for index, entry in enumerate(logs["codex_session_logs"]):
            if isinstance(entry, Mapping):
                entry = dict(entry)
                if entry.get("url") is None and isinstance(entry.get("path"), str):
                    entry["url"] = log_url(identifier, index)
            entries.append(entry)
        result["logs"] = {**logs, "codex_session_logs": entries}
    return result


def present_agent_event(payload: Mapping[str, Any]) -> dict[str, Any]:
    presented: dict[str, Any] = _event_with_summary(payload)
    return presented


def log_url(identifier: str, index: int) -> str:
    return f"/api/v1/{quote(identifier, safe='')}/logs/{index}"


def _with_summary(row: Any) -> Any:
    if not isinstance(row, Mapping):
        return row
    if not row.get("last_event") and not row.get("last_message"):
        return {**row, "summary": None}
    event = row.get("last_event")
    return {
        **row,
        "summary": summarize_event(
            event if isinstance(event, str) else None, row.get("last_message")
        ),
    }


def _event_with_summary(event: Any) -> Any:
    if not isinstance(event, Mapping):
        return event
    if isinstance(event.get("summary"), str):
        return dict(event)
    name = event.get("event")
    return {
        **event,
        "summary": summarize_event(name if isinstance(name, str) else None, event.get("message")),
    }
