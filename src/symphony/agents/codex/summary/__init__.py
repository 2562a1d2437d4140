"""Human summaries of app-server protocol messages (SPEC §13.6; display only).

The one place that knows how the app-server's messages read to a person, at two lengths:

* ``summarize`` (with ``usage_summary`` and ``rate_limit_summary``): the backend's own short
  line for an ``AgentEvent.message`` (``ran: <cmd> (exit 0)``), or None when a notification is
  not worth showing on its own. Streaming deltas get none: the item they belong to is
  summarized once when it completes.
* ``describe`` / ``describe_message``: a fuller line for any raw message, for dashboards that
  hold one (``$ <cmd> → exit 0 in 1.2s``); unknown methods read as their name.

Nothing may branch on these strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from symphony.agents.codex.summary.fields import error_text, first_text, used_percents
from symphony.agents.codex.summary.items import brief_item
from symphony.agents.codex.summary.methods import describe
from symphony.text import clip as clip_text

if TYPE_CHECKING:
    from symphony.usage import TokenUsage

MAX_SUMMARY = 240


def clip(text: str, limit: int = MAX_SUMMARY) -> str:
    """One line (whitespace folded), clipped to ``limit`` characters."""
    return clip_text(" ".join(text.split()), limit)


def summarize(method: str, params: Mapping[str, Any]) -> str | None:
    """One line for a notification, or None when it is not worth showing on its own."""
    text = _brief(method, params)
    return clip(text) if text is not None else None


def _brief(method: str, params: Mapping[str, Any]) -> str | None:
    if method in ("item/started", "item/completed"):
        item = params.get("item")
        if not isinstance(item, Mapping):
            return None
        return brief_item(item, done=method == "item/completed")
    if method == "turn/started":
        return "turn started"
    if method == "error":
        err = params.get("error")
        retry = " (retrying)" if params.get("willRetry") else ""
        return f"error{retry}: {error_text(err) if err is not None else 'unknown'}"
    if method in ("warning", "configWarning", "deprecationNotice"):
        text = first_text(params, "message", "summary", "details")
        return f"{method}: {text}" if text is not None else method
    if method == "thread/name/updated":
        return f"thread named: {params.get('threadName')}"
    return None


def describe_message(message: Any) -> str | None:
    """``describe`` for a raw ``{"method", "params"}`` message; None when it has no method."""
    if not isinstance(message, Mapping) or not isinstance(message.get("method"), str):
        return None
    params = message.get("params")
    return describe(message["method"], params if isinstance(params, Mapping) else {})


def usage_summary(totals: TokenUsage) -> str:
    return (
        f"tokens: in {totals.input_tokens}, out {totals.output_tokens}, total {totals.total_tokens}"
    )


def rate_limit_summary(limits: Mapping[str, Any]) -> str:
    parts = [f"{window} {used:g}%" for window, used in used_percents(limits)]
    return "rate limits: " + (", ".join(parts) if parts else "updated")


__all__ = [
    "MAX_SUMMARY",
    "clip",
    "describe",
    "describe_message",
    "rate_limit_summary",
    "summarize",
    "usage_summary",
]
