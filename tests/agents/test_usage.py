"""Codex usage and rate-limit notifications read into neutral values (SPEC §13.5).

Counting (absolute totals in, growth out, nothing counted twice) is the core's job:
tests/orchestrator/test_core_tokens_and_snapshot.py.
"""

from __future__ import annotations

from symphony.agents.codex.usage import rate_limits, thread_totals
from symphony.usage import TokenUsage


def test_reads_codex_camel_case_totals_and_ignores_last() -> None:
    params = {
        "threadId": "t",
        "tokenUsage": {
            "total": {
                "totalTokens": 4920,
                "inputTokens": 4800,
                "cachedInputTokens": 100,
                "outputTokens": 120,
                "reasoningOutputTokens": 7,
            },
            "last": {"totalTokens": 2460, "inputTokens": 2400, "outputTokens": 60},
        },
    }
    assert thread_totals(params) == TokenUsage(
        input_tokens=4800,
        output_tokens=120,
        total_tokens=4920,
        cached_input_tokens=100,
        reasoning_output_tokens=7,
    )
    assert thread_totals({"tokenUsage": {"last": {"totalTokens": 1}}}) is None
    assert thread_totals({"usage": {"total_tokens": 3}}) is None


def test_lenient_field_names_and_values() -> None:
    usage = TokenUsage.from_mapping({"prompt_tokens": "12", "completion_tokens": 3})
    assert usage == TokenUsage(input_tokens=12, output_tokens=3, total_tokens=15)
    assert TokenUsage.from_mapping({"input_tokens": -1, "total": True}) is None
    assert TokenUsage.from_mapping("12") is None
    assert TokenUsage.from_mapping({}) is None


def test_rate_limit_snapshot_needs_a_window() -> None:
    real = {"limitId": "codex", "primary": {"usedPercent": 3}, "secondary": None}
    assert rate_limits({"rateLimits": real}) == real
    assert rate_limits({"rateLimits": {"limitId": "codex", "primary": None}}) is None
    assert rate_limits({"rateLimits": "x"}) is None
    assert rate_limits(None) is None
