"""Readers of app-server payload fields, shared by the short and the detailed summaries.

Each reader is lenient (a field of an unexpected shape reads as absent) and knows one piece of
the protocol: where an item keeps its command, its changed paths, its reasoning summary, how an
error or a token count is spelled.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Mapping
from typing import Any

from symphony.numbers import as_float, as_int
from symphony.text import clean_text, clip

PREVIEW = 80

Params = Mapping[str, Any]


def command_text(command: Any) -> str | None:
    if isinstance(command, str) and command.strip():
        return command
    if isinstance(command, list) and command and all(isinstance(c, str) for c in command):
        # ["bash", "-lc", "<script>"] is how shells wrap commands; show the script itself.
        if len(command) == 3 and command[1] in ("-lc", "-c"):
            return str(command[2])
        return shlex.join(command)
    return None


def item_command(item: Params) -> str | None:
    """A ``commandExecution`` item's command: the one parsed action's command when there is
    exactly one (the app-server's unwrapped form of ``bash -lc '...'``), else ``command``."""
    actions = item.get("commandActions")
    if isinstance(actions, list) and len(actions) == 1 and isinstance(actions[0], Mapping):
        inner = actions[0].get("command")
        if isinstance(inner, str) and inner:
            return inner
    return command_text(item.get("command"))


def file_changes(item: Params) -> list[tuple[str, str | None]]:
    """A ``fileChange`` item's ``(path, kind)`` pairs (``kind`` such as ``update`` or ``add``)."""
    changes = item.get("changes")
    found: list[tuple[str, str | None]] = []
    for change in changes if isinstance(changes, list) else []:
        if isinstance(change, Mapping) and change.get("path") is not None:
            kind = change.get("kind")
            verb = kind.get("type") if isinstance(kind, Mapping) else None
            found.append((str(change["path"]), verb if isinstance(verb, str) else None))
    return found


def reasoning_text(item: Params) -> str:
    """A ``reasoning`` item's summary sections, joined (empty when it has none)."""
    summary = item.get("summary")
    if not isinstance(summary, list):
        return ""
    return " ".join(s for s in summary if isinstance(s, str)).strip()


def used_percents(limits: Any) -> list[tuple[str, float]]:
    """``(window, percent used)`` for the primary and secondary rate-limit windows given."""
    if not isinstance(limits, Mapping):
        return []
    parts = []
    for name in ("primary", "secondary"):
        bucket = limits.get(name)
        if isinstance(bucket, Mapping):
            used = as_float(bucket.get("usedPercent", bucket.get("used_percent")))
            if used is not None:
                parts.append((name, used))
    return parts


def first_text(params: Params, *keys: str) -> str | None:
    """The first of ``keys`` whose value is a non-blank string."""
    for key in keys:
        value = params.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None


def usage_text(usage: Any) -> str | None:
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


def seconds_text(ms: Any) -> str:
    value = as_float(ms)
    return f"{value / 1000:.1f}s" if value is not None else ""


def error_text(error: Any) -> str:
    if isinstance(error, Mapping):
        message = error.get("message")
        if isinstance(message, str) and message.strip():
            return message
        return compact_json(error)
    return str(error)


def preview_text(params: Params, *keys: str) -> str:
    value = first_text(params, *keys)
    return clip(clean_text(value), PREVIEW, marker="...") if value else ""


def compact_json(value: Any) -> str:
    try:
        return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)
    except (TypeError, ValueError):
        return repr(value)


def streaming(label: str) -> Callable[[Params], str]:
    def render(params: Params) -> str:
        preview = preview_text(params, "delta", "text")
        return f"{label}: {preview}" if preview else label

    return render
