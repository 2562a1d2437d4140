"""Text helpers shared by the summary renderers."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Mapping
from typing import Any

from symphony.observability.formatting import as_float, as_int, clean_text, truncate

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
    for key in keys:
        value = params.get(key)
        if isinstance(value, str) and value.strip():
            return truncate(clean_text(value), PREVIEW)
    return ""


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
