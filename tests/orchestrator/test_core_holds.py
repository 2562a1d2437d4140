"""Holds (docs/holds.md): agents that make no progress are stopped and their issue is held; a
hold keeps the issue from every dispatch path until its limit is raised, the issue leaves the
active states, or an operator releases it; it survives a restart."""

from __future__ import annotations

from symphony.core.effects import (
    AnnounceHold,
    ForgetHold,
    ForgetRetry,
    RecordHold,
    SetRetryTimer,
    StartWorker,
    StopWorker,
)
from symphony.core.events import (
    ChangedIssuesFetched,
    ConfigChanged,
    HoldRequested,
    IssuesChanged,
    ReleaseRequested,
    Restored,
    RestoredRetry,
    RetryDue,
    RetryIssueFetched,
    TurnMeasured,
    WorkerExited,
)
from symphony.core.holds import NO_PROGRESS, UNPRODUCTIVE_TURNS_KEY
from symphony.core.snapshot import Instant, build_issue_detail, build_snapshot
from symphony.core.state import Hold
from symphony.view import WorkflowStatus

from .helpers import BASE_TIME, Driver, config, issue, of_type

LIMITS = {UNPRODUCTIVE_TURNS_KEY: 3.0}


def _running(d: Driver, n: int = 1) -> int:
    out = d.tick([issue(n)])
    [start] = of_type(out, StartWorker)
    return start.run_id


def _unproductive(d: Driver, run_id: int, turns: int, n: int = 1) -> list[object]:
    out: list[object] = []
    for _ in range(turns):
        out += d.send(TurnMeasured(f"id-{n}", run_id, productive=False))
    return out


def test_three_unproductive_turns_in_a_row_stop_the_run_and_hold_the_issue() -> None:
    d = Driver.create(hold_limits=LIMITS)
    d.start()
    run_id = _running(d)
    assert of_type(_unproductive(d, run_id, 2), StopWorker) == []  # type: ignore[arg-type]
    out = d.send(TurnMeasured("id-1", run_id, productive=False))
    [stop] = of_type(out, StopWorker)
    assert (stop.issue_id, stop.cleanup) == ("id-1", False)
    [recorded] = of_type(out, RecordHold)
    assert recorded.hold.reason == NO_PROGRESS
    assert recorded.hold.limit == (UNPRODUCTIVE_TURNS_KEY, 3.0)
    assert "3 turns in a row changed nothing" in recorded.hold.message
    assert of_type(out, AnnounceHold) == [AnnounceHold(recorded.hold)]
    assert "id-1" not in d.state.running and "id-1" in d.state.holds
    # No retry for a held issue, and polls never dispatch it again.
    assert of_type(out, SetRetryTimer) == []
    for _ in range(3):
        d.advance(30_000)
        assert of_type(d.tick([issue(1)]), StartWorker) == []


def test_a_productive_turn_resets_the_count_and_the_count_spans_the_issues_runs() -> None:
    d = Driver.create(hold_limits=LIMITS)
    d.start()
    run_id = _running(d)
    _unproductive(d, run_id, 2)
    d.send(TurnMeasured("id-1", run_id, productive=True))
    _unproductive(d, run_id, 2)
    assert "id-1" not in d.state.holds
    # The run ends (max turns): its continuation run carries the count on.
    d.send(WorkerExited("id-1", run_id, ok=True))
    d.advance(1_000)
    [due] = of_type(d.log, SetRetryTimer)[-1:]
    d.send(RetryDue("id-1", due.token))
    out = d.send(RetryIssueFetched("id-1", due.token, (issue(1),)))
    [start] = of_type(out, StartWorker)
    out = d.send(TurnMeasured("id-1", start.run_id, productive=False))
    assert of_type(out, RecordHold) != []


def test_zero_disables_and_stale_reports_change_nothing() -> None:
    d = Driver.create(hold_limits={UNPRODUCTIVE_TURNS_KEY: None})
    d.start()
    run_id = _running(d)
    assert of_type(_unproductive(d, run_id, 10), StopWorker) == []  # type: ignore[arg-type]
    d2 = Driver.create(hold_limits=LIMITS)
    d2.start()
    run_id = _running(d2)
    assert _unproductive(d2, run_id + 1, 5) == []  # another run's reports


def _held(d: Driver, n: int = 1) -> Hold:
    run_id = _running(d, n)
    d.send(
        HoldRequested(
            f"id-{n}", run_id, NO_PROGRESS, "nothing changed", (UNPRODUCTIVE_TURNS_KEY, 3.0)
        )
    )
    return d.state.holds[f"id-{n}"]


def test_raising_or_removing_the_limit_releases_lowering_does_not() -> None:
    d = Driver.create(hold_limits=LIMITS)
    d.start()
    _held(d)
    d.send(ConfigChanged(config(hold_limits={UNPRODUCTIVE_TURNS_KEY: 2.0})))
    assert "id-1" in d.state.holds
    out = d.send(ConfigChanged(config(hold_limits={UNPRODUCTIVE_TURNS_KEY: 5.0})))
    assert of_type(out, ForgetHold) == [ForgetHold("id-1")]
    d.advance(30_000)
    assert of_type(d.tick([issue(1)]), StartWorker) != []

    d = Driver.create(hold_limits=LIMITS)
    d.start()
    _held(d)
    d.send(ConfigChanged(config(hold_limits={UNPRODUCTIVE_TURNS_KEY: None})))  # set to 0
    assert d.state.holds == {}


def test_leaving_the_active_states_releases_and_a_later_return_dispatches() -> None:
    d = Driver.create(hold_limits=LIMITS)
    d.start()
    _held(d)
    d.advance(30_000)
    out = d.tick([issue(2)])  # the held issue is not a candidate any more
    assert of_type(out, ForgetHold) == [ForgetHold("id-1")]
    d.advance(30_000)
    started = of_type(d.tick([issue(1), issue(2)]), StartWorker)
    assert "id-1" in {s.issue.id for s in started}


def test_an_operator_release_and_a_webhook_never_dispatch_a_held_issue() -> None:
    d = Driver.create(hold_limits=LIMITS)
    d.start()
    _held(d)
    # A targeted refresh finds it still active: it stays held, nothing starts.
    d.send(IssuesChanged(("id-1",)))
    read_id = max(d.state.change_reads)
    out = d.send(ChangedIssuesFetched(read_id, (issue(1),)))
    assert of_type(out, StartWorker) == [] and "id-1" in d.state.holds
    out = d.send(ReleaseRequested("id-1"))
    assert of_type(out, ForgetHold) == [ForgetHold("id-1")]
    assert d.send(ReleaseRequested("id-1")) == []  # twice: nothing left to release
    d.advance(30_000)
    assert of_type(d.tick([issue(1)]), StartWorker) != []


def test_a_targeted_read_that_finds_it_elsewhere_releases() -> None:
    d = Driver.create(hold_limits=LIMITS)
    d.start()
    _held(d)
    d.send(IssuesChanged(("id-1",)))
    read_id = max(d.state.change_reads)
    out = d.send(ChangedIssuesFetched(read_id, (issue(1, state="Backlog"),)))
    assert of_type(out, ForgetHold) == [ForgetHold("id-1")]


def test_holds_survive_a_restart_and_outrank_a_stored_retry() -> None:
    d = Driver.create(hold_limits=LIMITS)
    hold = Hold(
        "id-1",
        "MT-1",
        NO_PROGRESS,
        "nothing changed",
        500_000.0,
        None,
        (UNPRODUCTIVE_TURNS_KEY, 3.0),
    )
    retry = RestoredRetry("id-1", "MT-1", None, 2, d.now + 5_000, "failure", "boom")
    out = d.send(Restored(retries=(retry,), holds=(hold,)))
    assert of_type(out, ForgetRetry) == [ForgetRetry("id-1")]
    assert of_type(out, SetRetryTimer) == []
    d.start()
    assert of_type(d.tick([issue(1)]), StartWorker) == []
    assert d.state.holds == {"id-1": hold}


def test_snapshot_and_detail_show_the_hold() -> None:
    d = Driver.create(hold_limits=LIMITS)
    d.start()
    _held(d)
    now = Instant(d.now, BASE_TIME)
    workflow = WorkflowStatus("WORKFLOW.md", 1, BASE_TIME)
    snapshot = build_snapshot(d.state, now, workflow=workflow, tracker_kind="local")
    assert snapshot.counts.held == 1
    [row] = snapshot.held
    assert (row.issue_identifier, row.reason, row.message) == (
        "MT-1",
        NO_PROGRESS,
        "nothing changed",
    )
    detail = build_issue_detail(d.state, "MT-1", now, default_workspace=None)
    assert detail is not None and detail.status == "held"
    assert detail.hold == row
