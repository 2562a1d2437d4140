"""The bridge from the typed workflow config to the scheduling core's plain config value."""

from __future__ import annotations

from symphony.core.config import SchedulerConfig
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
        agent_kind=config.agent.kind,
    )


def stall_timeout_ms(config: ServiceConfig) -> int:
    """The selected backend's ``stall_timeout_ms`` (``claude_code:`` for Claude Code)."""
    if config.agent.kind == "claude_code":
        return config.claude_code.stall_timeout_ms
    return config.codex.stall_timeout_ms
