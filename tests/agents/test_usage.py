"""Token accounting (SPEC §13.5): absolute totals in, deltas out, nothing counted twice."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from symphony.agents.codex.usage import TokenAccountant, TokenUsage, rate_limits, thread_totals


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


def test_repeated_and_late_updates_add_nothing() -> None:
    accountant = TokenAccountant()
    first = TokenUsage(input_tokens=100, output_tokens=20, total_tokens=120)
    second = TokenUsage(input_tokens=200, output_tokens=40, total_tokens=240)
    assert accountant.observe(first) == first
    assert accountant.observe(first).is_zero
    assert accountant.observe(second) == TokenUsage(
        input_tokens=100, output_tokens=20, total_tokens=120
    )
    assert accountant.observe(first).is_zero  # arrived late: totals never go back
    assert accountant.reported == second


@given(
    st.lists(
        st.tuples(st.integers(0, 10**9), st.integers(0, 10**9), st.integers(0, 10**9)),
        max_size=30,
    )
)
def test_sum_of_deltas_is_the_high_water_mark(updates: list[tuple[int, int, int]]) -> None:
    accountant = TokenAccountant()
    summed = TokenUsage()
    peak = TokenUsage()
    for inp, out, total in updates:
        totals = TokenUsage(input_tokens=inp, output_tokens=out, total_tokens=total)
        summed = summed + accountant.observe(totals)
        peak = peak.high_water(totals)
    assert summed == peak == accountant.reported


def test_rate_limit_snapshot_needs_a_window() -> None:
    real = {"limitId": "codex", "primary": {"usedPercent": 3}, "secondary": None}
    assert rate_limits({"rateLimits": real}) == real
    assert rate_limits({"rateLimits": {"limitId": "codex", "primary": None}}) is None
    assert rate_limits({"rateLimits": "x"}) is None
    assert rate_limits(None) is None
