"""The bridge from the typed workflow config to the scheduling core's plain config value."""

from __future__ import annotations

from symphony.core.budgets import COST_KEY, RUNTIME_KEY, TOKENS_KEY
from symphony.core.config import SchedulerConfig
from symphony.core.holds import UNPRODUCTIVE_TURNS_KEY
from symphony.pricing import Price, effective_prices
from symphony.workflow.config import ServiceConfig


def scheduler_config(config: ServiceConfig) -> SchedulerConfig:
    """The slice of ``config`` the core decides with (SPEC §4.1.8, §6.4)."""
    tracker = config.tracker
    return SchedulerConfig(
        active_state_names=tuple(tracker.active_states or ()),
        terminal_state_names=tuple(tracker.terminal_states or ()),
        required_labels=tuple(tracker.required_labels),
        max_concurrent_agents=config.agent.max_concurrent_agents,
        max_concurrent_agents_by_state=dict(config.agent.max_concurrent_agents_by_state),
        max_retry_backoff_ms=config.agent.max_retry_backoff_ms,
        stall_timeout_ms=stall_timeout_ms(config),
        poll_interval_ms=config.polling.interval_ms,
        review_state_names=tuple(config.review.states),
        hold_limits=hold_limits(config),
        wrap_up_at=config.agent.wrap_up_at,
        agent_kind=config.agent.kind,
        best_of=config.agent.best_of,
        candidate_max_retries=config.agent.candidate_max_retries,
        prices=prices(config),
        max_cost_usd_per_day=config.agent.max_cost_usd_per_day,
        worker_hosts=config.worker.ssh_hosts,
        max_agents_per_host=config.worker.max_concurrent_agents_per_host,
        host_cooldown_ms=config.worker.host_cooldown_ms,
    )


def prices(config: ServiceConfig) -> dict[str, Price]:
    """``agent.prices`` over the default table; an unset cached price is the input price."""
    return effective_prices(
        {
            model: Price(
                input=row.input,
                cached_input=row.input if row.cached_input is None else row.cached_input,
                output=row.output,
            )
            for model, row in config.agent.prices.items()
        }
    )


def hold_limits(config: ServiceConfig) -> dict[str, float | None]:
    """The current value of every setting a hold may wait on; None: no limit."""
    agent = config.agent
    turns = agent.max_unproductive_turns
    return {
        UNPRODUCTIVE_TURNS_KEY: float(turns) if turns > 0 else None,
        TOKENS_KEY: _limit(agent.max_tokens_per_issue),
        RUNTIME_KEY: _limit(agent.max_runtime_ms_per_issue),
        COST_KEY: _limit(agent.max_cost_usd_per_issue),
    }


def _limit(value: float | None) -> float | None:
    return float(value) if value is not None else None


def stall_timeout_ms(config: ServiceConfig) -> int:
    """The selected backend's ``stall_timeout_ms`` (``codex:`` unless another section has one)."""
    if config.agent.kind == "claude_code":
        return config.claude_code.stall_timeout_ms
    if config.agent.kind == "acp":
        return config.acp.stall_timeout_ms
    return config.codex.stall_timeout_ms
