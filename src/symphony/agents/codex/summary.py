"""Short human summaries of protocol messages for dashboards (SPEC §13.6; observability only).

Nothing may branch on these strings. Streaming deltas get no summary: the item they belong to
is summarized once when it completes.

Known overlap: ``symphony.observability.humanize`` summarizes the same app-server messages again
(from the raw payload, for the dashboards). Folding the two together means moving one across
the agents/observability boundary, so it is left for whoever owns the view model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from symphony.text import clip as clip_text

if TYPE_CHECKING:
    from symphony.usage import TokenUsage

MAX_SUMMARY = 240


def clip(text: str, limit: int = MAX_SUMMARY) -> str:
    """One line (whitespace folded), clipped to ``limit`` characters."""
    return clip_text(" ".join(text.split()), limit)


def _command(item: Mapping[str, Any]) -> str:
    actions = item.get("commandActions")
    if isinstance(actions, list) and len(actions) == 1 and isinstance(actions[0], Mapping):
        inner = actions[0].get("command")
        if isinstance(inner, str) and inner:
            return inner
    command = item.get("command")
    return command if isinstance(command, str) else "?"


def _item(item: Mapping[str, Any], *, done: bool) -> str | None:
    kind = item.get("type")
    if kind == "commandExecution":
        cmd = _command(item)
        if not done:
            return clip(f"running: {cmd}")
        exit_code = item.get("exitCode")
        status = item.get("status")
        tail = f"exit {exit_code}" if exit_code is not None else str(status)
        return clip(f"ran: {cmd} ({tail})")
    if kind == "agentMessage" and done:
        text = item.get("text")
        return clip(text) if isinstance(text, str) and text.strip() else None
    if kind == "fileChange" and done:
        changes = item.get("changes")
        paths = [
            str(c.get("path"))
            for c in changes or []
            if isinstance(c, Mapping) and c.get("path") is not None
        ]
        return clip(f"file change ({item.get('status')}): {', '.join(paths) or '?'}")
    if kind in ("dynamicToolCall", "mcpToolCall") and done:
        return clip(f"tool {item.get('tool')}: {item.get('status')}")
    if kind == "reasoning" and done:
        summary = item.get("summary")
        if isinstance(summary, list) and summary and isinstance(summary[0], str):
            return clip(f"reasoning: {summary[0]}")
    return None


def summarize(method: str, params: Mapping[str, Any]) -> str | None:
    """One line for a notification, or None when it is not worth showing on its own."""
    if method in ("item/started", "item/completed"):
        item = params.get("item")
        return _item(item, done=method == "item/completed") if isinstance(item, Mapping) else None
    if method == "turn/started":
        return "turn started"
    if method == "error":
        err = params.get("error")
        message = err.get("message") if isinstance(err, Mapping) else None
        retry = " (retrying)" if params.get("willRetry") else ""
        return clip(f"error{retry}: {message or 'unknown'}")
    if method in ("warning", "configWarning", "deprecationNotice"):
        text = params.get("message") or params.get("summary")
        return clip(f"{method}: {text}") if isinstance(text, str) else method
    if method == "thread/name/updated":
        return clip(f"thread named: {params.get('threadName')}")
    return None


def usage_summary(totals: TokenUsage) -> str:
    return (
        f"tokens: in {totals.input_tokens}, out {totals.output_tokens}, total {totals.total_tokens}"
    )


def rate_limit_summary(limits: Mapping[str, Any]) -> str:
    parts = []
    for window in ("primary", "secondary"):
        value = limits.get(window)
        if isinstance(value, Mapping) and value.get("usedPercent") is not None:
            parts.append(f"{window} {value.get('usedPercent')}%")
    return "rate limits: " + (", ".join(parts) if parts else "updated")
