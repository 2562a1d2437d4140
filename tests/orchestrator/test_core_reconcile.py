"""Running-issue reconciliation and stall detection (SPEC §8.5, §16.3, §17.4)."""

from __future__ import annotations

from symphony.core.effects import FetchRunningIssues, StartWorker, StopWorker
from symphony.core.events import (
    AgentUpdate,
    CandidatesFetched,
    FetchError,
    HumanRequestsChanged,
    RetryDue,
    RetryIssueFetched,
    RunningRefreshed,
    TickDue,
    WorkerExited,
)

from .helpers import Driver, issue, of_type


def running(*issues: object, **overrides: object) -> Driver:
    d = Driver.create(**overrides)
    d.start()
    d.tick(issues)  # type: ignore[arg-type]
    d.advance(30_000)
    return d


def test_active_refresh_updates_the_running_snapshot() -> None:
    d = running(issue(1, state="Todo"))
    out = d.tick(running=[issue(1, state="In Progress", title="Renamed")])
    assert of_type(out, StopWorker) == []
    entry = d.state.running["id-1"]
    assert entry.issue.state == "In Progress" and entry.issue.title == "Renamed"
    assert d.state.is_claimed("id-1")


def test_non_active_state_stops_without_cleanup_and_releases() -> None:
    d = running(issue(1))
    out = d.tick(running=[issue(1, state="Human Review")])
    stops = of_type(out, StopWorker)
    assert [(s.issue_id, s.cleanup) for s in stops] == [("id-1", False)]
    assert not d.state.is_claimed("id-1")


def test_terminal_state_stops_and_cleans_the_workspace() -> None:
    d = running(issue(1))
    out = d.tick(running=[issue(1, state="Done")])
    stops = of_type(out, StopWorker)
    assert [(s.issue_id, s.identifier, s.cleanup) for s in stops] == [("id-1", "MT-1", True)]
    assert not d.state.is_claimed("id-1")
    assert d.state.retry_attempts == {}


def test_missing_issue_is_stopped_and_released_workspace_kept() -> None:
    d = running(issue(1), issue(2))
    out = d.tick(running=[issue(2)])
    assert [(s.issue_id, s.cleanup) for s in of_type(out, StopWorker)] == [("id-1", False)]
    assert set(d.state.running) == {"id-2"}
    assert not d.state.is_claimed("id-1")


def test_unroutable_issue_is_stopped_and_released() -> None:
    d = running(
        issue(1, labels=("symphony",)),
        issue(2, labels=("symphony",)),
        required_labels=("symphony",),
    )
    out = d.tick(running=[issue(1, dispatchable=False, labels=("symphony",)), issue(2)])
    assert sorted((s.issue_id, s.cleanup) for s in of_type(out, StopWorker)) == [
        ("id-1", False),
        ("id-2", False),
    ]
    assert d.state.claimed == set()


def test_refresh_failure_keeps_workers_running() -> None:
    d = running(issue(1))
    d.send(TickDue())
    out = d.send(RunningRefreshed(d.state.tick_id, error=FetchError("tracker_request", "down")))
    assert of_type(out, StopWorker) == []
    assert "id-1" in d.state.running
    assert d.state.tracker_error is not None


def test_refresh_ignores_runs_that_ended_or_restarted_meanwhile() -> None:
    d = running(issue(1), max_concurrent_agents=1)
    d.send(TickDue())
    tick = d.state.tick_id
    old_run = d.state.running["id-1"].run_id
    # While the refresh is in flight the worker fails and its 10 s retry re-dispatches it.
    d.send(WorkerExited("id-1", old_run, ok=False, error="boom"))
    d.advance(10_000)
    token = d.state.retry_attempts["id-1"].token
    d.send(RetryDue("id-1", token))
    d.send(RetryIssueFetched("id-1", token, (issue(1),)))
    assert d.state.running["id-1"].run_id != old_run
    # The stale refresh says "missing": it must not stop the new run.
    out = d.send(RunningRefreshed(tick, ()))
    assert of_type(out, StopWorker) == []
    assert "id-1" in d.state.running


def test_stall_kills_the_worker_and_schedules_a_backoff_retry_keeping_the_claim() -> None:
    d = running(issue(1), issue(2), stall_timeout_ms=60_000)
    run1 = d.state.running["id-1"].run_id
    d.send(AgentUpdate("id-2", d.state.running["id-2"].run_id, "notification", message="hi"))
    d.advance(45_000)  # id-1 silent for 75 s since start, id-2 for 45 s since its event
    out = d.send(TickDue())
    stops = of_type(out, StopWorker)
    assert [(s.issue_id, s.run_id, s.cleanup) for s in stops] == [("id-1", run1, False)]
    retry = d.state.retry_attempts["id-1"]
    assert retry.attempt == 1 and retry.kind == "failure"
    assert retry.due_ms == d.now + 10_000
    assert retry.error is not None and retry.error.startswith("stalled for 75000 ms")
    # Reference quirk fixed: the claim survives, so the next poll cannot re-dispatch early.
    assert d.state.is_claimed("id-1")
    out = d.send(RunningRefreshed(d.state.tick_id, (issue(2),)))
    out = d.send(CandidatesFetched(d.state.tick_id, (issue(1), issue(2))))
    assert of_type(out, StartWorker) == []


def test_an_agent_waiting_on_a_human_is_not_stalled_until_answered() -> None:
    d = running(issue(1), stall_timeout_ms=60_000)
    run = d.state.running["id-1"].run_id
    d.send(HumanRequestsChanged("id-1", run, 1))
    assert d.state.running["id-1"].pending_requests == 1
    d.advance(10 * 60_000)  # parked far beyond the stall timeout
    assert of_type(d.send(TickDue()), StopWorker) == []
    d.tick(running=[issue(1)])
    d.send(HumanRequestsChanged("id-1", run, 0))  # answered: the stall clock restarts now
    d.advance(59_000)
    assert of_type(d.send(TickDue()), StopWorker) == []
    d.tick(running=[issue(1)])
    d.advance(2_000)
    assert [s.issue_id for s in of_type(d.send(TickDue()), StopWorker)] == ["id-1"]


def test_pending_counts_of_a_stopped_run_change_nothing() -> None:
    d = running(issue(1))
    run = d.state.running["id-1"].run_id
    assert d.send(HumanRequestsChanged("id-1", run + 1, 3)) == []
    assert d.state.running["id-1"].pending_requests == 0


def test_stall_detection_is_disabled_by_a_non_positive_timeout() -> None:
    d = running(issue(1), stall_timeout_ms=0)
    d.advance(10**9)
    out = d.send(TickDue())
    assert of_type(out, StopWorker) == []
    assert of_type(out, FetchRunningIssues)


def test_stopped_worker_exit_is_ignored() -> None:
    d = running(issue(1))
    run = d.state.running["id-1"].run_id
    d.tick(running=[issue(1, state="Human Review")])
    out = d.send(WorkerExited("id-1", run, ok=False, error="cancelled"))
    assert out == []
    assert d.state.retry_attempts == {}
