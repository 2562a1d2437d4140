"""Targeted refresh: issues a tracker webhook named are read by id and acted on at once
(docs/orchestrator.md, "Targeted refresh")."""

from __future__ import annotations

from dataclasses import replace

from symphony.core.changes import watches
from symphony.core.effects import (
    CancelRetryTimer,
    FetchCandidates,
    FetchChangedIssues,
    ForgetCandidates,
    RemoveWorkspaces,
    SetRetryTimer,
    StartWorker,
    StopWorker,
)
from symphony.core.events import (
    CandidatesFetched,
    ChangedIssuesFetched,
    ConfigChanged,
    FetchError,
    IssuesChanged,
    RetryDue,
    RetryIssueFetched,
    ShutdownRequested,
    TickDue,
    WorkerExited,
)
from symphony.core.state import CHANGE_BATCH, CHANGE_READS, CHANGE_ROUNDS
from symphony.issue import BlockerRef, Issue

from .helpers import Driver, config, issue, of_type


def started(*running: Issue, **overrides: object) -> Driver:
    """A started core whose first tick dispatched ``running``; the next poll is far away."""
    d = Driver.create(poll_interval_ms=600_000, **overrides)
    d.start()
    d.tick(running)
    assert set(d.state.running) == {i.id for i in running}
    d.advance(1_000)
    return d


def ask(d: Driver, *ids: str) -> FetchChangedIssues:
    reads = of_type(d.send(IssuesChanged(ids)), FetchChangedIssues)
    assert len(reads) == 1, reads
    return reads[0]


def answer(d: Driver, read: FetchChangedIssues, *issues: Issue) -> list[object]:
    return list(d.send(ChangedIssuesFetched(read.read_id, issues)))


def test_a_running_issue_moved_out_of_the_active_states_is_stopped_and_released() -> None:
    d = started(issue(1))
    read = ask(d, "id-1")
    assert read.issue_ids == ("id-1",)
    out = answer(d, read, issue(1, state="Human Review"))
    assert [(s.issue_id, s.cleanup) for s in of_type(out, StopWorker)] == [("id-1", False)]
    assert not d.state.is_claimed("id-1")
    assert "id-1" in d.state.parked  # released with its workspace kept, and watched
    assert of_type(out, StartWorker) == []


def test_a_running_issue_moved_to_a_terminal_state_is_stopped_with_cleanup() -> None:
    d = started(issue(1))
    out = answer(d, ask(d, "id-1"), issue(1, state="Done"))
    assert [(s.issue_id, s.cleanup) for s in of_type(out, StopWorker)] == [("id-1", True)]
    assert not d.state.is_claimed("id-1") and d.state.retry_attempts == {}


def test_a_running_issue_gone_from_the_answer_is_stopped_and_its_workspace_kept() -> None:
    d = started(issue(1))
    out = answer(d, ask(d, "id-1"))
    assert [(s.issue_id, s.cleanup, s.reason) for s in of_type(out, StopWorker)] == [
        ("id-1", False, "issue no longer visible")
    ]


def test_a_running_issue_still_active_takes_the_new_snapshot_and_is_not_dispatched_again() -> None:
    d = started(issue(1))
    out = answer(d, ask(d, "id-1"), issue(1, state="In Progress", title="Renamed"))
    assert of_type(out, StartWorker) == [] and of_type(out, StopWorker) == []
    assert d.state.running["id-1"].issue.title == "Renamed"


def test_an_eligible_unclaimed_issue_is_dispatched_without_a_poll() -> None:
    d = started()
    ticks = d.state.tick_id
    out = answer(d, ask(d, "id-7"), issue(7))
    assert [(s.issue.id, s.attempt) for s in of_type(out, StartWorker)] == [("id-7", None)]
    assert of_type(out, FetchCandidates) == [] and d.state.tick_id == ticks


def test_eligible_issues_take_free_slots_in_dispatch_order_and_per_state_limits() -> None:
    d = started(max_concurrent_agents=2, max_concurrent_agents_by_state={"in progress": 1})
    read = ask(d, "id-1", "id-2", "id-3", "id-4")
    out = answer(
        d,
        read,
        issue(1, priority=4),
        issue(2, priority=1, state="In Progress"),
        issue(3, priority=2, state="In Progress"),
        issue(4, priority=3),
    )
    # id-2 first (priority 1); id-3 is over the In Progress limit; id-4 outranks id-1.
    assert [s.issue.id for s in of_type(out, StartWorker)] == ["id-2", "id-4"]


def test_nothing_is_dispatched_while_the_workflow_is_invalid_or_the_service_stops() -> None:
    d = started()
    read = ask(d, "id-1")
    d.send(ConfigChanged(config(poll_interval_ms=600_000), "bad yaml"))
    assert of_type(answer(d, read, issue(1)), StartWorker) == []

    d = started()
    read = ask(d, "id-1")
    d.send(ShutdownRequested())
    assert of_type(answer(d, read, issue(1)), StartWorker) == []
    assert of_type(d.send(IssuesChanged(("id-2",))), FetchChangedIssues) == []


def test_an_ineligible_active_issue_is_listed_as_blocked_instead() -> None:
    d = started()
    held = replace(issue(1), dispatchable=False, blocked_by=(BlockerRef("id-9", "MT-9", "Todo"),))
    out = answer(d, ask(d, "id-1"), held)
    assert of_type(out, StartWorker) == []
    assert d.state.blocked["id-1"].reason == "not dispatchable: blocked by MT-9 (Todo)"


def test_a_change_to_a_blocker_also_reads_the_issues_it_blocks_and_frees_them() -> None:
    d = started()
    held = replace(issue(1), dispatchable=False, blocked_by=(BlockerRef("id-9", "MT-9", "Todo"),))
    answer(d, ask(d, "id-1"), held)
    assert watches(d.state, "id-9") and not watches(d.state, "id-8")
    read = ask(d, "id-9")
    assert read.issue_ids == ("id-9", "id-1")
    freed = replace(held, dispatchable=True, blocked_by=(BlockerRef("id-9", "MT-9", "Done"),))
    out = answer(d, read, issue(9, state="Done"), freed)
    assert [s.issue.id for s in of_type(out, StartWorker)] == ["id-1"]
    assert d.state.blocked == {}


def test_a_released_issue_closed_later_loses_its_workspace_at_once() -> None:
    d = started(issue(1))
    answer(d, ask(d, "id-1"), issue(1, state="Human Review"))
    assert watches(d.state, "id-1")
    out = answer(d, ask(d, "id-1"), issue(1, state="Done"))
    removals = of_type(out, RemoveWorkspaces)
    assert [r.issues for r in removals] == [(("id-1", "MT-1"),)]
    assert "id-1" not in d.state.parked


def test_a_retrying_issue_is_left_to_its_retry_timer() -> None:
    d = started(issue(1))
    d.send(WorkerExited("id-1", d.state.running["id-1"].run_id, ok=False, error="boom"))
    read = ask(d, "id-1")
    out = answer(d, read, issue(1, state="Done"))
    assert of_type(out, StartWorker) == [] and of_type(out, RemoveWorkspaces) == []
    assert "id-1" in d.state.retry_attempts


def test_a_stale_answer_never_acts_and_an_answer_never_acts_twice() -> None:
    d = started()
    first = ask(d, "id-1")
    second = ask(d, "id-1")  # the issue changed again while the first read was out
    # The older answer arrives last here, as an old tracker read can, and would dispatch.
    assert of_type(answer(d, second, issue(1, state="Backlog")), StartWorker) == []
    assert of_type(answer(d, first, issue(1)), StartWorker) == []
    assert d.state.running == {}
    # A repeated answer, or one for a read that was never asked, changes nothing.
    assert answer(d, second, issue(1)) == []
    assert answer(d, replace(second, read_id=999), issue(1)) == []


def test_a_run_that_began_while_the_read_was_out_is_asked_about_again_not_stopped() -> None:
    d = started()
    read = ask(d, "id-1")
    d.send(TickDue())
    d.send(CandidatesFetched(d.state.tick_id, (issue(1),)))  # the poll dispatched it meanwhile
    run_id = d.state.running["id-1"].run_id
    out = answer(d, read, issue(1, state="Human Review"))
    assert of_type(out, StopWorker) == []
    again = of_type(out, FetchChangedIssues)
    assert [r.issue_ids for r in again] == [("id-1",)]
    out = answer(d, again[0], issue(1, state="Human Review"))
    assert [(s.issue_id, s.run_id) for s in of_type(out, StopWorker)] == [("id-1", run_id)]


def test_a_claim_released_while_the_read_was_out_is_asked_about_again_not_dispatched() -> None:
    d = started(issue(1))
    read = ask(d, "id-1")
    d.tick(running=[issue(1, state="Done")])  # the poll closed it meanwhile
    assert not d.state.is_claimed("id-1")
    out = answer(d, read, issue(1))  # read before the close reached the tracker
    assert of_type(out, StartWorker) == []
    again = of_type(out, FetchChangedIssues)
    assert of_type(answer(d, again[0], issue(1, state="Done")), StartWorker) == []


def replace_run(d: Driver, issue_id: str) -> None:
    """The run fails and its retry starts a new one (a new run id for the same issue)."""
    entry = d.state.running[issue_id]
    d.send(WorkerExited(issue_id, entry.run_id, ok=False, error="boom"))
    token = d.state.retry_attempts[issue_id].token
    d.send(RetryDue(issue_id, token))
    d.send(RetryIssueFetched(issue_id, token, (entry.issue,)))
    assert d.state.running[issue_id].run_id != entry.run_id


def test_asking_again_is_bounded() -> None:
    d = started(issue(1))
    read = ask(d, "id-1")
    rounds = 0
    while True:
        replace_run(d, "id-1")  # every answer finds a run younger than its read
        out = answer(d, read, issue(1, state="Human Review"))
        assert of_type(out, StopWorker) == []
        follow = of_type(out, FetchChangedIssues)
        if not follow:
            break
        rounds += 1
        assert rounds <= CHANGE_ROUNDS, "the issue was asked about again without end"
        read = follow[0]
    assert rounds == CHANGE_ROUNDS
    assert d.state.change_waiting == {} and d.state.change_reads == {}


def test_a_burst_of_changes_shares_a_few_reads() -> None:
    d = started()
    reads = [ask(d, f"id-{n}") for n in range(CHANGE_READS)]
    waiting = [f"id-{n}" for n in range(CHANGE_READS, CHANGE_READS + CHANGE_BATCH + 5)]
    assert of_type(d.send(IssuesChanged(tuple(waiting))), FetchChangedIssues) == []
    out = answer(d, reads[0])
    follow = of_type(out, FetchChangedIssues)
    assert [r.issue_ids for r in follow] == [tuple(waiting[:CHANGE_BATCH])]
    out = answer(d, reads[1])
    follow = of_type(out, FetchChangedIssues)
    assert [r.issue_ids for r in follow] == [tuple(waiting[CHANGE_BATCH:])]


def test_a_failed_read_keeps_workers_and_shows_the_tracker_error() -> None:
    d = started(issue(1))
    read = ask(d, "id-1")
    out = d.send(ChangedIssuesFetched(read.read_id, error=FetchError("tracker_request", "down")))
    assert of_type(out, StopWorker) == [] and "id-1" in d.state.running
    assert d.state.tracker_error is not None and d.state.tracker_error.message == "down"


def test_a_targeted_dispatch_during_a_poll_is_not_repeated_by_the_poll() -> None:
    d = started()
    d.send(TickDue())
    assert d.state.phase.value == "fetching_candidates"
    out = answer(d, ask(d, "id-1"), issue(1))
    assert [s.issue.id for s in of_type(out, StartWorker)] == ["id-1"]
    out = d.send(CandidatesFetched(d.state.tick_id, (issue(1), issue(2))))
    assert [s.issue.id for s in of_type(out, StartWorker)] == ["id-2"]
    assert set(d.state.running) == {"id-1", "id-2"}


# --- best-of candidates (docs/best-of.md) -----------------------------------------------------


def test_a_webhook_for_an_issue_with_candidates_stops_them_all_when_it_left() -> None:
    d = Driver.create(poll_interval_ms=600_000, best_of=3, max_concurrent_agents=2)
    d.start()
    d.tick([issue(1)])
    assert set(d.state.running) == {"id-1/a", "id-1/b"}
    assert watches(d.state, "id-1")
    out = answer(d, ask(d, "id-1"), issue(1, state="Human Review"))
    stops = of_type(out, StopWorker)
    assert sorted((s.issue_id, s.cleanup) for s in stops) == [
        ("id-1/a", False),
        ("id-1/b", False),
    ]
    assert of_type(out, ForgetCandidates) == [ForgetCandidates("id-1")]
    assert not d.state.is_claimed("id-1") and not d.state.running
    assert of_type(out, StartWorker) == []  # the waiting candidate c never starts


def test_a_webhook_for_a_set_with_no_candidate_running_drops_it_or_updates_it() -> None:
    d = Driver.create(poll_interval_ms=600_000, best_of=2)
    d.start()
    d.tick([issue(1)])
    for key in ("id-1/a", "id-1/b"):
        entry = d.state.running[key]
        d.send(WorkerExited(key, entry.run_id, False, "boom"))  # both wait for their retry
    assert not d.state.running and "id-1" in d.state.candidate_sets
    out = answer(d, ask(d, "id-1"), issue(1, state="In Progress", title="Renamed"))
    assert not of_type(out, ForgetCandidates)
    assert d.state.candidate_sets["id-1"].issue.title == "Renamed"
    out = answer(d, ask(d, "id-1"), issue(1, state="Cancelled"))
    assert of_type(out, ForgetCandidates) == [ForgetCandidates("id-1")]
    assert CancelRetryTimer("id-1/a") in out and not d.state.is_claimed("id-1")


def test_a_webhook_answer_older_than_a_candidate_start_is_asked_again() -> None:
    d = Driver.create(poll_interval_ms=600_000, best_of=2)
    d.start()
    d.tick([issue(1)])
    entry = d.state.running["id-1/a"]
    d.send(WorkerExited("id-1/a", entry.run_id, False, "boom"))
    read = ask(d, "id-1")
    timer = of_type(d.log, SetRetryTimer)[-1]
    d.send(RetryDue("id-1/a", timer.token))  # a starts again while the read is out
    out = answer(d, read, issue(1, state="Human Review"))
    assert not of_type(out, StopWorker)
    (again,) = of_type(out, FetchChangedIssues)
    assert again.issue_ids == ("id-1",)
