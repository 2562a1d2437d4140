"""One-line, human summaries of agent events (SPEC §13.6).

Observability-only: nothing in scheduling may branch on these strings. The input is whatever the
runtime reports for an agent event — an event name plus a message that may be a raw app-server
JSON-RPC message (``{"method", "params"}``), a wrapper holding one under ``payload``/``raw``, a
plain string, or nothing. Unknown shapes degrade to the method or event name, never an error.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Mapping
from typing import Any

from symphony.observability.formatting import as_float, as_int, clean_text, truncate

SUMMARY_LIMIT = 200
_PREVIEW = 80

Params = Mapping[str, Any]


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
    if isinstance(payload, Mapping):
        method = payload.get("method")
        if isinstance(method, str):
            params = payload.get("params")
            return _method(method, params if isinstance(params, Mapping) else {})
        return _mapping(payload, event)
    if isinstance(payload, str) and payload.strip():
        return payload
    if payload is None or payload == "":
        return (event or "agent event").replace("_", " ")
    return _compact(payload)


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
        return f"error: {_error_text(error)}"
    session_id = payload.get("session_id")
    if isinstance(session_id, str) and session_id:
        return f"session started ({session_id})"
    for key in ("summary", "text", "reason"):
        value = payload.get(key)
        if isinstance(value, str) and value.strip():
            return f"{(event or '').replace('_', ' ')}: {value}".lstrip(": ")
    return event.replace("_", " ") if event else _compact(payload)


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
                    return _error_text(value)
            params = candidate.get("params")
            if isinstance(params, Mapping) and params.get("error") is not None:
                return _error_text(params["error"])
    return "unknown reason"


def _session_started(message: Any, payload: Any) -> str:
    for candidate in (message, payload):
        if isinstance(candidate, Mapping):
            sid = candidate.get("session_id") or candidate.get("sessionId")
            if isinstance(sid, str) and sid:
                return f"session started ({sid})"
    return "session started"


def _approval_auto(message: Any, payload: Any) -> str:
    base = "approval auto-approved"
    if isinstance(payload, Mapping) and isinstance(payload.get("method"), str):
        params = payload.get("params")
        base = f"{_method(payload['method'], params if isinstance(params, Mapping) else {})}"
        base += " (auto-approved)"
    decision = message.get("decision") if isinstance(message, Mapping) else None
    return f"{base}: {decision}" if isinstance(decision, str) else base


def _approval_required(message: Any, payload: Any) -> str:
    if isinstance(payload, Mapping) and isinstance(payload.get("method"), str):
        params = payload.get("params")
        inner = _method(payload["method"], params if isinstance(params, Mapping) else {})
        return f"approval required: {inner}"
    return "approval required (run stopped)"


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
    preview = truncate(clean_text(str(raw)), _PREVIEW) if raw else ""
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


# --- app-server methods ------------------------------------------------------------------------


def _method(method: str, params: Params) -> str:
    renderer = _METHODS.get(method)
    if renderer is not None:
        return renderer(params)
    if method.startswith("codex/event/"):
        return _legacy(method.removeprefix("codex/event/"), params)
    msg = params.get("msg")
    if isinstance(msg, Mapping) and isinstance(msg.get("type"), str):
        return f"{method} ({msg['type']})"
    return method


def _command_text(command: Any) -> str | None:
    if isinstance(command, str) and command.strip():
        return command
    if isinstance(command, list) and command and all(isinstance(c, str) for c in command):
        # ["bash", "-lc", "<script>"] is how shells wrap commands; show the script itself.
        if len(command) == 3 and command[1] in ("-lc", "-c"):
            return str(command[2])
        return shlex.join(command)
    return None


def _usage(usage: Any) -> str | None:
    if not isinstance(usage, Mapping):
        return None

    def pick(*keys: str) -> int | None:
        for key in keys:
            value = as_int(usage.get(key))
            if value is not None:
                return value
        return None

    inp = pick("inputTokens", "input_tokens", "prompt_tokens", "promptTokens")
    out = pick("outputTokens", "output_tokens", "completion_tokens", "completionTokens")
    total = pick("totalTokens", "total_tokens", "total")
    if inp is None and out is None and total is None:
        return None
    if total is None:
        total = (inp or 0) + (out or 0)
    return f"in {inp or 0:,}, out {out or 0:,}, total {total:,}"


def _seconds(ms: Any) -> str:
    value = as_float(ms)
    return f"{value / 1000:.1f}s" if value is not None else ""


def _error_text(error: Any) -> str:
    if isinstance(error, Mapping):
        message = error.get("message")
        if isinstance(message, str) and message.strip():
            return message
        return _compact(error)
    return str(error)


def _preview(params: Params, *keys: str) -> str:
    for key in keys:
        value = params.get(key)
        if isinstance(value, str) and value.strip():
            return truncate(clean_text(value), _PREVIEW)
    return ""


def _streaming(label: str) -> Callable[[Params], str]:
    def render(params: Params) -> str:
        preview = _preview(params, "delta", "text")
        return f"{label}: {preview}" if preview else label

    return render


def _thread_started(params: Params) -> str:
    thread = params.get("thread")
    tid = thread.get("id") if isinstance(thread, Mapping) else None
    return f"thread started ({tid})" if isinstance(tid, str) else "thread started"


def _turn_started(params: Params) -> str:
    turn = params.get("turn")
    tid = turn.get("id") if isinstance(turn, Mapping) else None
    return f"turn started ({tid})" if isinstance(tid, str) else "turn started"


def _turn_done(params: Params) -> str:
    turn = params.get("turn")
    turn = turn if isinstance(turn, Mapping) else {}
    status = turn.get("status") if isinstance(turn.get("status"), str) else "completed"
    if status == "failed" and turn.get("error") is not None:
        return f"turn failed: {_error_text(turn['error'])}"
    text = f"turn completed ({status})"
    usage = _usage(params.get("usage") or params.get("tokenUsage"))
    if usage:
        text += f" ({usage})"
    duration = _seconds(turn.get("durationMs"))
    return f"{text} in {duration}" if duration else text


def _token_usage(params: Params) -> str:
    usage = params.get("tokenUsage")
    total = usage.get("total") if isinstance(usage, Mapping) else None
    text = _usage(total if total is not None else params.get("usage"))
    return f"token usage updated ({text})" if text else "token usage updated"


def _rate_limits(params: Params) -> str:
    limits = params.get("rateLimits")
    if not isinstance(limits, Mapping):
        return "rate limits updated"
    parts = []
    for name in ("primary", "secondary"):
        bucket = limits.get(name)
        if isinstance(bucket, Mapping):
            used = as_float(bucket.get("usedPercent", bucket.get("used_percent")))
            if used is not None:
                parts.append(f"{name} {used:g}% used")
    return f"rate limits updated ({', '.join(parts)})" if parts else "rate limits updated"


def _diff(params: Params) -> str:
    diff = params.get("diff")
    if isinstance(diff, str) and diff.strip():
        files = sum(1 for line in diff.splitlines() if line.startswith("+++ "))
        lines = len([line for line in diff.splitlines() if line.strip()])
        return (
            f"diff updated ({files} files, {lines} lines)"
            if files
            else f"diff updated ({lines} lines)"
        )
    return "diff updated"


def _plan(params: Params) -> str:
    steps = params.get("plan") or params.get("steps") or params.get("items")
    if isinstance(steps, list):
        done = sum(1 for s in steps if isinstance(s, Mapping) and s.get("status") == "completed")
        current = next(
            (
                s.get("step")
                for s in steps
                if isinstance(s, Mapping) and s.get("status") == "inProgress"
            ),
            None,
        )
        text = f"plan updated ({done}/{len(steps)} steps done)"
        return f"{text}: {current}" if isinstance(current, str) else text
    return "plan updated"


def _item(phase: str) -> Callable[[Params], str]:
    def render(params: Params) -> str:
        item = params.get("item")
        if not isinstance(item, Mapping):
            return f"item {phase}"
        kind = item.get("type")
        renderer = _ITEMS.get(kind) if isinstance(kind, str) else None
        if renderer is not None:
            return renderer(phase, item)
        return f"item {phase}: {kind}" if isinstance(kind, str) else f"item {phase}"

    return render


def _command_item(phase: str, item: Params) -> str:
    command = _command_text(item.get("command")) or "command"
    status = item.get("status")
    if phase == "started":
        return f"$ {command}"
    if status == "declined":
        return f"command declined: {command}"
    exit_code = as_int(item.get("exitCode", item.get("exit_code")))
    duration = _seconds(item.get("durationMs"))
    suffix = f" in {duration}" if duration else ""
    if exit_code is not None:
        return f"$ {command} → exit {exit_code}{suffix}"
    return f"$ {command} → {status or 'done'}{suffix}"


def _agent_message_item(phase: str, item: Params) -> str:
    text = item.get("text")
    if phase == "completed" and isinstance(text, str) and text.strip():
        return f"agent: {text}"
    return f"agent message {phase}"


def _reasoning_item(phase: str, item: Params) -> str:
    summary = item.get("summary")
    if phase == "completed" and isinstance(summary, list):
        text = " ".join(s for s in summary if isinstance(s, str))
        if text.strip():
            return f"reasoning: {text}"
    return f"reasoning {phase}"


def _file_change_item(phase: str, item: Params) -> str:
    changes = item.get("changes")
    paths = []
    if isinstance(changes, list):
        for change in changes:
            if isinstance(change, Mapping) and isinstance(change.get("path"), str):
                kind = change.get("kind")
                verb = kind.get("type") if isinstance(kind, Mapping) else None
                paths.append(f"{verb or 'edit'} {change['path']}")
    status = item.get("status")
    head = f"file change {phase}" if phase == "started" else f"file change {status or phase}"
    return f"{head}: {', '.join(paths)}" if paths else head


def _tool_item(phase: str, item: Params) -> str:
    name = item.get("tool")
    server = item.get("server")
    label = f"{server}.{name}" if isinstance(server, str) and server else str(name or "tool")
    prefix = "MCP tool" if item.get("type") == "mcpToolCall" else "tool"
    if phase == "started":
        return f"{prefix} call started: {label}"
    status = item.get("status") or "completed"
    duration = _seconds(item.get("durationMs"))
    text = f"{prefix} call {status}: {label}" + (f" in {duration}" if duration else "")
    error = item.get("error")
    return f"{text} ({_error_text(error)})" if error else text


def _web_search_item(phase: str, item: Params) -> str:
    query = item.get("query")
    return f"web search: {query}" if isinstance(query, str) and query else f"web search {phase}"


def _plain_item(label: str) -> Callable[[str, Params], str]:
    return lambda phase, _item: f"{label} {phase}" if label else phase


_ITEMS: dict[str, Callable[[str, Params], str]] = {
    "commandExecution": _command_item,
    "agentMessage": _agent_message_item,
    "reasoning": _reasoning_item,
    "fileChange": _file_change_item,
    "mcpToolCall": _tool_item,
    "dynamicToolCall": _tool_item,
    "webSearch": _web_search_item,
    "userMessage": _plain_item("prompt"),
    "plan": lambda phase, item: (
        f"plan: {item['text']}"
        if isinstance(item.get("text"), str) and phase == "completed"
        else f"plan {phase}"
    ),
    "contextCompaction": _plain_item("context compaction"),
    "imageView": _plain_item("image view"),
}


def _command_approval(params: Params) -> str:
    command = _command_text(params.get("command"))
    return f"command approval requested: {command}" if command else "command approval requested"


def _file_approval(params: Params) -> str:
    reason = _preview(params, "reason")
    return (
        f"file change approval requested: {reason}" if reason else "file change approval requested"
    )


def _tool_call(params: Params) -> str:
    tool = params.get("tool") or params.get("name")
    return (
        f"tool call requested: {tool}" if isinstance(tool, str) and tool else "tool call requested"
    )


def _user_input(params: Params) -> str:
    questions = params.get("questions")
    if isinstance(questions, list) and questions and isinstance(questions[0], Mapping):
        question = questions[0].get("question")
        if isinstance(question, str) and question.strip():
            return f"user input requested: {question}"
    question = _preview(params, "question", "prompt")
    return f"user input requested: {question}" if question else "user input requested"


def _elicitation(params: Params) -> str:
    server = params.get("serverName")
    message = _preview(params, "message")
    head = (
        f"MCP approval requested ({server})"
        if isinstance(server, str)
        else "MCP approval requested"
    )
    return f"{head}: {message}" if message else head


def _error(params: Params) -> str:
    text = _error_text(params.get("error", "unknown error"))
    return f"error (retrying): {text}" if params.get("willRetry") is True else f"error: {text}"


def _warning(label: str) -> Callable[[Params], str]:
    def render(params: Params) -> str:
        message = _preview(params, "message", "summary", "details")
        return f"{label}: {message}" if message else label

    return render


def _thread_status(params: Params) -> str:
    status = params.get("status")
    kind = status.get("type") if isinstance(status, Mapping) else status
    return f"thread {kind}" if isinstance(kind, str) else "thread status changed"


def _mcp_startup(params: Params) -> str:
    name = params.get("name") or params.get("server")
    status = params.get("status")
    state = status.get("state") if isinstance(status, Mapping) else status
    return f"MCP server {name or ''} {state or 'updated'}".replace("  ", " ")


_METHODS: dict[str, Callable[[Params], str]] = {
    "thread/started": _thread_started,
    "turn/started": _turn_started,
    "turn/completed": _turn_done,
    "turn/failed": lambda p: (
        f"turn failed: {_error_text(p['error'])}" if p.get("error") else "turn failed"
    ),
    "turn/cancelled": lambda _p: "turn cancelled",
    "turn/diff/updated": _diff,
    "turn/plan/updated": _plan,
    "thread/tokenUsage/updated": _token_usage,
    "account/rateLimits/updated": _rate_limits,
    "item/started": _item("started"),
    "item/completed": _item("completed"),
    "item/agentMessage/delta": _streaming("agent typing"),
    "item/plan/delta": _streaming("planning"),
    "item/reasoning/summaryTextDelta": _streaming("reasoning"),
    "item/reasoning/summaryPartAdded": lambda _p: "reasoning section added",
    "item/reasoning/textDelta": _streaming("reasoning"),
    "item/commandExecution/outputDelta": _streaming("command output"),
    "item/fileChange/outputDelta": _streaming("file change output"),
    "item/commandExecution/requestApproval": _command_approval,
    "item/fileChange/requestApproval": _file_approval,
    "item/tool/call": _tool_call,
    "item/tool/requestUserInput": _user_input,
    "tool/requestUserInput": _user_input,
    "mcpServer/elicitation/request": _elicitation,
    "mcpServer/startupStatus/updated": _mcp_startup,
    "error": _error,
    "warning": _warning("warning"),
    "configWarning": _warning("config warning"),
    "deprecationNotice": _warning("deprecation notice"),
    "thread/status/changed": _thread_status,
    "thread/compacted": lambda _p: "context compacted",
    "serverRequest/resolved": lambda _p: "server request resolved",
    "account/updated": lambda p: f"account updated (auth {p.get('authMode') or 'unknown'})",
}


# --- legacy ``codex/event/*`` wrappers (older app-servers; the reference still maps them) -----


def _legacy(kind: str, params: Params) -> str:
    msg = params.get("msg")
    msg = msg if isinstance(msg, Mapping) else {}
    if kind == "exec_command_begin":
        command = _command_text(msg.get("command")) or _command_text(msg.get("parsed_cmd"))
        return f"$ {command}" if command else "command started"
    if kind == "exec_command_end":
        code = as_int(msg.get("exit_code", msg.get("exitCode")))
        return f"command completed (exit {code})" if code is not None else "command completed"
    if kind == "token_count":
        info = msg.get("info")
        usage = info.get("total_token_usage") if isinstance(info, Mapping) else None
        text = _usage(usage)
        return f"token count update ({text})" if text else "token count update"
    if kind in ("agent_message_delta", "agent_reasoning_delta"):
        label = "agent typing" if kind == "agent_message_delta" else "reasoning"
        return _streaming(label)(msg)
    simple = {
        "task_started": "task started",
        "task_complete": "task complete",
        "mcp_startup_complete": "MCP startup complete",
        "user_message": "user message received",
        "turn_diff": "diff updated",
        "mcp_tool_call_begin": "MCP tool call started",
        "mcp_tool_call_end": "MCP tool call completed",
    }
    return simple.get(kind, kind.replace("_", " "))


def _compact(value: Any) -> str:
    try:
        return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)
    except (TypeError, ValueError):
        return repr(value)
