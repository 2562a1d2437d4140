"""The cost formula of docs/pricing.md."""

from __future__ import annotations

import pytest

from symphony.pricing import DEFAULT_PRICES, Price, effective_prices
from symphony.usage import TokenUsage


def test_cached_input_is_priced_apart_from_the_rest_of_the_input() -> None:
    price = Price(input=2.0, cached_input=0.5, output=10.0)
    delta = TokenUsage(input_tokens=3_000_000, cached_input_tokens=1_000_000, output_tokens=500_000)
    assert price.cost(delta) == pytest.approx(2 * 2.0 + 1 * 0.5 + 0.5 * 10.0)


def test_more_cached_than_input_tokens_counts_as_all_input_cached() -> None:
    price = Price(input=2.0, cached_input=0.5, output=10.0)
    assert price.cost(TokenUsage(input_tokens=100, cached_input_tokens=500)) == pytest.approx(
        100 * 0.5 / 1_000_000
    )


def test_claude_code_default_model_matches_its_own_list_price() -> None:
    # The CLI's total_cost_usd for 3000 input and 80 output tokens of claude-opus-5-5.
    usage = TokenUsage(input_tokens=3_000, output_tokens=80)
    assert DEFAULT_PRICES["claude-opus-5-5"].cost(usage) == pytest.approx(0.0136)


def test_overrides_replace_a_models_row_and_add_new_ones() -> None:
    mine = Price(1.0, 1.0, 1.0)
    prices = effective_prices({"claude-opus-5-5": mine, "x": mine})
    assert prices["claude-opus-5-5"] == mine and prices["x"] == mine
    assert set(DEFAULT_PRICES) <= set(prices)
