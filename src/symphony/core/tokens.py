"""Token accounting from absolute thread totals (SPEC §13.5): the one accountant.

Agent backends report ``usage`` as the cumulative totals of the agent's thread. Each running entry
keeps a high-water mark of what it already counted; only the growth beyond it is added, to the
entry and to the global totals, so repeated or out-of-order reports never double count.

Cost follows the same growth: the delta priced at the run's model's price (docs/pricing.md).
A model without a price costs what the agent reports for the event (Claude Code), else nothing
is known and the run's ``cost_usd`` stays None.
"""

from __future__ import annotations

from symphony.core.state import RunningEntry, TokenCounts, Totals
from symphony.pricing import Price
from symphony.usage import TokenUsage


def counted_growth(reported: TokenUsage, totals: TokenUsage) -> tuple[TokenUsage, TokenUsage]:
    """What ``totals`` adds beyond the high-water mark ``reported``, and the new mark.

    Per field: an update that repeats, arrives late or goes backwards adds nothing.
    """
    return totals.minus(reported), reported.high_water(totals)


def _add(counts: TokenCounts, delta: TokenUsage) -> None:
    counts.input_tokens += delta.input_tokens
    counts.output_tokens += delta.output_tokens
    counts.total_tokens += delta.total_tokens


def add_cost(entry: RunningEntry, totals: Totals, cost: float) -> None:
    entry.cost_usd = (entry.cost_usd or 0.0) + cost
    totals.cost_usd += cost


def apply_usage(
    entry: RunningEntry,
    totals: Totals,
    usage: TokenUsage | None,
    *,
    thread_id: str | None,
    price: Price | None = None,
    reported_cost: float | None = None,
) -> bool:
    """Add growth beyond the entry's high-water marks, and its cost; True when anything changed.

    ``reported_cost`` (the agent's own figure for this event) counts only when ``price`` is
    None: a priced model is never counted twice.
    """
    grew = False
    if usage is not None:
        if thread_id is not None and entry.thread_id is not None and thread_id != entry.thread_id:
            # Totals are per thread: a new thread starts counting from zero again.
            entry.last_reported = TokenUsage()
        delta, entry.last_reported = counted_growth(entry.last_reported, usage)
        if delta.input_tokens or delta.output_tokens or delta.total_tokens:
            _add(entry.tokens, delta)
            _add(totals.tokens, delta)
            grew = True
            if price is not None:
                add_cost(entry, totals, price.cost(delta))
    if price is None and reported_cost is not None and reported_cost > 0:
        add_cost(entry, totals, reported_cost)
        grew = True
    return grew
