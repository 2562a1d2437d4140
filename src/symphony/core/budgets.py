"""Per-issue budgets (docs/holds.md): tokens, runtime and cost summed over all of an issue's
runs.

At ``agent.wrap_up_at`` of a budget (default 0.8) the run is marked to wrap up: its next
continuation turn gets ``agent.wrap_up_prompt`` instead of the usual guidance. At the limit
("crosses" means ≥) the run is stopped at once (a running turn is interrupted) and the issue is
held with ``budget_exhausted``. Checked at every token update and at every poll tick (runtime
grows between events), and when a run is dispatched.

Tokens are the agent's total tokens (input including cached, plus output); cost is the runs'
``cost_usd`` (docs/pricing.md), a run of unknown cost counting nothing. What an issue used
counts from its last release: a hold that ends because the issue left the active states or an
operator released it starts the budget afresh; one that ends because the limit was raised keeps
what was spent.
"""

from __future__ import annotations

from symphony.core import holds
from symphony.core.effects import Log, Notify
from symphony.core.state import OrchestratorState, RunningEntry, Spend
from symphony.core.transitions import Effects

TOKENS_KEY = "agent.max_tokens_per_issue"
RUNTIME_KEY = "agent.max_runtime_ms_per_issue"
COST_KEY = "agent.max_cost_usd_per_issue"
BUDGET_EXHAUSTED = "budget_exhausted"
BUDGET_KEYS = (TOKENS_KEY, RUNTIME_KEY, COST_KEY)
_UNITS = {TOKENS_KEY: " tokens", RUNTIME_KEY: " ms of agent runtime", COST_KEY: ""}


def _amount(key: str, value: float) -> str:
    return f"${value:,.2f}" if key == COST_KEY else f"{value:,.0f}"


def limited(state: OrchestratorState) -> bool:
    limits = state.config.hold_limits
    return any(limits.get(key) is not None for key in BUDGET_KEYS)


def used(state: OrchestratorState, entry: RunningEntry, now: float) -> dict[str, float]:
    spent = state.spent.get(entry.issue.id) or Spend()
    return {
        TOKENS_KEY: float(spent.tokens + entry.tokens.total_tokens),
        RUNTIME_KEY: spent.runtime_ms + max(now - entry.started_ms, 0.0),
        COST_KEY: spent.cost_usd + (entry.cost_usd or 0.0),
    }


def check(state: OrchestratorState, entry: RunningEntry, now: float, out: Effects) -> bool:
    """Hold the run's issue at a limit, mark it to wrap up near one; True when it was held."""
    limits = state.config.hold_limits
    fractions: list[tuple[float, str, float, float]] = []
    for key, value in used(state, entry, now).items():
        limit = limits.get(key)
        if limit is not None:
            fractions.append((value / limit, key, value, limit))
    if not fractions:
        return False
    fraction, key, value, limit = max(fractions)
    if fraction >= 1.0:
        message = (
            f"The issue used {_amount(key, value)}{_UNITS[key]} over its runs; "
            f"{key} is {_amount(key, limit)}."
        )
        holds.hold_run(state, entry, BUDGET_EXHAUSTED, message, (key, limit), now, out)
        return True
    if fraction >= state.config.wrap_up_at and not entry.wrap_up:
        entry.wrap_up = True
        out.append(
            Log.info(
                "budget nearly spent, the next turn wraps up",
                about=entry.issue,
                limit=key,
                used=round(value, 6) if key == COST_KEY else round(value),
                of=round(limit, 6) if key == COST_KEY else round(limit),
            )
        )
    return False


def check_all(state: OrchestratorState, now: float, out: Effects) -> None:
    if not limited(state):
        return
    for entry in list(state.running.values()):
        check(state, entry, now, out)


def reset(state: OrchestratorState, issue_id: str) -> None:
    """A released issue starts its budget afresh."""
    state.spent.pop(issue_id, None)


DAY_KEY = "agent.max_cost_usd_per_day"
DAY_PAUSED_ERROR = "dispatch paused: agent.max_cost_usd_per_day is reached for today (UTC)"


def new_day(state: OrchestratorState, day: str | None, out: Effects) -> None:
    """The runtime's UTC day: a new one starts the daily cost afresh (runs that go on past
    midnight count what they spend from then on to the new day)."""
    if day is None or day == state.day:
        return
    if state.day is not None:
        state.day_cost_usd = 0.0
    state.day = day
    check_day(state, out)


def check_day(state: OrchestratorState, out: Effects) -> None:
    """Pause new dispatch when the day's cost reaches agent.max_cost_usd_per_day, and resume it
    when a new day or a higher limit leaves room; said once each way. Running agents go on."""
    limit = state.config.max_cost_usd_per_day
    paused = limit is not None and state.day_cost_usd >= limit
    if paused == state.dispatch_paused:
        return
    state.dispatch_paused = paused
    fields: dict[str, object] = {
        "day": state.day,
        "cost_usd": round(state.day_cost_usd, 6),
        "limit": limit,
    }
    if paused:
        out.append(
            Log.warning(
                "daily cost limit reached: no new dispatch until the next UTC day or a higher "
                + DAY_KEY,
                None,
                **fields,
            )
        )
    else:
        out.append(Log.info("daily cost limit no longer reached: dispatch resumes", None, **fields))
    out.append(Notify())
