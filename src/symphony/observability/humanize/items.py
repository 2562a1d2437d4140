"""Summaries of app-server thread items (``item/started`` / ``item/completed``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from symphony.observability.formatting import as_int
from symphony.observability.humanize.text import Params, command_text, error_text, seconds_text


def item_renderer(phase: str) -> Callable[[Params], str]:
    def render(params: Params) -> str:
        item = params.get("item")
        if not isinstance(item, Mapping):
            return f"item {phase}"
        kind = item.get("type")
        renderer = ITEMS.get(kind) if isinstance(kind, str) else None
        if renderer is not None:
            return renderer(phase, item)
        return f"item {phase}: {kind}" if isinstance(kind, str) else f"item {phase}"

    return render


def _command_item(phase: str, item: Params) -> str:
    command = command_text(item.get("command")) or "command"
    status = item.get("status")
    if phase == "started":
        return f"$ {command}"
    if status == "declined":
        return f"command declined: {command}"
    exit_code = as_int(item.get("exitCode", item.get("exit_code")))
    duration = seconds_text(item.get("durationMs"))
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
    duration = seconds_text(item.get("durationMs"))
    text = f"{prefix} call {status}: {label}" + (f" in {duration}" if duration else "")
    error = item.get("error")
    return f"{text} ({error_text(error)})" if error else text


def _web_search_item(phase: str, item: Params) -> str:
    query = item.get("query")
    return f"web search: {query}" if isinstance(query, str) and query else f"web search {phase}"


def _plain_item(label: str) -> Callable[[str, Params], str]:
    return lambda phase, _item: f"{label} {phase}" if label else phase


ITEMS: dict[str, Callable[[str, Params], str]] = {
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
