"""Linear's rate-limit signals -> ``tracker_rate_limited`` with ``retry_after_ms`` (SPEC §11.4).

Linear signals a spent budget with HTTP 429 and/or a GraphQL error whose ``extensions.code`` is
``RATELIMITED``. How long to wait comes from ``Retry-After`` (seconds or an HTTP date) or from the
``X-RateLimit-Requests-Reset`` / ``X-RateLimit-Complexity-Reset`` headers (UTC epoch milliseconds).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from symphony.trackers.base import TRACKER_RATE_LIMITED, TrackerError
from symphony.trackers.graphql_http import header
from symphony.trackers.graphql_http import retry_after_ms as parse_retry_after

RATELIMITED_CODE = "RATELIMITED"
# Header values beyond this are nonsense or an hourly bucket; trying again sooner is harmless.
MAX_COOLDOWN_MS = 15 * 60 * 1000
_EPOCH_MS_THRESHOLD = 10**11  # below this a reset value is in seconds, not milliseconds


@dataclass(frozen=True, slots=True)
class RateLimit:
    retry_after_ms: int | None
    signal: str  # "http_429", "graphql_ratelimited" or "cooldown"
    status: int | None

    @property
    def cooldown_ms(self) -> int:
        return min(self.retry_after_ms or 0, MAX_COOLDOWN_MS)


def detect_rate_limit(
    status: int,
    headers: Mapping[str, str],
    payload: Any,
    *,
    now_ms: Callable[[], float] = lambda: time.time() * 1000,
) -> RateLimit | None:
    if has_error_code(payload, RATELIMITED_CODE):
        signal = "graphql_ratelimited"
    elif status == 429:
        signal = "http_429"
    else:
        return None
    return RateLimit(retry_after_ms(headers, now_ms()), signal, status)


def retry_after_ms(headers: Mapping[str, str], now_ms: float) -> int | None:
    retry_after = header(headers, "retry-after")
    if retry_after is not None:
        waited = parse_retry_after(retry_after, now_ms)
        if waited is not None:
            return waited
    # Prefer the budget that is actually spent; otherwise the later of the two resets.
    resets: list[int] = []
    for budget in ("requests", "complexity"):
        reset = _parse_reset(header(headers, f"x-ratelimit-{budget}-reset"), now_ms)
        if reset is None:
            continue
        if header(headers, f"x-ratelimit-{budget}-remaining") == "0":
            return reset
        resets.append(reset)
    return max(resets) if resets else None


def rate_limit_error(limit: RateLimit, operation: str) -> TrackerError:
    if limit.signal == "cooldown":
        reason = "Linear rate limit still in effect; no request sent"
    else:
        reason = f"Linear rate limit reached for {operation} (HTTP {limit.status}"
        reason += ", RATELIMITED)" if limit.signal == "graphql_ratelimited" else ")"
    if limit.retry_after_ms is not None:
        reason += f"; retry after {_seconds(limit.retry_after_ms)}"
    return TrackerError(
        TRACKER_RATE_LIMITED,
        reason,
        retryable=True,
        retry_after_ms=limit.retry_after_ms,
        status=limit.status,
    )


def has_error_code(payload: Any, code: str) -> bool:
    """Whether a GraphQL body lists an error whose ``extensions.code`` is ``code``."""
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if not isinstance(errors, list):
        return False
    for error in errors:
        ext = error.get("extensions") if isinstance(error, dict) else None
        if isinstance(ext, dict) and str(ext.get("code", "")).upper() == code:
            return True
    return False


def _parse_reset(value: str | None, now_ms: float) -> int | None:
    if value is None:
        return None
    try:
        reset = float(value)
    except ValueError:
        return None
    if not math.isfinite(reset) or reset <= 0:
        return None
    if reset < _EPOCH_MS_THRESHOLD:
        reset *= 1000
    return max(0, round(reset - now_ms))


def _seconds(ms: int) -> str:
    return f"{ms / 1000:.1f} s" if ms < 10_000 else f"{round(ms / 1000)} s"
