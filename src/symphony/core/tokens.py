"""Token accounting from absolute thread totals (SPEC §13.5): the one accountant.

Agent backends report ``usage`` as the cumulative totals of the agent's thread. Each running entry
keeps a high-water mark of what it already counted; only the growth beyond it is added, to the
entry and to the global totals, so repeated or out-of-order reports never double count.
"""

from __future__ import annotations

from symphony.core.state import RunningEntry, TokenCounts, Totals
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


def apply_usage(
    entry: RunningEntry, totals: Totals, usage: TokenUsage, *, thread_id: str | None
) -> bool:
    """Add growth beyond the entry's high-water marks; returns True when anything changed."""
    if thread_id is not None and entry.thread_id is not None and thread_id != entry.thread_id:
        # Totals are per thread: a new thread starts counting from zero again.
        entry.last_reported = TokenUsage()
    delta, entry.last_reported = counted_growth(entry.last_reported, usage)
    if not (delta.input_tokens or delta.output_tokens or delta.total_tokens):
        return False
    _add(entry.tokens, delta)
    _add(totals.tokens, delta)
    return True
