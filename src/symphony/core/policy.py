"""Pure scheduling rules: eligibility, dispatch order, slots, backoff (SPEC §8.2-8.4)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from symphony.core.config import SchedulerConfig
from symphony.core.state import OrchestratorState
from symphony.issue import Issue, issue_routable, normalize_state

CONTINUATION_DELAY_MS = 1_000
# Error codes of attempts that ran out of time (agents/errors.py, the runtime's tracker reads).
TIMEOUT_CODES = frozenset({"turn_timeout", "response_timeout", "tracker_timeout"})
FAILURE_BASE_DELAY_MS = 10_000
# 2**30 * 10 s is far past any sane cap; bounding the exponent keeps the arithmetic small.
_MAX_EXPONENT = 30

_NO_PRIORITY = 5
_FAR_FUTURE = float("inf")


def dispatch_sort_key(issue: Issue) -> tuple[int, int, float, str]:
    """SPEC §8.2: priority 1..4 first, then oldest ``created_at`` (null last), then identifier."""
    priority = issue.priority
    bucket = priority if priority is not None and 1 <= priority <= 4 else _NO_PRIORITY
    created = issue.created_at
    if created is None:
        return (bucket, 1, _FAR_FUTURE, issue.identifier)
    return (bucket, 0, _timestamp(created), issue.identifier)


def _timestamp(value: datetime) -> float:
    return value.timestamp()


def has_required_fields(issue: Issue) -> bool:
    return bool(issue.id and issue.identifier and issue.title and issue.state)


def is_active(issue: Issue, config: SchedulerConfig) -> bool:
    state = normalize_state(issue.state)
    return state in config.active_states and state not in config.terminal_states


def is_terminal(issue: Issue, config: SchedulerConfig) -> bool:
    return normalize_state(issue.state) in config.terminal_states


def in_review(issue: Issue, config: SchedulerConfig) -> bool:
    """In one of ``review.states``: where an agent hands its issue to a human."""
    return normalize_state(issue.state) in config.review_states


def is_routable(issue: Issue, config: SchedulerConfig) -> bool:
    return issue_routable(issue, config.required_labels)


def still_wanted(issue: Issue, config: SchedulerConfig) -> bool:
    """Active and routable: the test for keeping a run going (SPEC §8.5, §16.5)."""
    return is_active(issue, config) and is_routable(issue, config)


def is_candidate(issue: Issue, config: SchedulerConfig) -> bool:
    """SPEC §8.2 issue-level rules (claims and slots are checked by the caller)."""
    return has_required_fields(issue) and still_wanted(issue, config)


def split_candidates(
    issues: Iterable[Issue], config: SchedulerConfig
) -> tuple[list[Issue], list[Issue]]:
    """``(candidates, held)`` of a poll, each in the order given: the issues that pass
    ``is_candidate``, and the active ones with the required fields that fail only
    ``is_routable`` (a blocker, another assignee, a missing label: ``core.blocked`` explains
    them). Each issue is tested once; a big board's poll is mostly held issues."""
    candidates: list[Issue] = []
    held: list[Issue] = []
    required = config.required_labels
    for issue in issues:
        if has_required_fields(issue) and is_active(issue, config):
            (candidates if issue_routable(issue, required) else held).append(issue)
    return candidates, held


def global_slots(state: OrchestratorState) -> int:
    if state.dispatch_paused:
        return 0  # agent.max_cost_usd_per_day is reached: nothing new starts today
    free = max(state.config.max_concurrent_agents - len(state.running), 0)
    outage = state.outage
    if outage is not None:
        # Agents cannot start (core.outage): nothing, or the one run that tries again.
        return min(free, 1) if outage.due and outage.probe_run is None else 0
    return free


def running_in_state(state: OrchestratorState, normalized: str) -> int:
    return sum(1 for e in state.running.values() if normalize_state(e.issue.state) == normalized)


def state_slot_free(state: OrchestratorState, issue: Issue) -> bool:
    normalized = normalize_state(issue.state)
    return running_in_state(state, normalized) < state.config.state_limit(normalized)


def failure_delay_ms(attempt: int, cap_ms: int) -> int:
    """SPEC §8.4: ``min(10 s * 2^(attempt-1), agent.max_retry_backoff_ms)``."""
    exponent = min(max(attempt - 1, 0), _MAX_EXPONENT)
    return int(min(FAILURE_BASE_DELAY_MS * (2**exponent), cap_ms))
