"""Token and rate-limit accounting (SPEC §13.5), pure and reusable by the orchestrator.

Codex 0.169 reports usage only in ``thread/tokenUsage/updated``: ``tokenUsage.total`` is the
thread's absolute running total and ``tokenUsage.last`` the increment of one model response.
Symphony uses the absolute totals only and turns them into deltas against the last reported
totals (a high-water mark), so repeated or re-ordered updates and continuation turns never count
a token twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

_ALIASES: dict[str, tuple[str, ...]] = {
    "input_tokens": ("inputTokens", "input_tokens", "promptTokens", "prompt_tokens", "input"),
    "output_tokens": (
        "outputTokens",
        "output_tokens",
        "completionTokens",
        "completion_tokens",
        "output",
    ),
    "total_tokens": ("totalTokens", "total_tokens", "total"),
    "cached_input_tokens": ("cachedInputTokens", "cached_input_tokens"),
    "reasoning_output_tokens": ("reasoningOutputTokens", "reasoning_output_tokens"),
}


def _count(value: Any) -> int | None:
    """A non-negative integer from an int or a digit string; anything else is absent."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """Token counts; depending on context either absolute thread totals or a delta."""

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cached_input_tokens: int = 0
    reasoning_output_tokens: int = 0

    @classmethod
    def from_mapping(cls, data: Any) -> TokenUsage | None:
        """Lenient read of common field spellings; None when no token count is present."""
        if not isinstance(data, Mapping):
            return None
        found: dict[str, int] = {}
        for name, aliases in _ALIASES.items():
            for alias in aliases:
                count = _count(data.get(alias))
                if count is not None:
                    found[name] = count
                    break
        if not found:
            return None
        if "total_tokens" not in found:
            found["total_tokens"] = found.get("input_tokens", 0) + found.get("output_tokens", 0)
        return cls(**found)

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            *(getattr(self, f.name) + getattr(other, f.name) for f in fields(TokenUsage))
        )

    def high_water(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            *(max(getattr(self, f.name), getattr(other, f.name)) for f in fields(TokenUsage))
        )

    def minus(self, earlier: TokenUsage) -> TokenUsage:
        """Per-field growth since ``earlier``, never negative."""
        return TokenUsage(
            *(max(getattr(self, f.name) - getattr(earlier, f.name), 0) for f in fields(TokenUsage))
        )

    @property
    def is_zero(self) -> bool:
        return not any(getattr(self, f.name) for f in fields(TokenUsage))

    def to_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(TokenUsage)}


class TokenAccountant:
    """Absolute totals in, deltas out; one per thread (one agent session).

    ``observe`` returns what is new since the last reported totals and advances a per-field
    high-water mark, so an update that repeats, arrives late or goes backwards adds nothing.
    """

    __slots__ = ("_reported",)

    def __init__(self, reported: TokenUsage | None = None) -> None:
        self._reported = reported or TokenUsage()

    @property
    def reported(self) -> TokenUsage:
        """The high-water mark: everything counted so far for this thread."""
        return self._reported

    def observe(self, totals: TokenUsage) -> TokenUsage:
        delta = totals.minus(self._reported)
        self._reported = self._reported.high_water(totals)
        return delta


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
