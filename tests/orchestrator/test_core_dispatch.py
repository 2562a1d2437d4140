"""Eligibility, ordering, slots and the tick sequence (SPEC §8.1-8.3, §16.2, §17.4)."""

from __future__ import annotations

from collections.abc import Sequence

from symphony.core.effects import (
    AckRefresh,
    Effect,
    FetchCandidates,
    FetchRunningIssues,
    FetchTerminalIssues,
    RemoveWorkspaces,
    ScheduleTick,
    StartWorker,
)
from symphony.core.events import (
    CandidatesFetched,
    ConfigChanged,
    FetchError,
    RefreshRequested,
    RunningRefreshed,
    Started,
    TerminalIssuesFetched,
    TickDue,
)
from symphony.core.state import Phase

from .helpers import Driver, config, issue, of_type


def started(**overrides: object) -> Driver:
    d = Driver.create(**overrides)
    d.start()
    return d


def dispatched_ids(effects: Sequence[Effect]) -> list[str]:
    return [s.issue.identifier for s in of_type(effects, StartWorker)]


def test_startup_cleans_terminal_workspaces_then_ticks_immediately() -> None:
    d = Driver.create()
    first = d.send(Started())
    assert of_type(first, FetchTerminalIssues) == [FetchTerminalIssues(("Done", "Cancelled"))]
    done = issue(1, state="Done")
    active = issue(2, state="Todo")
    out = d.start(terminal=[done, active])  # second Started is ignored; the fetch result counts
    removes = of_type(out, RemoveWorkspaces)
    assert removes == [RemoveWorkspaces((("id-1", "MT-1"),))]
    assert of_type(out, ScheduleTick) == [ScheduleTick(0)]


def test_startup_cleanup_failure_still_starts_polling() -> None:
    d = Driver.create()
    d.send(Started())
    out = d.send(TerminalIssuesFetched(error=FetchError("tracker_request", "boom")))
    assert of_type(out, RemoveWorkspaces) == []
    assert of_type(out, ScheduleTick) == [ScheduleTick(0)]


def test_sort_order_is_priority_then_oldest_then_identifier() -> None:
    d = started(max_concurrent_agents=10)
    issues = [
        issue("a", priority=None, created_minutes=0),
        issue("b", priority=3, created_minutes=5),
        issue("c", priority=1, created_minutes=10),
        issue("d", priority=1, created_minutes=1),
        issue("e", priority=7, created_minutes=0),  # out-of-range sorts with null
        issue("f", priority=3, created_minutes=None),
        issue("g", priority=3, created_minutes=5, identifier="MT-a-same-time"),
    ]
    out = d.tick(issues)
    assert dispatched_ids(out) == ["MT-d", "MT-c", "MT-a-same-time", "MT-b", "MT-f", "MT-a", "MT-e"]


def test_dispatchable_false_is_not_eligible() -> None:
    d = started()
    out = d.tick([issue(1, dispatchable=False), issue(2)])
    assert dispatched_ids(out) == ["MT-2"]


def test_required_labels_match_case_insensitively_and_all_are_needed() -> None:
    d = started(required_labels=("symphony", "backend"))
    out = d.tick(
        [
            issue(1, labels=("Symphony", " BACKEND ")),
            issue(2, labels=("symphony",)),
            issue(3, labels=()),
        ]
    )
    assert dispatched_ids(out) == ["MT-1"]


def test_only_active_non_terminal_states_with_required_fields_dispatch() -> None:
    d = started(active_state_names=("Todo", "Done"), terminal_state_names=("Done",))
    out = d.tick(
        [
            issue(1, state=" todo "),
            issue(2, state="Done"),  # active and terminal: terminal wins
            issue(3, state="Backlog"),
            issue(4, title=""),
        ]
    )
    assert dispatched_ids(out) == ["MT-1"]


def test_global_slots_limit_dispatch_and_claimed_issues_are_skipped() -> None:
    d = started(max_concurrent_agents=2)
    out = d.tick([issue(1), issue(2), issue(3)])
    assert dispatched_ids(out) == ["MT-1", "MT-2"]
    d.advance(30_000)
    # Full: no candidate fetch at all, reconciliation still runs.
    out = d.tick([issue(1), issue(2), issue(3)])
    assert of_type(out, FetchRunningIssues)
    assert of_type(out, FetchCandidates) == []
    assert dispatched_ids(out) == []


def test_per_state_limits_count_running_issues_by_current_state() -> None:
    d = started(max_concurrent_agents=10, max_concurrent_agents_by_state={"In Progress": 1})
    out = d.tick(
        [issue(1, state="In Progress"), issue(2, state="in progress"), issue(3, state="Todo")]
    )
    assert dispatched_ids(out) == ["MT-1", "MT-3"]
    # MT-1 moves to Todo: the In Progress slot frees up on the next tick's refresh.
    d.advance(30_000)
    moved = issue(1, state="Todo")
    out = d.tick([issue(2, state="In Progress")], running=[moved, issue(3)])
    assert dispatched_ids(out) == ["MT-2"]


def test_duplicate_candidates_dispatch_once() -> None:
    d = started()
    out = d.tick([issue(1), issue(1)])
    assert dispatched_ids(out) == ["MT-1"]


def test_tick_reconciles_before_fetching_candidates() -> None:
    d = started()
    d.tick([issue(1)])
    d.advance(30_000)
    out = d.send(TickDue())
    assert of_type(out, FetchRunningIssues) and not of_type(out, FetchCandidates)
    out = d.send(RunningRefreshed(d.state.tick_id, (issue(1),)))
    assert of_type(out, FetchCandidates) == [
        FetchCandidates(d.state.tick_id, ("Todo", "In Progress"))
    ]


def test_reconciliation_with_no_running_issues_asks_the_tracker_nothing() -> None:
    d = started()
    out = d.send(TickDue())
    assert of_type(out, FetchRunningIssues) == []
    assert of_type(out, FetchCandidates)


def test_candidate_fetch_failure_skips_dispatch_and_is_visible() -> None:
    d = started()
    d.send(TickDue())
    out = d.send(CandidatesFetched(d.state.tick_id, error=FetchError("tracker_status", "HTTP 502")))
    assert of_type(out, StartWorker) == []
    assert of_type(out, ScheduleTick) == [ScheduleTick(30_000)]
    assert d.state.tracker_error is not None and d.state.tracker_error.message == "HTTP 502"
    d.advance(30_000)
    d.tick([issue(1)])
    assert d.state.tracker_error is None


def test_invalid_workflow_skips_dispatch_but_reconciliation_runs() -> None:
    d = started()
    d.tick([issue(1)])
    d.send(ConfigChanged(d.state.config, error="WORKFLOW.md: bad yaml"))
    d.advance(30_000)
    out = d.send(TickDue())
    assert of_type(out, FetchRunningIssues)
    out = d.send(RunningRefreshed(d.state.tick_id, (issue(1, state="Backlog"),)))
    assert of_type(out, FetchCandidates) == []
    assert "id-1" not in d.state.running  # reconciliation still stopped it
    d.send(ConfigChanged(d.state.config, error=None))
    d.advance(30_000)
    assert dispatched_ids(d.tick([issue(2)])) == ["MT-2"]


def test_results_from_a_superseded_tick_are_ignored() -> None:
    d = started()
    d.send(TickDue())
    stale_tick = d.state.tick_id
    d.send(CandidatesFetched(stale_tick, ()))
    d.advance(30_000)
    d.send(TickDue())
    out = d.send(CandidatesFetched(stale_tick, (issue(1),)))
    assert out == []
    assert d.state.phase is Phase.FETCHING_CANDIDATES


def test_tick_while_a_tick_is_in_progress_is_coalesced() -> None:
    d = started()
    d.send(TickDue())
    assert d.send(TickDue()) == []


def test_refresh_coalesces_while_a_poll_is_due_or_running() -> None:
    d = started()
    # The startup tick is already due.
    assert of_type(d.send(RefreshRequested()), AckRefresh) == [AckRefresh(coalesced=True)]
    d.tick([])
    d.advance(1_000)
    out = d.send(RefreshRequested())
    assert of_type(out, AckRefresh) == [AckRefresh(coalesced=False)]
    assert of_type(out, ScheduleTick) == [ScheduleTick(0)]
    assert of_type(d.send(RefreshRequested()), AckRefresh) == [AckRefresh(coalesced=True)]
    d.send(TickDue())
    assert of_type(d.send(RefreshRequested()), AckRefresh) == [AckRefresh(coalesced=True)]


def test_poll_interval_change_reschedules_from_last_tick_end() -> None:
    d = started(poll_interval_ms=30_000)
    d.tick([])
    d.advance(4_000)
    out = d.send(ConfigChanged(config(poll_interval_ms=5_000)))
    assert of_type(out, ScheduleTick) == [ScheduleTick(1_000)]
    d.advance(10_000)
    out = d.send(ConfigChanged(config(poll_interval_ms=2_000)))
    assert of_type(out, ScheduleTick) == [ScheduleTick(0)]


def test_config_change_applies_to_the_next_dispatch() -> None:
    d = started(max_concurrent_agents=1)
    assert dispatched_ids(d.tick([issue(1), issue(2), issue(3)])) == ["MT-1"]
    d.send(ConfigChanged(config(max_concurrent_agents=3, active_state_names=("Todo", "Review"))))
    d.advance(30_000)
    out = d.tick([issue(2), issue(3, state="Review")])
    assert dispatched_ids(out) == ["MT-2", "MT-3"]


def test_a_refresh_during_a_tick_runs_one_more_tick_right_after_it() -> None:
    # The tick in flight may have read the tracker before the change the refresh announces.
    d = started(poll_interval_ms=600_000)
    d.tick([])
    d.advance(1_000)
    d.send(TickDue())
    assert d.state.phase is Phase.FETCHING_CANDIDATES
    d.send(RefreshRequested())
    d.send(RefreshRequested())  # one follow-up tick, however many refreshes
    out = d.send(CandidatesFetched(d.state.tick_id, ()))
    assert of_type(out, ScheduleTick) == [ScheduleTick(0)]
    d.send(TickDue())
    out = d.send(CandidatesFetched(d.state.tick_id, ()))
    assert of_type(out, ScheduleTick) == [ScheduleTick(600_000)]
