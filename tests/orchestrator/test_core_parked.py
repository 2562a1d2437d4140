"""Parked issues: released with their workspace kept, cleaned when the tracker later closes them.

An extension of SPEC §8.5/§8.6 (docs/orchestrator.md, "Released issues"): every branch of the
parked refresh, the bounds, and the guarantee that a claimed issue's workspace is never removed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from symphony.core import parked
from symphony.core.effects import (
    Effect,
    FetchRunningIssues,
    Log,
    RemoveWorkspaces,
    StartWorker,
    StopWorker,
)
from symphony.core.events import (
    CandidatesFetched,
    ConfigChanged,
    FetchError,
    RetryDue,
    RetryIssueFetched,
    RunningRefreshed,
    TickDue,
    WorkerExited,
    WorkerInfo,
)
from symphony.core.records import record_for
from symphony.core.snapshot import Instant, build_issue_detail
from symphony.core.state import (
    HISTORY_LIMIT,
    PARKED_BATCH,
    PARKED_LIMIT,
    PARKED_MAX_IDLE_MS,
)
from symphony.core.transitions import dispatch
from symphony.issue import Issue

from .helpers import BASE_TIME, Driver, config, issue, of_type

DAY_MS = 24 * 3_600_000
REVIEW = "Human Review"


def running_with_workspace(d: Driver, n: int = 1, *, parked: Iterable[Issue] = ()) -> None:
    d.tick([issue(n)], parked=parked)
    entry = d.state.running[f"id-{n}"]
    d.send(WorkerInfo(f"id-{n}", entry.run_id, f"/ws/MT-{n}"))
    d.advance(30_000)


def parked_after_review(**overrides: object) -> Driver:
    """MT-1 ran, then reconciliation saw it in Human Review: stopped, released, parked."""
    d = Driver.create(**overrides)
    d.start()
    running_with_workspace(d)
    out = d.tick(running=[issue(1, state=REVIEW)])
    assert [(s.issue_id, s.cleanup) for s in of_type(out, StopWorker)] == [("id-1", False)]
    assert not d.state.is_claimed("id-1")
    d.advance(30_000)
    return d


def refreshed_ids(out: Sequence[object]) -> list[tuple[str, ...]]:
    return [f.issue_ids for f in out if isinstance(f, FetchRunningIssues)]


def logged(out: Sequence[object], message: str) -> list[Log]:
    return [e for e in out if isinstance(e, Log) and e.message == message]


def test_released_issue_is_parked_with_its_recorded_workspace() -> None:
    d = parked_after_review()
    entry = d.state.parked["id-1"]
    assert (entry.identifier, entry.workspace_path, entry.tracker_state) == (
        "MT-1",
        "/ws/MT-1",
        REVIEW,
    )


def test_parked_issue_rides_on_the_reconciliation_refresh_and_nothing_parked_costs_nothing() -> (
    None
):
    d = Driver.create()
    d.start()
    assert refreshed_ids(d.tick()) == []  # nothing running, nothing parked: no by-id call
    running_with_workspace(d, 2)
    d.tick(running=[issue(2, state=REVIEW)])
    running_with_workspace(d, 1, parked=[issue(2, state=REVIEW)])
    out = d.tick(running=[issue(1)], parked=[issue(2, state=REVIEW)])
    assert refreshed_ids(out) == [("id-1", "id-2")]  # one call for running and parked


def test_parked_issue_moved_to_terminal_has_its_recorded_workspace_removed() -> None:
    d = parked_after_review()
    out = d.tick(parked=[issue(1, state="Done")])
    assert of_type(out, RemoveWorkspaces) == [
        RemoveWorkspaces((("id-1", "MT-1"),), (("id-1", "/ws/MT-1"),))
    ]
    assert of_type(out, StopWorker) == []
    assert logged(out, "released issue is terminal, removing its workspace")
    assert "id-1" not in d.state.parked
    d.advance(30_000)
    assert refreshed_ids(d.tick()) == []  # forgotten: no further refresh


def test_parked_issue_still_waiting_for_review_is_kept_and_removes_nothing() -> None:
    d = parked_after_review()
    for _ in range(3):
        out = d.tick(parked=[issue(1, state=REVIEW)])
        assert refreshed_ids(out) == [("id-1",)]
        assert of_type(out, RemoveWorkspaces) == []
        d.advance(30_000)
    assert "id-1" in d.state.parked


def test_parked_issue_no_longer_visible_is_forgotten_without_removal() -> None:
    d = parked_after_review()
    out = d.tick(parked=[])
    assert of_type(out, RemoveWorkspaces) == []
    assert "id-1" not in d.state.parked
    assert logged(out, "stopped watching released issue, its workspace stays")


def test_failed_refresh_changes_nothing_and_is_retried_next_tick() -> None:
    d = parked_after_review()
    d.send(TickDue())
    out = d.send(RunningRefreshed(d.state.tick_id, error=FetchError("tracker_request", "down")))
    assert of_type(out, RemoveWorkspaces) == [] and "id-1" in d.state.parked
    assert d.state.tracker_error is not None
    d.send(CandidatesFetched(d.state.tick_id))
    d.advance(30_000)
    out = d.tick(parked=[issue(1, state="Cancelled")])
    assert refreshed_ids(out) == [("id-1",)]
    assert [r.issues for r in of_type(out, RemoveWorkspaces)] == [(("id-1", "MT-1"),)]


def test_parked_issue_active_again_is_dispatched_and_no_longer_parked() -> None:
    d = parked_after_review()
    out = d.tick([issue(1, state="Todo")], parked=[issue(1, state="Todo")])
    assert [s.issue.id for s in of_type(out, StartWorker)] == ["id-1"]
    assert of_type(out, RemoveWorkspaces) == []
    assert "id-1" not in d.state.parked
    d.advance(30_000)
    # Closed while running again: the run's own cleanup path removes it, once.
    out = d.tick(running=[issue(1, state="Done")])
    assert [(s.issue_id, s.cleanup) for s in of_type(out, StopWorker)] == [("id-1", True)]
    assert of_type(out, RemoveWorkspaces) == []


def test_active_again_but_waiting_for_a_slot_stays_parked_until_closed() -> None:
    d = parked_after_review(max_concurrent_agents=1)
    running_with_workspace(d, 2, parked=[issue(1, state=REVIEW)])  # takes the only slot
    out = d.tick([issue(1), issue(2)], running=[issue(2)], parked=[issue(1)])
    assert of_type(out, StartWorker) == [] and "id-1" in d.state.parked
    d.advance(30_000)
    out = d.tick(running=[issue(2)], parked=[issue(1, state="Done")])
    assert [r.paths for r in of_type(out, RemoveWorkspaces)] == [(("id-1", "/ws/MT-1"),)]


def test_state_change_resets_the_idle_clock_and_long_idle_is_forgotten() -> None:
    d = parked_after_review()
    d.advance(6 * DAY_MS)
    d.tick(parked=[issue(1, state="Rework")])  # moved, still not active: idle clock restarts
    d.advance(6 * DAY_MS)
    out = d.tick(parked=[issue(1, state="Rework")])
    assert refreshed_ids(out) == [("id-1",)] and "id-1" in d.state.parked
    d.advance(PARKED_MAX_IDLE_MS)
    out = d.tick(parked=[issue(1, state="Done")])
    assert refreshed_ids(out) == []  # expired before it was asked about; nothing else to ask
    assert of_type(out, RemoveWorkspaces) == [] and "id-1" not in d.state.parked
    assert logged(out, "stopped watching released issue, its workspace stays")


def test_at_most_parked_limit_issues_are_remembered_oldest_forgotten_first() -> None:
    d = Driver.create()
    out: list[Effect] = []
    for n in range(PARKED_LIMIT + 1):
        d.advance(1)
        parked.park(d.state, issue(n, state=REVIEW), f"/ws/MT-{n}", d.now, out)
    assert len(d.state.parked) == PARKED_LIMIT
    assert "id-0" not in d.state.parked and f"id-{PARKED_LIMIT}" in d.state.parked
    forgotten = logged(out, "stopped watching released issue, its workspace stays")
    assert [f.fields["issue_identifier"] for f in forgotten] == ["MT-0"]


def test_each_tick_refreshes_one_batch_round_robin() -> None:
    d = Driver.create()
    d.start()
    count = PARKED_BATCH * 2 + 10
    for n in range(count):
        parked.park(d.state, issue(n, state=REVIEW), None, d.now, [])
    seen: list[str] = []
    for _ in range(3):
        d.advance(30_000)
        still = [issue(n, state=REVIEW) for n in range(count)]
        (ids,) = refreshed_ids(d.tick(parked=still))
        assert len(ids) <= PARKED_BATCH
        seen += ids
    assert set(seen) == {f"id-{n}" for n in range(count)}
    assert len(d.state.parked) == count


def test_retry_that_finds_the_issue_in_review_parks_it_with_the_recorded_path() -> None:
    d = Driver.create()
    d.start()
    running_with_workspace(d)
    run = d.state.running["id-1"].run_id
    d.send(WorkerExited("id-1", run, ok=True))  # the agent handed the issue off, then exited
    retry = d.state.retry_attempts["id-1"]
    d.now = retry.due_ms
    d.send(RetryDue("id-1", retry.token))
    d.send(RetryIssueFetched("id-1", retry.token, (issue(1, state=REVIEW),)))
    assert not d.state.is_claimed("id-1")
    assert d.state.parked["id-1"].workspace_path == "/ws/MT-1"
    d.advance(30_000)
    out = d.tick(parked=[issue(1, state="Done")])
    assert of_type(out, RemoveWorkspaces) == [
        RemoveWorkspaces((("id-1", "MT-1"),), (("id-1", "/ws/MT-1"),))
    ]


def test_issues_that_vanished_are_not_parked() -> None:
    d = Driver.create()
    d.start()
    running_with_workspace(d)
    d.tick(running=[])  # no longer visible at reconciliation
    assert not d.state.parked
    running_with_workspace(d, 2)
    run = d.state.running["id-2"].run_id
    d.send(WorkerExited("id-2", run, ok=True))
    retry = d.state.retry_attempts["id-2"]
    d.now = retry.due_ms
    d.send(RetryDue("id-2", retry.token))
    d.send(RetryIssueFetched("id-2", retry.token, ()))
    assert not d.state.parked


def test_a_claimed_issue_is_never_cleaned_through_the_parked_path() -> None:
    d = parked_after_review()
    d.send(TickDue())
    assert d.state.reconcile_parked == ("id-1",)
    # No event claims a parked issue while its refresh is in flight today; the guard makes sure
    # that, should one ever do so, the claim keeps the workspace. Reach it by hand.
    stale = d.state.parked["id-1"]
    dispatch(d.state, issue(1), None, d.now, [])
    assert "id-1" not in d.state.parked  # dispatch un-parks
    d.state.parked["id-1"] = stale
    out = d.send(RunningRefreshed(d.state.tick_id, (issue(1, state="Done"),)))
    assert of_type(out, RemoveWorkspaces) == []
    assert "id-1" not in d.state.parked and d.state.is_claimed("id-1")


def test_reload_that_makes_the_review_state_terminal_cleans_parked_issues() -> None:
    d = parked_after_review()
    d.send(ConfigChanged(config(terminal_state_names=("Done", "Cancelled", REVIEW))))
    out = d.tick(parked=[issue(1, state=REVIEW)])
    assert [r.issues for r in of_type(out, RemoveWorkspaces)] == [(("id-1", "MT-1"),)]


def test_issue_detail_answers_for_a_parked_issue_the_history_dropped() -> None:
    d = parked_after_review()
    for n in range(100, 100 + HISTORY_LIMIT):
        record_for(d.state, f"id-{n}", f"MT-{n}")
    assert "MT-1" not in d.state.history
    detail = build_issue_detail(
        d.state, "MT-1", Instant(d.now, BASE_TIME), default_workspace="/elsewhere/MT-1"
    )
    assert detail is not None
    assert (detail.status, detail.issue_id, detail.workspace_path) == (
        "released",
        "id-1",
        "/ws/MT-1",
    )
    d.tick(parked=[issue(1, state="Done")])
    gone = build_issue_detail(d.state, "MT-1", Instant(d.now, BASE_TIME), default_workspace=None)
    assert gone is None
