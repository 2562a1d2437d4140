"""Summaries of app-server thread items (``item/started`` / ``item/completed``).

Two lengths: ``brief_item`` is the backend's own line for an event message (``ran: <cmd> (exit
0)``), ``item_renderer`` the dashboards' fuller line for a raw message (``$ <cmd> → exit 0 in
1.2s``). Both read the item through the same field readers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from symphony.agents.codex.summary.fields import (
    Params,
    error_text,
    file_changes,
    item_command,
    reasoning_text,
    seconds_text,
)
from symphony.numbers import as_int


def brief_item(item: Params, *, done: bool) -> str | None:
    """The backend's one line for an item, or None when it is not worth showing on its own."""
    kind = item.get("type")
    if kind == "commandExecution":
        cmd = item_command(item) or "?"
        if not done:
            return f"running: {cmd}"
        exit_code = item.get("exitCode")
        tail = f"exit {exit_code}" if exit_code is not None else str(item.get("status"))
        return f"ran: {cmd} ({tail})"
    if not done:
        return None
    if kind == "agentMessage":
        text = item.get("text")
        return text if isinstance(text, str) and text.strip() else None
    if kind == "fileChange":
        paths = ", ".join(path for path, _kind in file_changes(item))
        return f"file change ({item.get('status')}): {paths or '?'}"
    if kind in ("dynamicToolCall", "mcpToolCall"):
        return f"tool {item.get('tool')}: {item.get('status')}"
    if kind == "reasoning":
        text = reasoning_text(item)
        return f"reasoning: {text}" if text else None
    return None


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
    command = item_command(item) or "command"
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
    text = reasoning_text(item) if phase == "completed" else ""
    return f"reasoning: {text}" if text else f"reasoning {phase}"


def _file_change_item(phase: str, item: Params) -> str:
    paths = [f"{verb or 'edit'} {path}" for path, verb in file_changes(item)]
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
