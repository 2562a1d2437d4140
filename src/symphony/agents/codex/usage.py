"""Codex's token-usage and rate-limit notifications, read into neutral values (SPEC §13.5).

Codex 0.169 reports usage only in ``thread/tokenUsage/updated``: ``tokenUsage.total`` is the
thread's absolute running total and ``tokenUsage.last`` the increment of one model response.
Events carry the absolute totals as ``TokenUsage``; the core's accountant
(``symphony.core.tokens``) counts only the growth beyond what it already saw, so repeated or
re-ordered updates and continuation turns never count a token twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from symphony.usage import TokenUsage


def thread_totals(params: Any) -> TokenUsage | None:
    """Absolute thread totals from ``thread/tokenUsage/updated`` params (``tokenUsage.total``).

    ``tokenUsage.last`` is a per-response increment and deliberately ignored (SPEC §13.5).
    """
    if not isinstance(params, Mapping):
        return None
    usage = params.get("tokenUsage")
    if not isinstance(usage, Mapping):
        return None
    return TokenUsage.from_mapping(usage.get("total"))


def rate_limits(params: Any) -> dict[str, Any] | None:
    """The rate-limit snapshot of ``account/rateLimits/updated`` params, as sent.

    Codex also sends snapshots whose windows are all null (the provider sent no rate-limit
    headers); those carry nothing and must not replace a real snapshot, so they give None.
    """
    if not isinstance(params, Mapping):
        return None
    limits = params.get("rateLimits")
    if not isinstance(limits, Mapping):
        return None
    if all(limits.get(key) is None for key in ("primary", "secondary", "credits")):
        return None
    return dict(limits)
