"""Token accounting from absolute thread totals (SPEC §13.5).

The agent client reports ``usage`` as the thread's cumulative totals. Each running entry keeps a
high-water mark of what it already counted; only the growth beyond it is added, to the entry and
to the global totals, so repeated or out-of-order reports never double count.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from symphony.core.state import RunningEntry, TokenCounts, Totals

_INPUT_KEYS = ("input_tokens", "inputTokens", "prompt_tokens", "promptTokens", "input")
_OUTPUT_KEYS = ("output_tokens", "outputTokens", "completion_tokens", "completionTokens", "output")
_TOTAL_KEYS = ("total_tokens", "totalTokens", "total")


def _count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    if isinstance(value, str):
        digits = value.strip()
        return int(digits) if digits.isdigit() else None
    return None


def _first(usage: Mapping[str, Any], keys: tuple[str, ...]) -> int | None:
    for key in keys:
        if key in usage:
            found = _count(usage[key])
            if found is not None:
                return found
    return None


def extract_usage(usage: Mapping[str, Any]) -> tuple[int | None, int | None, int | None]:
    """Lenient (input, output, total) from the common field spellings; None where absent."""
    return (_first(usage, _INPUT_KEYS), _first(usage, _OUTPUT_KEYS), _first(usage, _TOTAL_KEYS))


def apply_usage(
    entry: RunningEntry, totals: Totals, usage: Mapping[str, Any], *, thread_id: str | None
) -> bool:
    """Add growth beyond the entry's high-water marks; returns True when anything changed."""
    if thread_id is not None and entry.thread_id is not None and thread_id != entry.thread_id:
        # Totals are per thread: a new thread starts counting from zero again.
        entry.last_reported = TokenCounts()
    values = extract_usage(usage)
    if values == (None, None, None):
        return False
    seen = entry.last_reported
    changed = False
    for name, value in zip(("input_tokens", "output_tokens", "total_tokens"), values, strict=True):
        if value is None:
            continue
        last = getattr(seen, name)
        if value <= last:
            continue
        delta = value - last
        setattr(seen, name, value)
        setattr(entry.tokens, name, getattr(entry.tokens, name) + delta)
        setattr(totals.tokens, name, getattr(totals.tokens, name) + delta)
        changed = True
    return changed
