"""Small, pure formatters shared by the terminal view, the API presenter and the summaries."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from symphony.numbers import as_float, as_int
from symphony.text import clip
from symphony.timefmt import parse_timestamp
from symphony.view import Snapshot


def truncate(text: str, limit: int) -> str:
    """``clip`` with the plain ``...`` the terminal dashboard and previews use."""
    return clip(text, limit, marker="...")


def format_int(value: Any) -> str:
    number = as_int(value)
    return f"{number:,}" if number is not None else "0"


def format_duration(seconds: float | None) -> str:
    """``13m 5s`` under an hour, ``2h 5m`` under a day, ``3d 4h`` beyond."""
    if seconds is None or not math.isfinite(seconds):
        return "n/a"
    total = max(0, int(seconds))
    if total < 3600:
        return f"{total // 60}m {total % 60}s"
    if total < 86400:
        return f"{total // 3600}h {(total % 3600) // 60}m"
    return f"{total // 86400}d {(total % 86400) // 3600}h"


def format_ago(seconds: float) -> str:
    """``3s ago`` / ``2m 5s ago``; a moment in the future (clock skew) reads as ``just now``."""
    if seconds < 1:
        return "just now"
    if seconds < 60:
        return f"{int(seconds)}s ago"
    return f"{format_duration(seconds)} ago"


def format_countdown(seconds: float) -> str:
    """Retry/poll countdowns: ``4.250s`` when close, ``2m 5s`` when further away."""
    if seconds < 60:
        return f"{max(0.0, seconds):.3f}s"
    return format_duration(seconds)


def seconds_between(start: datetime | None, end: datetime) -> float | None:
    """Seconds from ``start`` to ``end``; a naive instant counts as UTC (as the API renders it)."""
    if start is None:
        return None
    return (_aware(end) - _aware(start)).total_seconds()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def short_session(session_id: Any) -> str:
    """``thre...567890``: enough to tell sessions apart in a narrow column."""
    if not isinstance(session_id, str) or not session_id:
        return "-"
    if len(session_id) <= 10:
        return session_id
    return f"{session_id[:4]}...{session_id[-6:]}"


def live_runtime_seconds(snapshot: Snapshot, now: datetime) -> float:
    """SPEC §13.5: the snapshot's aggregate plus the time active sessions ran since it was taken."""
    elapsed = seconds_between(snapshot.generated_at, now) or 0.0
    return snapshot.codex_totals.seconds_running + max(0.0, elapsed) * len(snapshot.running)


# --- rate limits -------------------------------------------------------------------------------
# Codex 0.169 sends ``{limitId, primary:{usedPercent, windowDurationMins, resetsAt}, secondary,
# credits:{hasCredits, unlimited, balance}, planType}``; older payloads (and the reference's
# fixtures) use ``remaining``/``limit`` and ``reset_in_seconds``-style keys. Accept both.


def rate_limit_parts(rate_limits: Any, now: datetime) -> list[tuple[str, str]]:
    """``[(kind, text)]`` where kind is ``id``, ``bucket`` or ``credits``; empty when unknown."""
    if not isinstance(rate_limits, Mapping) or not rate_limits:
        return []
    parts: list[tuple[str, str]] = []
    ident = _first(rate_limits, "limitId", "limit_id", "limitName", "limit_name", "name")
    if isinstance(ident, str) and ident:
        parts.append(("id", ident))
    for name in ("primary", "secondary"):
        bucket = rate_limits.get(name)
        if isinstance(bucket, Mapping):
            parts.append(("bucket", f"{name} {_bucket_text(bucket, now)}"))
    credits = rate_limits.get("credits")
    if credits is not None:
        parts.append(("credits", f"credits {_credits_text(credits)}"))
    return parts


def _first(mapping: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        value = mapping.get(key)
        if value is not None:
            return value
    return None


def _bucket_text(bucket: Mapping[str, Any], now: datetime) -> str:
    used_pct = as_float(_first(bucket, "usedPercent", "used_percent"))
    remaining = as_int(bucket.get("remaining"))
    limit = as_int(bucket.get("limit"))
    if used_pct is not None:
        text = f"{used_pct:g}% used"
        window = as_int(_first(bucket, "windowDurationMins", "window_minutes", "windowMinutes"))
        if window:
            text += f" of {_window(window)}"
    elif remaining is not None and limit is not None:
        text = f"{remaining:,}/{limit:,}"
    elif remaining is not None:
        text = f"remaining {remaining:,}"
    elif limit is not None:
        text = f"limit {limit:,}"
    else:
        text = "n/a"
    reset = _reset_seconds(bucket, now)
    if reset is not None:
        text += f" reset {format_duration(reset) if reset >= 3600 else f'{int(reset)}s'}"
    return text


def _window(minutes: int) -> str:
    if minutes % 1440 == 0:
        return f"{minutes // 1440}d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"


def _reset_seconds(bucket: Mapping[str, Any], now: datetime) -> float | None:
    relative = as_float(_first(bucket, "reset_in_seconds", "resetInSeconds"))
    if relative is not None:
        return max(0.0, relative)
    absolute = _first(bucket, "resetsAt", "resets_at", "resetAt", "reset_at")
    epoch = as_float(absolute)
    if epoch is not None:
        return max(0.0, epoch - now.timestamp())
    moment = parse_timestamp(absolute)
    if moment is not None:
        return max(0.0, (moment - now).total_seconds())
    return None


def _credits_text(credits: Any) -> str:
    if not isinstance(credits, Mapping):
        return str(credits)
    if credits.get("unlimited") is True:
        return "unlimited"
    balance = as_float(credits.get("balance"))
    has = credits.get("hasCredits", credits.get("has_credits"))
    if has is True and balance is not None:
        return f"{balance:.2f}"
    return "available" if has is True else "none"
