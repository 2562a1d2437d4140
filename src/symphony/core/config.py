"""The slice of the effective config the scheduling core decides with (SPEC §4.1.8, §6.4).

A frozen value built from ``ServiceConfig`` by ``symphony.orchestrator.scheduling`` (the core never
sees pydantic); a workflow reload produces a new one and the core
applies it to every later decision (SPEC §6.2). States are normalized once here so the hot paths
compare plain strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from symphony.issue import normalize_state
from symphony.pricing import DEFAULT_PRICES, Price


@dataclass(frozen=True, slots=True)
class SchedulerConfig:
    active_state_names: tuple[str, ...] = ("Todo", "In Progress")
    terminal_state_names: tuple[str, ...] = ("Done", "Cancelled")
    required_labels: tuple[str, ...] = ()
    max_concurrent_agents: int = 10
    max_concurrent_agents_by_state: Mapping[str, int] = field(default_factory=dict)
    max_retry_backoff_ms: int = 300_000
    stall_timeout_ms: int = 300_000
    poll_interval_ms: int = 30_000
    # ``review.states``: an agent that moves its issue there mid-turn hands it off; the run
    # finishes its turn instead of being stopped (docs/orchestrator.md, hand-offs).
    review_state_names: tuple[str, ...] = ()
    # The settings a hold may wait on (``agent.max_unproductive_turns``, budgets), by key; a
    # value of None means "no limit". A key absent here leaves holds on it alone.
    hold_limits: Mapping[str, float | None] = field(default_factory=dict)
    # The fraction of a budget at which the next continuation turn wraps up (agent.wrap_up_at).
    wrap_up_at: float = 0.8
    # ``agent.kind``: what a run dispatched now is recorded as running (the API's ``agent_kind``).
    agent_kind: str = "codex"
    # ``agent.best_of``: candidates per issue without a best-of:K label (docs/best-of.md).
    best_of: int = 1
    # ``agent.candidate_max_retries``: reruns of a failed candidate before it is marked failed.
    candidate_max_retries: int = 2
    # agent.max_cost_usd_per_day: fleet-wide USD per UTC day; at it no new dispatch.
    max_cost_usd_per_day: float | None = None
    # Model name -> price (agent.prices over the default table): what token growth costs.
    prices: Mapping[str, Price] = field(default_factory=lambda: dict(DEFAULT_PRICES))
    # worker.ssh_hosts as configured (empty: every agent runs on this machine), the per-host cap
    # (None: unlimited) and how long a failed host gets no new run.
    worker_hosts: tuple[str, ...] = ()
    max_agents_per_host: int | None = None
    host_cooldown_ms: int = 60_000
    active_states: frozenset[str] = field(init=False)
    terminal_states: frozenset[str] = field(init=False)
    review_states: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "active_states", frozenset(normalize_state(s) for s in self.active_state_names)
        )
        object.__setattr__(
            self,
            "terminal_states",
            frozenset(normalize_state(s) for s in self.terminal_state_names),
        )
        object.__setattr__(
            self, "review_states", frozenset(normalize_state(s) for s in self.review_state_names)
        )
        object.__setattr__(
            self,
            "max_concurrent_agents_by_state",
            {normalize_state(k): v for k, v in self.max_concurrent_agents_by_state.items()},
        )

    def state_limit(self, normalized_state: str) -> int:
        """SPEC §8.3: the per-state limit when configured, else the global limit."""
        return self.max_concurrent_agents_by_state.get(normalized_state, self.max_concurrent_agents)
