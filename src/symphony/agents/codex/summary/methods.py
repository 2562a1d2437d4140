"""Detailed summaries of app-server methods (Codex 0.169) and legacy ``codex/event/*`` wrappers,
for dashboards that show a raw message."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from symphony.agents.codex.summary.fields import (
    Params,
    command_text,
    error_text,
    preview_text,
    seconds_text,
    streaming,
    usage_text,
    used_percents,
)
from symphony.agents.codex.summary.items import item_renderer
from symphony.numbers import as_int


def describe(method: str, params: Params) -> str:
    """One line for any app-server message (never None: unknown methods read as their name)."""
    renderer = _METHODS.get(method)
    if renderer is not None:
        return renderer(params)
    if method.startswith("codex/event/"):
        return _legacy(method.removeprefix("codex/event/"), params)
    msg = params.get("msg")
    if isinstance(msg, Mapping) and isinstance(msg.get("type"), str):
        return f"{method} ({msg['type']})"
    return method


def _started(kind: str) -> Callable[[Params], str]:
    """``thread/started`` and ``turn/started``: the new thread's or turn's id, when given."""

    def render(params: Params) -> str:
        item = params.get(kind)
        item_id = item.get("id") if isinstance(item, Mapping) else None
        return f"{kind} started ({item_id})" if isinstance(item_id, str) else f"{kind} started"

    return render


def _turn_done(params: Params) -> str:
    turn = params.get("turn")
    turn = turn if isinstance(turn, Mapping) else {}
    status = turn.get("status") if isinstance(turn.get("status"), str) else "completed"
    if status == "failed" and turn.get("error") is not None:
        return f"turn failed: {error_text(turn['error'])}"
    text = f"turn completed ({status})"
    usage = usage_text(params.get("usage") or params.get("tokenUsage"))
    if usage:
        text += f" ({usage})"
    duration = seconds_text(turn.get("durationMs"))
    return f"{text} in {duration}" if duration else text


def _token_usage(params: Params) -> str:
    usage = params.get("tokenUsage")
    total = usage.get("total") if isinstance(usage, Mapping) else None
    text = usage_text(total if total is not None else params.get("usage"))
    return f"token usage updated ({text})" if text else "token usage updated"


def _rate_limits(params: Params) -> str:
    parts = [f"{name} {used:g}% used" for name, used in used_percents(params.get("rateLimits"))]
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


def _command_approval(params: Params) -> str:
    command = command_text(params.get("command"))
    return f"command approval requested: {command}" if command else "command approval requested"


def _file_approval(params: Params) -> str:
    reason = preview_text(params, "reason")
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
    question = preview_text(params, "question", "prompt")
    return f"user input requested: {question}" if question else "user input requested"


def _elicitation(params: Params) -> str:
    server = params.get("serverName")
    message = preview_text(params, "message")
    head = (
        f"MCP approval requested ({server})"
        if isinstance(server, str)
        else "MCP approval requested"
    )
    return f"{head}: {message}" if message else head


def _error(params: Params) -> str:
    text = error_text(params.get("error", "unknown error"))
    return f"error (retrying): {text}" if params.get("willRetry") is True else f"error: {text}"


def _warning(label: str) -> Callable[[Params], str]:
    def render(params: Params) -> str:
        message = preview_text(params, "message", "summary", "details")
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
    "thread/started": _started("thread"),
    "turn/started": _started("turn"),
    "turn/completed": _turn_done,
    "turn/failed": lambda p: (
        f"turn failed: {error_text(p['error'])}" if p.get("error") else "turn failed"
    ),
    "turn/cancelled": lambda _p: "turn cancelled",
    "turn/diff/updated": _diff,
    "turn/plan/updated": _plan,
    "thread/tokenUsage/updated": _token_usage,
    "account/rateLimits/updated": _rate_limits,
    "item/started": item_renderer("started"),
    "item/completed": item_renderer("completed"),
    "item/agentMessage/delta": streaming("agent typing"),
    "item/plan/delta": streaming("planning"),
    "item/reasoning/summaryTextDelta": streaming("reasoning"),
    "item/reasoning/summaryPartAdded": lambda _p: "reasoning section added",
    "item/reasoning/textDelta": streaming("reasoning"),
    "item/commandExecution/outputDelta": streaming("command output"),
    "item/fileChange/outputDelta": streaming("file change output"),
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
        command = command_text(msg.get("command")) or command_text(msg.get("parsed_cmd"))
        return f"$ {command}" if command else "command started"
    if kind == "exec_command_end":
        code = as_int(msg.get("exit_code", msg.get("exitCode")))
        return f"command completed (exit {code})" if code is not None else "command completed"
    if kind == "token_count":
        info = msg.get("info")
        usage = info.get("total_token_usage") if isinstance(info, Mapping) else None
        text = usage_text(usage)
        return f"token count update ({text})" if text else "token count update"
    if kind in ("agent_message_delta", "agent_reasoning_delta"):
        label = "agent typing" if kind == "agent_message_delta" else "reasoning"
        return streaming(label)(msg)
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
