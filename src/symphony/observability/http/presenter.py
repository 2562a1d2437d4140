"""Renders the runtime's typed view as API JSON, plus display fields.

The JSON itself comes from ``symphony.view_json`` (the one renderer), so the API stays a superset
of SPEC §13.7.2: every field the runtime reports passes through untouched; we only add
``summary`` (a humanized line, SPEC §13.6) next to raw agent events and fill in ``url`` for log
files the server can stream.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import orjson

from symphony.observability.humanize import summarize_event
from symphony.view import AgentActivity, IssueDetail, RunningRow, Snapshot, TimelineEvent
from symphony.view_json import (
    agent_activity_json,
    cost_json,
    issue_detail_json,
    running_row_json,
    snapshot_json,
    timeline_event_json,
)


def present_state(snapshot: Snapshot) -> dict[str, Any]:
    """The state as JSON values, except that each running row is already encoded (an
    ``orjson.Fragment``, see ``running_row_encoded``): encode the result with orjson."""
    return snapshot_json(snapshot, running=[running_row_encoded(r) for r in snapshot.running])


# orjson writes a view row itself, in C, as ``running_row_json`` would: its fields in order,
# instants in UTC with ``Z`` and microseconds only when there are some. Rendering a hundred
# rows in Python was most of the time of ``GET /api/v1/state``.
_ROW_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC


def running_row_encoded(row: RunningRow) -> orjson.Fragment | dict[str, Any]:
    """``running_row_json(row)`` plus ``summary``, as encoded JSON; the dict itself for the
    rare row orjson would write differently (an instant not in UTC, an unrounded cost)."""
    summary = row_summary(row)
    cost = row.cost_usd
    if (
        _utc(row.started_at)
        and _utc(row.last_event_at)
        and (cost is None or cost_json(cost) == cost)
        and type(row) is RunningRow
    ):
        body = orjson.dumps(row, option=_ROW_OPTIONS)
        return orjson.Fragment(b'%s,"summary":%s}' % (body[:-1], orjson.dumps(summary)))
    return {**running_row_json(row), "summary": summary}


def _utc(value: datetime | None) -> bool:
    return value is None or value.tzinfo is None or value.tzinfo is UTC


def present_detail(identifier: str, detail: IssueDetail) -> dict[str, Any]:
    result = issue_detail_json(detail)
    if detail.running is not None:
        result["running"] = {**result["running"], "summary": row_summary(detail.running)}
    result["recent_events"] = [
        {**timeline_event_json(event), "summary": event_summary(event)}
        for event in detail.recent_events
    ]
    result["logs"]["codex_session_logs"] = [
        {**entry, "url": entry["url"] if entry["url"] is not None else log_url(identifier, index)}
        for index, entry in enumerate(result["logs"]["codex_session_logs"])
    ]
    return result


def present_handed_off(identifier: str, proof: dict[str, Any]) -> dict[str, Any]:
    """``GET /api/v1/<identifier>`` for an issue the runtime does not track but that has a
    proof of work: it handed off and waits for a human (docs/review.md)."""
    return {
        "issue_identifier": proof.get("issue_identifier", identifier),
        "issue_id": proof.get("issue_id"),
        "status": "handed_off",
        "workspace": {"path": proof.get("workspace")},
        "attempts": {"restart_count": 0, "current_retry_attempt": None},
        "running": None,
        "retry": None,
        "blocked": None,
        "logs": {"codex_session_logs": []},
        "recent_events": [],
        "last_error": None,
        "tracked": {"issue_url": proof.get("issue_url")},
        "pending_requests": [],
        "history": [],
        "proof": proof,
    }


def present_agent_event(activity: AgentActivity) -> dict[str, Any]:
    return {
        **agent_activity_json(activity),
        "summary": summarize_event(activity.event, activity.message),
    }


def log_url(identifier: str, index: int) -> str:
    return f"/api/v1/{quote(identifier, safe='')}/logs/{index}"


def row_summary(row: RunningRow) -> str | None:
    if not row.last_event and not row.last_message:
        return None
    return _summary(row.last_event, row.last_message)


# Every state request and snapshot frame summarizes every running row; between two of them most
# rows still show the same last event.
@functools.lru_cache(maxsize=4096)
def _summary(event: str | None, message: str | None) -> str:
    return summarize_event(event, message)


def event_summary(event: TimelineEvent) -> str:
    return summarize_event(event.event, event.message)
