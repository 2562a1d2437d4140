"""SPEC §11.4 error categories for each way Linear (or the network) can fail."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest

from symphony.trackers.base import (
    MISSING_TRACKER_SECRET,
    TRACKER_PAGINATION,
    TRACKER_RATE_LIMITED,
    TRACKER_REQUEST,
    TRACKER_RESPONSE,
    TRACKER_STATUS,
    TrackerError,
)
from symphony.trackers.linear import LinearAdapter, parse_settings, queries
from tests.support.fake_linear import Failure, FakeLinear
from tests.trackers.linear.conftest import MakeAdapter, tracker_config

CANDIDATES = queries.CANDIDATES_OPERATION


async def fetch_error(adapter: LinearAdapter, *, by_ids: bool = False) -> TrackerError:
    with pytest.raises(TrackerError) as err:
        if by_ids:
            await adapter.fetch_issues_by_ids(["some-id"])
        else:
            await adapter.fetch_issues_by_states(["Todo"])
    assert err.value.message.strip()
    return err.value


def assert_no_key(error: TrackerError, linear: FakeLinear) -> None:
    assert linear.api_key and linear.api_key not in error.message
    assert linear.api_key not in str(error)


async def test_missing_key_fails_without_a_request(
    linear: FakeLinear, make_adapter: MakeAdapter
) -> None:
    adapter = make_adapter(api_key=None, environ={})
    error = await fetch_error(adapter)
    assert error.category == MISSING_TRACKER_SECRET
    assert "LINEAR_API_KEY" in error.message
    assert linear.requests == []


async def test_transport_failure_is_tracker_request(make_adapter: MakeAdapter) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    adapter = make_adapter(endpoint=f"http://127.0.0.1:{port}/graphql")
    error = await fetch_error(adapter)
    assert error.category == TRACKER_REQUEST
    assert error.retryable is True
    assert "before a response arrived" in error.message


async def test_dropped_connection_is_tracker_request(
    linear: FakeLinear, make_adapter: MakeAdapter
) -> None:
    linear.inject(Failure.dropped_connection())
    error = await fetch_error(make_adapter())
    assert error.category == TRACKER_REQUEST
    assert_no_key(error, linear)


async def test_slow_response_times_out_as_tracker_request(
    linear: FakeLinear, make_adapter: MakeAdapter
) -> None:
    linear.inject(Failure.slow(5))
    started = time.monotonic()
    error = await fetch_error(make_adapter(request_timeout_ms=200))
    assert time.monotonic() - started < 3
    assert error.category == TRACKER_REQUEST
    assert "timed out after 0.2 s" in error.message


@pytest.mark.parametrize("status", [500, 502, 404])
async def test_non_success_status_is_tracker_status(
    linear: FakeLinear, make_adapter: MakeAdapter, status: int
) -> None:
    linear.inject(Failure.http_status(status, {"errors": [{"message": "upstream exploded"}]}))
    error = await fetch_error(make_adapter())
    assert error.category == TRACKER_STATUS
    assert error.status == status
    assert f"HTTP {status}" in error.message
    assert "upstream exploded" in error.message  # the body summary says what went wrong
    assert error.retryable is (status >= 500)


async def test_rejected_key_is_tracker_status_with_a_hint(
    linear: FakeLinear, make_adapter: MakeAdapter
) -> None:
    adapter = make_adapter(environ={"TEST_LINEAR_KEY": "lin_api_wrongWRONGwrong0123456789"})
    error = await fetch_error(adapter)
    assert error.category == TRACKER_STATUS
    assert "rejected the API key" in error.message
    assert "wrongWRONG" not in error.message


@pytest.mark.parametrize(
    "failure",
    [
        Failure.malformed(),
        Failure(body="[1, 2]"),
        Failure(body={"data": None}),
        Failure(body={"data": {"issues": {"nodes": "nope"}}}),
        Failure.graphql_errors("Argument Validation Error", code="INVALID_INPUT"),
    ],
    ids=["html", "json-array", "no-data", "nodes-not-list", "graphql-errors"],
)
async def test_malformed_payload_is_tracker_response(
    linear: FakeLinear, make_adapter: MakeAdapter, failure: Failure
) -> None:
    linear.inject(failure)
    error = await fetch_error(make_adapter())
    assert error.category == TRACKER_RESPONSE
    assert_no_key(error, linear)


async def test_graphql_errors_are_named_in_the_message(
    linear: FakeLinear, make_adapter: MakeAdapter
) -> None:
    linear.inject(Failure.graphql_errors("first problem", "second problem"))
    error = await fetch_error(make_adapter(), by_ids=True)
    assert error.category == TRACKER_RESPONSE
    assert "first problem; second problem" in error.message


def _page_info(**page_info: Any) -> Failure:
    def rewrite(body: dict[str, Any]) -> dict[str, Any]:
        body["data"]["issues"]["pageInfo"] = page_info or None
        return body

    return Failure.rewritten(rewrite)


@pytest.mark.parametrize(
    ("page_info", "needle"),
    [
        ({"hasNextPage": True, "endCursor": None}, "no endCursor"),
        ({"hasNextPage": True, "endCursor": ""}, "no endCursor"),
        ({}, "pageInfo"),
        ({"hasNextPage": "yes", "endCursor": "c"}, "pageInfo"),
    ],
)
async def test_page_integrity_failures_are_tracker_pagination(
    linear: FakeLinear, make_adapter: MakeAdapter, page_info: dict[str, Any], needle: str
) -> None:
    linear.add_issue("Only one")
    linear.inject(_page_info(**page_info), operation=CANDIDATES)
    error = await fetch_error(make_adapter())
    assert error.category == TRACKER_PAGINATION
    assert needle in error.message


async def test_repeated_cursor_is_tracker_pagination_not_a_loop(
    linear: FakeLinear, make_adapter: MakeAdapter
) -> None:
    for n in range(queries.PAGE_SIZE + 1):
        linear.add_issue(f"Issue {n}")
    cursors: list[str] = []

    def repeat_first_cursor(body: dict[str, Any]) -> dict[str, Any]:
        info = body["data"]["issues"]["pageInfo"]
        cursors.append(info["endCursor"])
        info["hasNextPage"], info["endCursor"] = True, cursors[0]
        return body

    linear.inject(Failure.rewritten(repeat_first_cursor), operation=CANDIDATES, times=5)
    error = await fetch_error(make_adapter())
    assert error.category == TRACKER_PAGINATION
    assert "repeats" in error.message
    assert linear.operations().count(CANDIDATES) == 2


@pytest.mark.parametrize(
    ("failure", "signal"),
    [
        (Failure.rate_limited(status=429, graphql_code=False), "HTTP 429"),
        (Failure.rate_limited(status=400), "RATELIMITED"),
        (Failure.rate_limited(status=200), "RATELIMITED"),
    ],
)
async def test_rate_limit_signals_are_tracker_rate_limited(
    linear: FakeLinear, make_adapter: MakeAdapter, failure: Failure, signal: str
) -> None:
    linear.inject(failure)
    error = await fetch_error(make_adapter())
    assert error.category == TRACKER_RATE_LIMITED
    assert signal in error.message
    assert error.retryable is True
    assert error.retry_after_ms is None  # no hint given, so no guess


async def test_retry_after_header_becomes_retry_after_ms(
    linear: FakeLinear, make_adapter: MakeAdapter
) -> None:
    linear.inject(Failure.rate_limited(retry_after="30"))
    error = await fetch_error(make_adapter())
    assert error.retry_after_ms == 30_000
    assert "retry after 30 s" in error.message


async def test_reset_header_in_epoch_ms_becomes_retry_after_ms(
    linear: FakeLinear, make_adapter: MakeAdapter
) -> None:
    reset = int(time.time() * 1000) + 45_000
    linear.inject(Failure.rate_limited(status=400, requests_reset_ms=reset))
    error = await fetch_error(make_adapter())
    assert error.retry_after_ms is not None
    assert 40_000 <= error.retry_after_ms <= 45_000


async def test_rate_limit_pauses_requests_until_the_reset(linear: FakeLinear) -> None:
    now = [1000.0]
    settings = parse_settings(
        tracker_config(
            {"endpoint": linear.url, "project_slug": linear.project_slug, "api_key": linear.api_key}
        ),
        {},
    )
    adapter = LinearAdapter(settings, clock=lambda: now[0])
    try:
        linear.add_issue("After the pause")
        linear.inject(Failure.rate_limited(retry_after="20"))
        first = await fetch_error(adapter)
        assert first.retry_after_ms == 20_000
        now[0] += 5
        second = await fetch_error(adapter)
        assert second.category == TRACKER_RATE_LIMITED
        assert second.retry_after_ms == 15_000
        assert len(linear.requests) == 1  # the paused call never reached Linear
        now[0] += 15
        assert [i.title for i in await adapter.fetch_issues_by_states(["Todo"])] == [
            "After the pause"
        ]
    finally:
        await adapter.aclose()


async def test_viewer_failures_are_not_cached(
    linear: FakeLinear, make_adapter: MakeAdapter
) -> None:
    linear.add_issue("Mine", assignee=linear.viewer)
    linear.inject(Failure.graphql_errors("viewer unavailable"), operation="SymphonyViewer")
    adapter = make_adapter(assignee="me")
    error = await fetch_error(adapter)
    assert error.category == TRACKER_RESPONSE
    [issue] = await adapter.fetch_issues_by_states(["Todo"])
    assert issue.dispatchable is True


async def test_missing_viewer_id_is_tracker_response(
    linear: FakeLinear, make_adapter: MakeAdapter
) -> None:
    linear.inject(Failure(body={"data": {"viewer": {"id": ""}}}), operation="SymphonyViewer")
    error = await fetch_error(make_adapter(assignee="me"))
    assert error.category == TRACKER_RESPONSE
    assert "viewer id" in error.message
