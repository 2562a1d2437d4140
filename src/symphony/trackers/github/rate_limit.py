"""GitHub's rate limits: the points budget every query reports, and the signals that it ran out.

Two limits apply to GraphQL (docs/trackers/github.md, "Limits"):

- the **primary** budget, points per hour per token: each query reports
  ``rateLimit {cost remaining resetAt}``; when it runs out GitHub answers ``RATE_LIMITED`` (in a
  200) or 403 with ``X-RateLimit-Remaining: 0`` until ``X-RateLimit-Reset`` (epoch seconds);
- **secondary** limits against bursts: 403 or 429, with ``Retry-After`` (seconds) or, without
  it, a wait of at least a minute.

``Budget`` keeps the latest report and says how far apart polls must be so the budget lasts
until it resets: ``interval >= cost per poll x seconds to reset / points remaining``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from symphony.timefmt import parse_timestamp
from symphony.trackers.base import TRACKER_RATE_LIMITED, TrackerError
from symphony.trackers.graphql_http import header, retry_after_ms

RATE_LIMITED_TYPE = "RATE_LIMITED"
# GitHub: "wait at least one minute" when a secondary limit names no Retry-After.
SECONDARY_DEFAULT_WAIT_MS = 60_000
# A longer wait than this is a nonsense header; trying again sooner is harmless.
MAX_COOLDOWN_MS = 60 * 60 * 1000
# Polls are spaced out only once this share of the hour's points is gone: a fresh budget lets
# the configured interval stand.
PRESSURE_SHARE = 0.5
# Points kept back for writes and agents' tool calls when polls are spaced out.
RESERVE_SHARE = 0.1


@dataclass(frozen=True, slots=True)
class RateLimit:
    retry_after_ms: int
    signal: str  # "secondary", "primary", "graphql_rate_limited" or "cooldown"
    status: int | None


@dataclass(frozen=True, slots=True)
class BudgetReport:
    """One ``rateLimit`` answer, stamped with the wall clock (s since the epoch) it arrived at."""

    cost: int
    remaining: int
    limit: int
    reset_at: float  # epoch seconds
    observed_at: float


class Budget:
    """The latest points report and the poll spacing it implies."""

    def __init__(self, wall_clock: Callable[[], float] = time.time) -> None:
        self._wall = wall_clock
        self.latest: BudgetReport | None = None

    def note(self, rate_limit: Any) -> BudgetReport | None:
        """Record ``data.rateLimit`` from an answer; ignores what is not one."""
        if not isinstance(rate_limit, dict):
            return None
        cost, remaining, limit = (rate_limit.get(k) for k in ("cost", "remaining", "limit"))
        reset = parse_timestamp(rate_limit.get("resetAt"))
        if not all(
            isinstance(v, int) and not isinstance(v, bool) for v in (cost, remaining, limit)
        ):
            return None
        if not isinstance(reset, datetime):
            return None
        assert isinstance(cost, int) and isinstance(remaining, int) and isinstance(limit, int)
        self.latest = BudgetReport(cost, remaining, limit, reset.timestamp(), self._wall())
        return self.latest

    def min_poll_interval_s(self, poll_cost: int) -> float:
        """How far apart polls costing ``poll_cost`` points must start so the points left last
        until the reset (0 while the budget is not under pressure)."""
        report = self.latest
        if report is None or poll_cost <= 0 or report.limit <= 0:
            return 0.0
        now = self._wall()
        to_reset = report.reset_at - now
        if to_reset <= 0:
            return 0.0  # a new hour's budget has started
        if report.remaining > report.limit * PRESSURE_SHARE:
            return 0.0
        spendable = report.remaining - report.limit * RESERVE_SHARE
        if spendable < poll_cost:
            return to_reset  # nothing to spare on polls until the reset
        return poll_cost * to_reset / spendable


def detect_rate_limit(
    status: int,
    headers: Mapping[str, str],
    payload: Any,
    *,
    now_ms: Callable[[], float] = lambda: time.time() * 1000,
) -> RateLimit | None:
    """A rate-limit signal in one answer, or None (a plain 403 is a permission problem)."""
    now = now_ms()
    retry_after = retry_after_ms(header(headers, "retry-after"), now)
    reset = _reset_ms(header(headers, "x-ratelimit-reset"), now)
    spent = header(headers, "x-ratelimit-remaining") == "0"
    if has_error_type(payload, RATE_LIMITED_TYPE):
        wait = retry_after if retry_after is not None else reset
        return RateLimit(_bounded(wait, SECONDARY_DEFAULT_WAIT_MS), "graphql_rate_limited", status)
    if status not in (403, 429):
        return None
    if retry_after is not None:
        return RateLimit(_bounded(retry_after, SECONDARY_DEFAULT_WAIT_MS), "secondary", status)
    if spent:
        return RateLimit(_bounded(reset, SECONDARY_DEFAULT_WAIT_MS), "primary", status)
    if status == 429 or _mentions_rate_limit(payload):
        return RateLimit(SECONDARY_DEFAULT_WAIT_MS, "secondary", status)
    return None


def rate_limit_error(limit: RateLimit, operation: str) -> TrackerError:
    if limit.signal == "cooldown":
        reason = "GitHub rate limit still in effect; no request sent"
    elif limit.signal == "secondary":
        reason = f"GitHub secondary rate limit for {operation} (HTTP {limit.status})"
    else:
        reason = f"GitHub points budget spent for {operation} (RATE_LIMITED)"
    reason += f"; retry after {_seconds(limit.retry_after_ms)}"
    return TrackerError(
        TRACKER_RATE_LIMITED,
        reason,
        retryable=True,
        retry_after_ms=limit.retry_after_ms,
        status=limit.status,
    )


def has_error_type(payload: Any, type_: str) -> bool:
    """Whether a GraphQL body lists an error of GitHub's ``type`` (or ``extensions.code``)."""
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if not isinstance(errors, list):
        return False
    for error in errors:
        if not isinstance(error, dict):
            continue
        ext = error.get("extensions")
        kinds = (error.get("type"), ext.get("code") if isinstance(ext, dict) else None)
        if any(isinstance(k, str) and k.upper() == type_ for k in kinds):
            return True
    return False


def _mentions_rate_limit(payload: Any) -> bool:
    message = payload.get("message") if isinstance(payload, dict) else None
    return isinstance(message, str) and "rate limit" in message.lower()


def _bounded(wait_ms: int | None, default_ms: int) -> int:
    return min(default_ms if wait_ms is None else wait_ms, MAX_COOLDOWN_MS)


def _reset_ms(value: str | None, now_ms: float) -> int | None:
    """``X-RateLimit-Reset`` (epoch seconds) as a wait from now."""
    if value is None:
        return None
    try:
        reset = float(value)
    except ValueError:
        return None
    if not math.isfinite(reset) or reset <= 0:
        return None
    return max(0, round(reset * 1000 - now_ms))


def _seconds(ms: int) -> str:
    return f"{ms / 1000:.1f} s" if ms < 10_000 else f"{round(ms / 1000)} s"
