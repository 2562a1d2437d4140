"""Model prices and what token growth costs (docs/pricing.md): the default table, one formula.

Pure (standard library only), so the scheduling core, the workflow config and the surfaces share
it. Prices are US dollars per million tokens. ``agent.prices`` in ``WORKFLOW.md`` overrides and
extends ``DEFAULT_PRICES`` model by model; a model found in neither has no price, and its runs
cost what the agent itself reports (Claude Code), else nothing known (``null``).

The defaults are list prices as known when this table was written; providers change them. An
operator who budgets by cost checks them against the provider's price page and overrides them.
"""

from __future__ import annotations

from collections.abc import Mapping

from symphony.fastdata import record
from symphony.usage import TokenUsage

PER_TOKENS = 1_000_000


@record
class Price:
    """USD per million input, cached input and output tokens of one model."""

    input: float
    cached_input: float
    output: float

    def cost(self, delta: TokenUsage) -> float:
        """What ``delta`` costs: uncached input, cached input and output at their prices.

        Codex counts cached tokens inside the input tokens; a report with more cached than input
        tokens is read as all input cached.
        """
        cached = min(delta.cached_input_tokens, delta.input_tokens)
        uncached = delta.input_tokens - cached
        return (
            uncached * self.input + cached * self.cached_input + delta.output_tokens * self.output
        ) / PER_TOKENS


# Model name (as the agent reports it) -> price. Check against the provider's price page.
DEFAULT_PRICES: Mapping[str, Price] = {
    # Claude Code's own list price for its default model (the CLI's total_cost_usd agrees).
    "claude-opus-5-5": Price(input=4.0, cached_input=0.4, output=20.0),
    # Codex models: placeholders of the right order of magnitude; override them.
    "gpt-6.1-sol": Price(input=1.25, cached_input=0.125, output=10.0),
    "gpt-6.1-sol-mini": Price(input=0.25, cached_input=0.025, output=2.0),
}


def effective_prices(overrides: Mapping[str, Price]) -> dict[str, Price]:
    """The default table with ``agent.prices`` laid over it (an override replaces a model's row)."""
    return {**DEFAULT_PRICES, **overrides}
