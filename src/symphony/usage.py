"""Token usage as agents report it (SPEC §13.5): one typed value, one lenient reader.

Pure (standard library only), so the scheduling core, the agent backends and the surfaces share
it. Backends turn whatever their protocol sends into ``TokenUsage`` holding the *absolute* totals
of the agent's thread; the core (``symphony.core.tokens``) turns those into counted growth.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from symphony.fastdata import record

# Field -> accepted spellings, most common first (Codex camelCase, OpenAI-style snake_case).
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
    """A non-negative integer from an int, an integral float or a digit string; else absent."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def read_counts(data: Any) -> dict[str, int]:
    """The token counts present in ``data`` under any accepted spelling (absent ones left out)."""
    if not isinstance(data, Mapping):
        return {}
    found: dict[str, int] = {}
    for name, aliases in _ALIASES.items():
        for alias in aliases:
            count = _count(data.get(alias))
            if count is not None:
                found[name] = count
                break
    return found


@record
class TokenUsage:
    """Token counts; in an agent event, the absolute totals of the agent's thread so far."""

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cached_input_tokens: int = 0
    reasoning_output_tokens: int = 0

    @classmethod
    def from_mapping(cls, data: Any) -> TokenUsage | None:
        """Lenient read of common field spellings; None when no token count is present.

        A missing total is the sum of input and output.
        """
        found = read_counts(data)
        if not found:
            return None
        if "total_tokens" not in found:
            found["total_tokens"] = found.get("input_tokens", 0) + found.get("output_tokens", 0)
        return cls(**found)

    # Spelled out field by field: these run for every usage report of a busy fleet, and a loop
    # over dataclasses.fields() cost twice the rest of the core's agent-update decision.
    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.total_tokens + other.total_tokens,
            self.cached_input_tokens + other.cached_input_tokens,
            self.reasoning_output_tokens + other.reasoning_output_tokens,
        )

    def high_water(self, other: TokenUsage) -> TokenUsage:
        """Per field, the larger of the two."""
        return TokenUsage(
            max(self.input_tokens, other.input_tokens),
            max(self.output_tokens, other.output_tokens),
            max(self.total_tokens, other.total_tokens),
            max(self.cached_input_tokens, other.cached_input_tokens),
            max(self.reasoning_output_tokens, other.reasoning_output_tokens),
        )

    def minus(self, earlier: TokenUsage) -> TokenUsage:
        """Per-field growth since ``earlier``, never negative."""
        return TokenUsage(
            max(self.input_tokens - earlier.input_tokens, 0),
            max(self.output_tokens - earlier.output_tokens, 0),
            max(self.total_tokens - earlier.total_tokens, 0),
            max(self.cached_input_tokens - earlier.cached_input_tokens, 0),
            max(self.reasoning_output_tokens - earlier.reasoning_output_tokens, 0),
        )

    @property
    def is_zero(self) -> bool:
        return not (
            self.input_tokens
            or self.output_tokens
            or self.total_tokens
            or self.cached_input_tokens
            or self.reasoning_output_tokens
        )

    def to_dict(self) -> dict[str, int]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
            "cached_input_tokens": self.cached_input_tokens,
            "reasoning_output_tokens": self.reasoning_output_tokens,
        }
