"""One-line, human summaries of agent events (SPEC §13.6).

Observability-only: nothing in scheduling may branch on these strings. The input is whatever the
runtime reports for an agent event — an event name plus a message that may be a raw app-server
JSON-RPC message (``{"method", "params"}``), a wrapper holding one under ``payload``/``raw``, a
plain string, or nothing. Unknown shapes degrade to the method or event name, never an error.

This module knows only the runtime's event names and envelopes; what a raw app-server message
says is read by the Codex backend's summariser (``symphony.agents.codex.summary``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from symphony.agents.codex.summary import describe_message
from symphony.agents.codex.summary.fields import PREVIEW, compact_json, error_text
from symphony.observability.formatting import truncate
from symphony.text import clean_text

SUMMARY_LIMIT = 200


def summarize_event(event: str | None, message: Any = None, *, limit: int = SUMMARY_LIMIT) -> str:
    """Humanize one agent event; total (never raises) and at most ``limit`` characters."""
    try:
        text = _summarize(event, message)
    except Exception:  # a summary must never break a view; fall back to the bare name
        text = event or "agent event"
    return truncate(clean_text(text), limit) or (event or "agent event")


def summarize_message(message: Any) -> str:
    return summarize_event(None, message)


def _summarize(event: str | None, message: Any) -> str:
    if isinstance(message, str) and message.strip():
        # Already a human line (the Codex client summarizes as it decodes); failures get the
        # event's own words in front so a bare reason still reads as what happened.
        prefix = _REASON_PREFIX.get(event or "")
        if prefix and not message.lower().startswith(prefix.split(":")[0]):
            return f"{prefix}: {message}"
        return message
    payload = _unwrap(message)
    by_event = _EVENTS.get(event or "")
    if by_event is not None:
        text = by_event(message, payload)
        if text:
            return text
    described = describe_message(payload)
    if described is not None:
        return described
    if isinstance(payload, Mapping):
        return _mapping(payload, event)
    if isinstance(payload, str) and payload.strip():
        return payload
    if payload is None or payload == "":
        return (event or "agent event").replace("_", " ")
    return compact_json(payload)


def _unwrap(message: Any) -> Any:
    """Find the protocol message inside the wrappers runtimes put around it."""
    for _ in range(4):
        if not isinstance(message, Mapping) or isinstance(message.get("method"), str):
            return message
        inner = next(
            (message[k] for k in ("payload", "raw", "message") if isinstance(message.get(k), dict)),
            None,
        )
        if inner is None:
            return message
        message = inner
    return message


def _mapping(payload: Mapping[str, Any], event: str | None) -> str:
    error = payload.get("error")
    if error is not None:
        return f"error: {error_text(error)}"
    session_id = payload.get("session_id")
    if isinstance(session_id, str) and session_id:
        return f"session started ({session_id})"
    for key in ("summary", "text", "reason"):
        value = payload.get(key)
        if isinstance(value, str) and value.strip():
            return f"{(event or '').replace('_', ' ')}: {value}".lstrip(": ")
    return event.replace("_", " ") if event else compact_json(payload)


# --- runtime event names (the Codex client's vocabulary and the reference's) ------------------


def _reason(message: Any, payload: Any) -> str:
    for candidate in (message, payload):
        if isinstance(candidate, str) and candidate.strip():
            return candidate
        if isinstance(candidate, Mapping):
            for key in ("reason", "error", "message"):
                value = candidate.get(key)
                if value is not None and not isinstance(value, dict | list):
                    return str(value)
                if isinstance(value, Mapping):
                    return error_text(value)
            params = candidate.get("params")
            if isinstance(params, Mapping) and params.get("error") is not None:
                return error_text(params["error"])
    return "unknown reason"


def _session_started(message: Any, payload: Any) -> str:
    for candidate in (message, payload):
        if isinstance(candidate, Mapping):
            sid = candidate.get("session_id") or candidate.get("sessionId")
            if isinstance(sid, str) and sid:
                return f"session started ({sid})"
    return "session started"


def _approval_auto(message: Any, payload: Any) -> str:
    described = describe_message(payload)
    base = f"{described} (auto-approved)" if described else "approval auto-approved"
    decision = message.get("decision") if isinstance(message, Mapping) else None
    return f"{base}: {decision}" if isinstance(decision, str) else base


def _approval_required(message: Any, payload: Any) -> str:
    described = describe_message(payload)
    return f"approval required: {described}" if described else "approval required (run stopped)"


def _tool_event(base: str) -> Callable[[Any, Any], str]:
    def render(message: Any, payload: Any) -> str:
        name = None
        for candidate in (payload, message):
            if isinstance(candidate, Mapping):
                params = candidate.get("params")
                source = params if isinstance(params, Mapping) else candidate
                name = source.get("tool") or source.get("name")
                if name:
                    break
        return f"{base} ({name})" if isinstance(name, str) and name.strip() else base

    return render


def _turn_completed(message: Any, payload: Any) -> str:
    if isinstance(payload, Mapping) and payload.get("method") == "turn/completed":
        return ""  # the method renderer knows the status and duration
    return "turn completed"


def _fixed(text: str) -> Callable[[Any, Any], str]:
    return lambda _message, _payload: text


def _with_reason(prefix: str) -> Callable[[Any, Any], str]:
    return lambda message, payload: f"{prefix}: {_reason(message, payload)}"


def _malformed(message: Any, _payload: Any) -> str:
    raw = message.get("raw") if isinstance(message, Mapping) else message
    preview = truncate(clean_text(str(raw)), PREVIEW) if raw else ""
    return f"malformed JSON from agent: {preview}" if preview else "malformed JSON from agent"


_REASON_PREFIX = {
    "turn_ended_with_error": "turn ended with error",
    "turn_failed": "turn failed",
    "startup_failed": "startup failed",
    "stalled": "stalled",
    "approval_required": "approval required",
    "tool_call_failed": "tool call failed",
    "unsupported_tool_call": "unsupported tool call rejected",
}

_EVENTS: dict[str, Callable[[Any, Any], str]] = {
    "session_started": _session_started,
    "turn_completed": _turn_completed,
    "turn_input_required": _fixed("turn blocked: waiting for operator input"),
    "input_required": _fixed("turn blocked: waiting for operator input"),
    "approval_auto_approved": _approval_auto,
    "approval_required": _approval_required,
    "tool_call_completed": _tool_event("tool call completed"),
    "tool_call_failed": _tool_event("tool call failed"),
    "unsupported_tool_call": _tool_event("unsupported tool call rejected"),
    "turn_ended_with_error": _with_reason("turn ended with error"),
    "turn_failed": _with_reason("turn failed"),
    "startup_failed": _with_reason("startup failed"),
    "turn_cancelled": _fixed("turn cancelled"),
    "turn_timeout": _fixed("turn timed out"),
    "stalled": _with_reason("stalled"),
    "malformed": _malformed,
}


__all__ = ["SUMMARY_LIMIT", "summarize_event", "summarize_message"]
