"""Worker exits, retry timers and the retry re-fetch path (SPEC §8.4, §16.6, §17.4)."""

from __future__ import annotations

import pytest

from symphony.core.effects import (
    CancelRetryTimer,
    Effect,
    FetchRetryIssue,
    RemoveWorkspaces,
    SetRetryTimer,
    StartWorker,
    StopWorker,
)
from symphony.core.events import (
    FetchError,
    RetryDue,
    RetryIssueFetched,
    ShutdownRequested,
    WorkerExited,
)
from symphony.core.machine import NO_SLOTS_ERROR
from symphony.core.policy import failure_delay_ms
from symphony.issue import Issue

from .helpers import Driver, issue, of_type


def one_running(**overrides: object) -> Driver:
    d = Driver.create(**overrides)
    d.start()
    d.tick([issue(1)])
    return d


def exit_worker(
    d: Driver, ok: bool, error: str | None = None, issue_id: str = "id-1"
) -> list[Effect]:
    run = d.state.running[issue_id].run_id
    return d.send(WorkerExited(issue_id, run, ok=ok, error=error))


def fire_retry(d: Driver, found: list[Issue], issue_id: str = "id-1") -> list[Effect]:
    entry = d.state.retry_attempts[issue_id]
    d.now = max(d.now, entry.due_ms)
    out = d.send(RetryDue(issue_id, entry.token))
    assert of_type(out, FetchRetryIssue) == [FetchRetryIssue(issue_id, entry.token)]
    return out + d.send(RetryIssueFetched(issue_id, entry.token, tuple(found)))


def test_normal_exit_schedules_a_one_second_continuation_at_attempt_one() -> None:
    d = one_running()
    d.advance(5_000)
    out = exit_worker(d, ok=True)
    assert "id-1" in d.state.completed
    retry = d.state.retry_attempts["id-1"]
    assert (retry.attempt, retry.kind, retry.error, retry.identifier) == (
        1,
        "continuation",
        None,
        "MT-1",
    )
    assert retry.due_ms == d.now + 1_000
    assert of_type(out, SetRetryTimer) == [SetRetryTimer("id-1", retry.token, 1_000)]
    assert d.state.is_claimed("id-1")


def test_first_abnormal_exit_retries_at_attempt_one_after_ten_seconds() -> None:
    d = one_running()
    exit_worker(d, ok=False, error="turn_failed: model error")
    retry = d.state.retry_attempts["id-1"]
    assert retry.attempt == 1 and retry.due_ms == d.now + 10_000
    assert retry.error == "worker exited: turn_failed: model error"
    assert retry.issue_url == "https://tracker.example/MT-1"


def test_abnormal_exit_of_a_retry_increments_the_attempt_with_exponential_backoff() -> None:
    d = one_running()
    for expected_attempt, expected_delay in [(1, 10_000), (2, 20_000), (3, 40_000), (4, 80_000)]:
        exit_worker(d, ok=False, error="boom")
        retry = d.state.retry_attempts["id-1"]
        assert (retry.attempt, retry.due_ms - d.now) == (expected_attempt, expected_delay)
        out = fire_retry(d, [issue(1)])
        assert of_type(out, StartWorker)[0].attempt == expected_attempt


def test_continuation_after_failures_resets_to_attempt_one() -> None:
    d = one_running()
    exit_worker(d, ok=False, error="boom")
    fire_retry(d, [issue(1)])
    exit_worker(d, ok=True)
    assert d.state.retry_attempts["id-1"].attempt == 1


@pytest.mark.parametrize(
    ("attempt", "cap", "expected"),
    [
        (1, 300_000, 10_000),
        (5, 300_000, 160_000),
        (6, 300_000, 300_000),
        (60, 300_000, 300_000),
        (3, 25_000, 25_000),
    ],
)
def test_backoff_formula_and_cap(attempt: int, cap: int, expected: int) -> None:
    assert failure_delay_ms(attempt, cap) == expected


def test_configured_cap_bounds_the_retry_delay() -> None:
    d = one_running(max_retry_backoff_ms=15_000)
    exit_worker(d, ok=False, error="boom")
    fire_retry(d, [issue(1)])
    exit_worker(d, ok=False, error="boom")
    assert d.state.retry_attempts["id-1"].due_ms - d.now == 15_000


def test_retry_dispatches_with_its_attempt_and_clears_the_entry() -> None:
    d = one_running()
    exit_worker(d, ok=True)
    out = fire_retry(d, [issue(1, state="In Progress")])
    starts = of_type(out, StartWorker)
    assert [(s.issue.id, s.attempt, s.issue.state) for s in starts] == [("id-1", 1, "In Progress")]
    assert d.state.retry_attempts == {}


def test_retry_for_a_missing_issue_releases_the_claim() -> None:
    d = one_running()
    exit_worker(d, ok=True)
    out = fire_retry(d, [])
    assert of_type(out, StartWorker) == [] and not d.state.is_claimed("id-1")


def test_retry_for_a_terminal_issue_cleans_its_workspace_and_releases() -> None:
    d = one_running()
    exit_worker(d, ok=False, error="boom")
    out = fire_retry(d, [issue(1, state="Cancelled")])
    assert of_type(out, RemoveWorkspaces) == [RemoveWorkspaces((("id-1", "MT-1"),))]
    assert not d.state.is_claimed("id-1")


@pytest.mark.parametrize(
    "found",
    [issue(1, state="Human Review"), issue(1, dispatchable=False), issue(1, labels=())],
)
def test_retry_for_an_inactive_or_unroutable_issue_releases_without_dispatch(found) -> None:  # type: ignore[no-untyped-def]
    d = Driver.create(required_labels=("symphony",))
    d.start()
    d.tick([issue(1, labels=("symphony",))])
    exit_worker(d, ok=True)
    out = fire_retry(d, [found])
    assert of_type(out, StartWorker) == [] and of_type(out, RemoveWorkspaces) == []
    assert not d.state.is_claimed("id-1")


def test_retry_without_slots_requeues_with_an_explicit_reason() -> None:
    d = Driver.create(max_concurrent_agents=1)
    d.start()
    d.tick([issue(1)])
    exit_worker(d, ok=True)
    d.advance(30_000)
    d.tick([issue(2)])  # the freed slot goes to MT-2
    out = fire_retry(d, [issue(1)])
    assert of_type(out, StartWorker) == []
    retry = d.state.retry_attempts["id-1"]
    assert (retry.attempt, retry.error, retry.due_ms - d.now) == (2, NO_SLOTS_ERROR, 20_000)


def test_retry_without_a_per_state_slot_requeues() -> None:
    d = Driver.create(max_concurrent_agents_by_state={"todo": 1})
    d.start()
    d.tick([issue(1)])
    exit_worker(d, ok=True)
    d.advance(30_000)
    d.tick([issue(2)])
    fire_retry(d, [issue(1)])
    assert d.state.retry_attempts["id-1"].error == NO_SLOTS_ERROR


def test_retry_refresh_failure_requeues_with_the_next_attempt() -> None:
    d = one_running()
    exit_worker(d, ok=True)
    entry = d.state.retry_attempts["id-1"]
    d.now = entry.due_ms
    d.send(RetryDue("id-1", entry.token))
    d.send(RetryIssueFetched("id-1", entry.token, error=FetchError("tracker_request", "timeout")))
    retry = d.state.retry_attempts["id-1"]
    assert retry.attempt == 2 and retry.error == "retry refresh failed: timeout"


def test_stale_retry_timer_does_not_consume_the_newer_entry() -> None:
    d = one_running()
    exit_worker(d, ok=False, error="boom")
    old = d.state.retry_attempts["id-1"].token
    fire_retry(d, [issue(1)])
    exit_worker(d, ok=False, error="boom again")
    newer = d.state.retry_attempts["id-1"]
    assert d.send(RetryDue("id-1", old)) == []
    assert d.state.retry_attempts["id-1"] is newer and not newer.fetching
    assert d.send(RetryIssueFetched("id-1", old, (issue(1),))) == []


def test_a_retry_entry_is_visible_while_its_refetch_is_in_flight() -> None:
    d = one_running()
    exit_worker(d, ok=True)
    entry = d.state.retry_attempts["id-1"]
    d.send(RetryDue("id-1", entry.token))
    assert d.state.is_claimed("id-1") and d.state.retry_attempts["id-1"].fetching
    assert d.send(RetryDue("id-1", entry.token)) == []  # duplicate timer: one fetch only


def test_poll_does_not_dispatch_an_issue_waiting_for_its_retry() -> None:
    d = one_running()
    exit_worker(d, ok=False, error="boom")
    d.advance(1_000)
    out = d.tick([issue(1)])
    assert of_type(out, StartWorker) == []


def test_shutdown_stops_workers_and_cancels_retries_without_new_ones() -> None:
    d = Driver.create()
    d.start()
    d.tick([issue(1), issue(2)])
    exit_worker(d, ok=False, error="boom", issue_id="id-2")
    out = d.send(ShutdownRequested())
    assert [s.issue_id for s in of_type(out, StopWorker)] == ["id-1"]
    assert of_type(out, CancelRetryTimer) == [CancelRetryTimer("id-2")]
    assert d.state.running == {} and d.state.retry_attempts == {}
    assert d.tick([issue(3)]) == []
