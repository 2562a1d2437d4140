"""Failures and rate limits: each maps to its tracker error category, and limits hold requests
back for as long as GitHub asks (or, for polls, as long as the points budget needs)."""

from __future__ import annotations

import pytest

from symphony.trackers.base import (
    MISSING_TRACKER_SECRET,
    TRACKER_RATE_LIMITED,
    TRACKER_RESPONSE,
    TRACKER_STATUS,
    TrackerError,
)
from symphony.trackers.github.rate_limit import Budget, detect_rate_limit
from tests.support.fake_github import Failure, FakeGitHub
from tests.trackers.github.conftest import MakeAdapter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def read_error(make_github_adapter: MakeAdapter, **kwargs: object) -> TrackerError:
    adapter = make_github_adapter(**kwargs)
    with pytest.raises(TrackerError) as info:
        await adapter.fetch_issues_by_states(["Todo"])
    return info.value


async def test_bad_credentials(github: FakeGitHub, make_github_adapter: MakeAdapter) -> None:
    error = await read_error(make_github_adapter, environ={"TEST_GITHUB_TOKEN": "ghp_wrong"})
    assert error.category == TRACKER_STATUS and error.status == 401
    assert "bad credentials" in error.message and "ghp_wrong" not in error.message
    assert not error.retryable


async def test_no_token_sends_nothing(github: FakeGitHub, make_github_adapter: MakeAdapter) -> None:
    error = await read_error(make_github_adapter, environ={})
    assert error.category == MISSING_TRACKER_SECRET and github.requests == []


async def test_bad_gateway_is_retryable(
    github: FakeGitHub, make_github_adapter: MakeAdapter
) -> None:
    github.inject(Failure.bad_gateway())
    error = await read_error(make_github_adapter)
    assert error.category == TRACKER_STATUS and error.status == 502 and error.retryable


async def test_graphql_errors_are_named(
    github: FakeGitHub, make_github_adapter: MakeAdapter
) -> None:
    github.inject(Failure.graphql_errors("Something went wrong"))
    error = await read_error(make_github_adapter)
    assert error.category == TRACKER_RESPONSE and "Something went wrong" in error.message


async def test_a_missing_board_is_named(
    github: FakeGitHub, make_github_adapter: MakeAdapter
) -> None:
    error = await read_error(make_github_adapter, board=True)
    assert "board acme/1" in error.message and "project_number" in error.message


@pytest.mark.parametrize("status", [403, 429])
async def test_secondary_limit_with_retry_after_holds_requests_back(
    github: FakeGitHub, make_github_adapter: MakeAdapter, status: int
) -> None:
    github.inject(Failure.secondary_rate_limit(status=status, retry_after="30"))
    adapter = make_github_adapter()
    with pytest.raises(TrackerError) as info:
        await adapter.fetch_issues_by_states(["Todo"])
    assert info.value.category == TRACKER_RATE_LIMITED and info.value.retry_after_ms == 30_000
    sent = len(github.requests)
    with pytest.raises(TrackerError) as again:
        await adapter.fetch_issues_by_ids(["I_x"])
    assert again.value.category == TRACKER_RATE_LIMITED and "no request sent" in again.value.message
    assert len(github.requests) == sent


async def test_secondary_limit_without_retry_after_waits_a_minute(
    github: FakeGitHub, make_github_adapter: MakeAdapter
) -> None:
    github.inject(Failure.secondary_rate_limit())
    error = await read_error(make_github_adapter)
    assert error.category == TRACKER_RATE_LIMITED and error.retry_after_ms == 60_000


async def test_rate_limited_inside_a_200(
    github: FakeGitHub, make_github_adapter: MakeAdapter
) -> None:
    github.set_budget(remaining=0, reset_in_s=120)
    error = await read_error(make_github_adapter)
    assert error.category == TRACKER_RATE_LIMITED
    assert error.retry_after_ms is not None and 100_000 < error.retry_after_ms <= 120_000
    assert "RATE_LIMITED" in error.message


def test_a_plain_403_is_not_a_rate_limit() -> None:
    assert detect_rate_limit(403, {}, {"message": "Resource not accessible by integration"}) is None
    limit = detect_rate_limit(
        403,
        {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1060"},
        {},
        now_ms=lambda: 1_000_000,
    )
    assert limit is not None and limit.signal == "primary" and limit.retry_after_ms == 60_000


def test_the_budget_spaces_polls_only_under_pressure() -> None:
    clock = Clock()
    budget = Budget(clock)
    reset = "1970-01-01T01:16:40Z"  # 4600 s: an hour after the clock's 1000 s
    budget.note({"cost": 2, "remaining": 4000, "limit": 5000, "resetAt": reset})
    assert budget.min_poll_interval_s(2) == 0
    budget.note({"cost": 2, "remaining": 1500, "limit": 5000, "resetAt": reset})
    # 2 points x 3600 s / (1500 - 500 kept for writes) points.
    assert budget.min_poll_interval_s(2) == pytest.approx(7.2)
    budget.note({"cost": 2, "remaining": 400, "limit": 5000, "resetAt": reset})
    assert budget.min_poll_interval_s(2) == pytest.approx(3600)
    clock.now = 5000
    assert budget.min_poll_interval_s(2) == 0  # the budget has reset


async def test_a_low_budget_slows_polls_down_and_says_so(
    github: FakeGitHub, make_github_adapter: MakeAdapter
) -> None:
    board = github.add_project("acme", 1)
    github.add_item(board, github.add_issue("One"), status="Todo")
    github.set_budget(remaining=600, reset_in_s=3600)
    adapter = make_github_adapter(board=True)
    assert len(await adapter.fetch_issues_by_states(["Todo"])) == 1
    state = adapter.rate_limit_state()
    assert state.slowed and state.poll_cost == 2 and state.remaining is not None
    # 2 points x ~3600 s / (~596 - 500) points: a poll every ~75 s at most.
    assert 60 < state.min_poll_interval_s < 90
    sent = len(github.requests)
    with pytest.raises(TrackerError) as info:
        await adapter.fetch_issues_by_states(["Todo"])
    assert info.value.category == TRACKER_RATE_LIMITED
    assert "polls slowed" in info.value.message and "no request sent" in info.value.message
    assert info.value.retry_after_ms is not None and info.value.retry_after_ms > 50_000
    assert len(github.requests) == sent
    # Another read (the review view's states) has its own turn.
    assert await adapter.fetch_issues_by_states(["Human Review"]) == []
    # Reads by id (a running agent's reconciliation) are not held back.
    assert await adapter.fetch_issues_by_ids(["I_nope"]) == []


async def test_a_403_without_a_rate_limit_names_the_scopes(
    github: FakeGitHub, make_github_adapter: MakeAdapter
) -> None:
    github.inject(Failure.http_status(403, {"message": "Resource not accessible by integration"}))
    error = await read_error(make_github_adapter)
    assert error.category == TRACKER_STATUS and error.status == 403 and not error.retryable
    assert "scope" in error.message and "Resource not accessible" in error.message
