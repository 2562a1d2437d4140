"""Blocked issues: active, unclaimed and never dispatched, listed with a reason an operator can act
on (docs/orchestrator.md, "Blocked issues"). Fake clock, pure core."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from symphony.core import blocked, policy
from symphony.core.effects import Effect, Log, StartWorker, StopWorker
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
from symphony.core.snapshot import Instant, build_issue_detail, build_snapshot
from symphony.core.state import BLOCKED_LIMIT
from symphony.issue import BlockerRef, Issue
from symphony.view import WorkflowStatus
from symphony.view_json import issue_detail_json, snapshot_json

from .helpers import Driver, config, issue, of_type

WALL = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
WORKFLOW = WorkflowStatus(path="WORKFLOW.md", version=1, loaded_at=WALL)


def held_by(n: int, *blockers: tuple[str, str | None], state: str = "Todo") -> Issue:
    refs = tuple(BlockerRef(id=f"id-{b}", identifier=b, state=s) for b, s in blockers)
    return replace(issue(n, state=state, dispatchable=False), blocked_by=refs)


def logs(out: list[Effect], message: str) -> list[Log]:
    return [e for e in out if isinstance(e, Log) and e.message == message]


def started(**overrides: object) -> Driver:
    d = Driver.create(**overrides)
    d.start()
    return d


def snapshot_of(d: Driver) -> dict[str, Any]:
    """The snapshot as the API renders it."""
    snap = build_snapshot(d.state, Instant(d.now, WALL), workflow=WORKFLOW, tracker_kind="memory")
    return snapshot_json(snap)


def test_issue_blocked_by_an_open_blocker_is_listed_with_its_open_blockers() -> None:
    d = started()
    out = d.tick([held_by(1, ("MT-7", "Todo"), ("MT-8", "Done"), ("MT-9", None))])
    assert not of_type(out, StartWorker)
    row = d.state.blocked["id-1"]
    assert row.reason == "not dispatchable: blocked by MT-7 (Todo), MT-9 (state unknown)"
    assert [b.identifier for b in row.blockers] == ["MT-7", "MT-9"]  # MT-8 is Done: not open
    [line] = logs(out, blocked.BLOCKED_MESSAGE)
    assert line.fields == {
        "issue_id": "id-1",
        "issue_identifier": "MT-1",
        "state": "Todo",
        "reason": row.reason,
    }
    # The next tick sees the same thing: no new log line, ``since`` unchanged.
    since = row.since_ms
    d.advance(30_000)
    out = d.tick([held_by(1, ("MT-7", "Todo"), ("MT-8", "Done"), ("MT-9", None))])
    assert not logs(out, blocked.BLOCKED_MESSAGE)
    assert d.state.blocked["id-1"].since_ms == since


def test_not_dispatchable_without_open_blockers_gets_the_generic_reason() -> None:
    d = started()
    d.tick([issue(1, state="In Progress", dispatchable=False), held_by(2, ("MT-8", "Done"))])
    assert d.state.blocked["id-1"].reason == blocked.NOT_DISPATCHABLE
    assert d.state.blocked["id-2"].reason == blocked.NOT_DISPATCHABLE
    assert d.state.blocked["id-1"].blockers == ()


def test_missing_required_labels_are_named() -> None:
    d = started(required_labels=("Agent", " backend ", "ui"))
    out = d.tick([issue(1, labels=["agent"]), issue(2, labels=["AGENT", "Backend", "ui"])])
    assert d.state.blocked["id-1"].reason == "missing required labels: backend, ui"
    assert "id-2" not in d.state.blocked
    assert [s.issue.id for s in of_type(out, StartWorker)] == ["id-2"]


def test_both_reasons_are_given_together() -> None:
    d = started(required_labels=("agent",))
    d.tick([held_by(1, ("MT-7", "In Progress"))])
    assert d.state.blocked["id-1"].reason == (
        "not dispatchable: blocked by MT-7 (In Progress); missing required labels: agent"
    )


def test_waiting_for_a_slot_claimed_and_inactive_issues_are_not_blocked() -> None:
    d = started(max_concurrent_agents=2, max_concurrent_agents_by_state={"todo": 1})
    out = d.tick(
        [
            issue(1),  # dispatched
            issue(2),  # eligible, waits for the Todo slot
            issue(3, state="In Progress"),  # dispatched
            issue(4, state="Done", dispatchable=False),  # terminal (adapter returned it anyway)
        ]
    )
    assert sorted(s.issue.id for s in of_type(out, StartWorker)) == ["id-1", "id-3"]
    assert d.state.blocked == {}
    # A running issue that shows up blocked in the candidate list stays a running issue.
    d.advance(30_000)
    d.tick([held_by(1, ("MT-9", "Todo")), issue(2)])
    assert d.state.is_claimed("id-1") and d.state.blocked == {}


def test_becoming_eligible_drops_the_row_and_dispatches() -> None:
    d = started()
    d.tick([held_by(1, ("MT-7", "Todo"))])
    assert "id-1" in d.state.blocked
    d.advance(30_000)
    out = d.tick([replace(held_by(1, ("MT-7", "Done")), dispatchable=True)])
    assert [s.issue.id for s in of_type(out, StartWorker)] == ["id-1"]
    assert d.state.blocked == {}
    [cleared] = logs(out, blocked.CLEARED_MESSAGE)
    assert cleared.fields == {"issue_id": "id-1", "issue_identifier": "MT-1", "reason": "eligible"}
    assert snapshot_of(d)["blocked"] == []


def test_leaving_the_active_states_drops_the_row() -> None:
    d = started()
    d.tick([held_by(1, ("MT-7", "Todo")), held_by(2, ("MT-7", "Todo"))])
    d.advance(30_000)
    out = d.tick([held_by(2, ("MT-7", "Todo"))])  # MT-1 moved to Backlog: not fetched
    assert list(d.state.blocked) == ["id-2"]
    [cleared] = logs(out, blocked.CLEARED_MESSAGE)
    assert cleared.fields["issue_identifier"] == "MT-1"
    assert cleared.fields["reason"] == "not among the active-state issues any more"


def test_a_changed_reason_is_logged_again_and_keeps_since() -> None:
    d = started()
    d.tick([held_by(1, ("MT-7", "Todo"))])
    since = d.state.blocked["id-1"].since_ms
    d.advance(30_000)
    out = d.tick([held_by(1, ("MT-7", "Todo"), ("MT-8", "In Progress"))])
    [line] = logs(out, blocked.BLOCKED_MESSAGE)
    assert line.fields["reason"] == "not dispatchable: blocked by MT-7 (Todo), MT-8 (In Progress)"
    assert d.state.blocked["id-1"].since_ms == since


def test_a_failed_candidate_fetch_keeps_the_previous_rows() -> None:
    d = started()
    d.tick([held_by(1, ("MT-7", "Todo"))])
    before = dict(d.state.blocked)
    d.advance(30_000)
    d.send(TickDue())
    out = d.send(CandidatesFetched(d.state.tick_id, error=FetchError("tracker_timeout", "slow")))
    assert d.state.blocked == before
    assert not logs(out, blocked.CLEARED_MESSAGE)
    assert snapshot_of(d)["counts"] == {"running": 0, "retrying": 0, "blocked": 1, "held": 0}


def test_rows_are_bounded_and_the_rest_is_counted() -> None:
    d = started()
    extra = 37
    many = [held_by(n, ("MT-0", "Todo")) for n in range(1, BLOCKED_LIMIT + extra + 1)]
    # One issue with a specific reason sorts ahead of the generic ones, whatever its priority.
    generic = [issue(n, dispatchable=False, priority=1) for n in range(10_000, 10_010)]
    out = d.tick(many + generic)
    assert len(d.state.blocked) == BLOCKED_LIMIT
    assert d.state.blocked_beyond == extra + len(generic)
    assert len(logs(out, blocked.BLOCKED_MESSAGE)) == BLOCKED_LIMIT
    assert all(r.reason != blocked.NOT_DISPATCHABLE for r in d.state.blocked.values())
    snap = snapshot_of(d)
    total = BLOCKED_LIMIT + extra + 10
    assert snap["counts"] == {"running": 0, "retrying": 0, "blocked": total, "held": 0}
    assert isinstance(snap["blocked"], list) and len(snap["blocked"]) == BLOCKED_LIMIT
    # Fewer blocked issues later: the overflow count follows.
    d.advance(30_000)
    d.tick(many[:3])
    assert (len(d.state.blocked), d.state.blocked_beyond) == (3, 0)


def test_a_run_released_as_unroutable_is_blocked_at_once() -> None:
    d = started(required_labels=("agent",))
    d.tick([issue(1, labels=["agent"])])
    d.advance(30_000)
    d.send(TickDue())
    out = d.send(RunningRefreshed(d.state.tick_id, (issue(1),)))  # someone removed the label
    assert [s.issue_id for s in of_type(out, StopWorker)] == ["id-1"]
    assert not d.state.is_claimed("id-1")
    # Listed before this tick's candidate fetch even answers, and logged once.
    assert d.state.blocked["id-1"].reason == "missing required labels: agent"
    assert len(logs(out, blocked.BLOCKED_MESSAGE)) == 1
    out = d.send(CandidatesFetched(d.state.tick_id, (issue(1),)))
    assert not of_type(out, StartWorker) and not logs(out, blocked.BLOCKED_MESSAGE)
    assert "id-1" in d.state.blocked


def test_a_watched_released_issue_is_rechecked_by_the_running_refresh() -> None:
    d = started()
    d.tick([issue(1)])
    d.send(WorkerInfo("id-1", d.state.running["id-1"].run_id, "/ws/MT-1"))
    d.advance(30_000)
    d.tick(running=[issue(1, state="Human Review")])  # released, workspace kept, watched
    assert "id-1" in d.state.parked and d.state.blocked == {}
    d.advance(30_000)
    d.send(TickDue())
    assert d.state.reconcile_parked == ("id-1",)
    # A human moved it back to Todo behind an open blocker.
    out = d.send(RunningRefreshed(d.state.tick_id, (held_by(1, ("MT-7", "Todo")),)))
    assert d.state.blocked["id-1"].reason == "not dispatchable: blocked by MT-7 (Todo)"
    assert len(logs(out, blocked.BLOCKED_MESSAGE)) == 1
    out = d.send(CandidatesFetched(d.state.tick_id, (held_by(1, ("MT-7", "Todo")),)))
    assert not logs(out, blocked.BLOCKED_MESSAGE) and "id-1" in d.state.blocked


def test_a_retry_that_finds_the_issue_blocked_releases_it_into_the_list() -> None:
    d = started()
    d.tick([issue(1)])
    run_id = d.state.running["id-1"].run_id
    d.send(WorkerExited("id-1", run_id, ok=False, error="boom"))
    retry = d.state.retry_attempts["id-1"]
    assert "id-1" not in d.state.blocked
    d.send(RetryDue("id-1", retry.token))
    out = d.send(RetryIssueFetched("id-1", retry.token, (held_by(1, ("MT-7", "Todo")),)))
    assert not d.state.is_claimed("id-1")
    assert d.state.blocked["id-1"].reason == "not dispatchable: blocked by MT-7 (Todo)"
    assert logs(out, blocked.BLOCKED_MESSAGE)


def test_a_reload_rechecks_the_rows() -> None:
    d = started(required_labels=("agent",))
    d.tick([issue(1), issue(2, state="In Progress")])
    assert set(d.state.blocked) == {"id-1", "id-2"}
    out = d.send(ConfigChanged(config(required_labels=(), active_state_names=("Todo",))))
    assert d.state.blocked == {}
    reasons = {
        e.fields["issue_identifier"]: e.fields["reason"]
        for e in logs(out, "issue no longer blocked")
    }
    assert reasons == {"MT-1": "eligible", "MT-2": "issue is In Progress"}
    # The next poll dispatches the now-eligible issue.
    d.advance(30_000)
    out = d.tick([issue(1)])
    assert [s.issue.id for s in of_type(out, StartWorker)] == ["id-1"]


def test_snapshot_rows_and_issue_detail_of_a_blocked_issue() -> None:
    d = started(required_labels=("agent",))
    d.tick([held_by(2, ("MT-7", "Todo"), ("MT-8", "Done")), issue(3, state="In Progress")])
    d.advance(5_000)
    snap = snapshot_of(d)
    assert snap["counts"] == {"running": 0, "retrying": 0, "blocked": 2, "held": 0}
    assert snap["blocked"] == [
        {
            "issue_id": "id-2",
            "issue_identifier": "MT-2",
            "issue_url": "https://tracker.example/MT-2",
            "title": "Fix it",
            "state": "Todo",
            "reason": "not dispatchable: blocked by MT-7 (Todo); missing required labels: agent",
            "blocked_by": [{"identifier": "MT-7", "state": "Todo"}],
            "blocked_at": "2026-03-01T11:59:55Z",
        },
        {
            "issue_id": "id-3",
            "issue_identifier": "MT-3",
            "issue_url": "https://tracker.example/MT-3",
            "title": "Fix it",
            "state": "In Progress",
            "reason": "missing required labels: agent",
            "blocked_by": [],
            "blocked_at": "2026-03-01T11:59:55Z",
        },
    ]
    found = build_issue_detail(d.state, "MT-2", Instant(d.now, WALL), default_workspace="/ws/MT-2")
    assert found is not None
    detail = issue_detail_json(found)
    assert (detail["status"], detail["issue_id"]) == ("blocked", "id-2")
    assert detail["blocked"] == {
        "state": "Todo",
        "reason": snap["blocked"][0]["reason"],
        "blocked_by": [{"identifier": "MT-7", "state": "Todo"}],
        "blocked_at": "2026-03-01T11:59:55Z",
    }
    assert detail["running"] is None and detail["retry"] is None
    assert detail["workspace"] == {"path": "/ws/MT-2"}
    assert detail["tracked"] == {"issue_url": "https://tracker.example/MT-2"}
    assert build_issue_detail(d.state, "MT-9", Instant(d.now, WALL), default_workspace=None) is None


_labels = st.lists(st.sampled_from(["agent", "Agent ", "ui", "backend", ""]), max_size=3)


@given(
    state=st.sampled_from(["Todo", "In Progress", "Done", "Backlog", " todo "]),
    title=st.sampled_from(["Fix it", ""]),
    dispatchable=st.booleans(),
    labels=_labels,
    required=_labels,
    blocker_states=st.lists(st.sampled_from(["Todo", "Done", None]), max_size=3),
)
def test_blocked_exactly_when_active_and_not_eligible(
    state: str,
    title: str,
    dispatchable: bool,
    labels: list[str],
    required: list[str],
    blocker_states: list[str | None],
) -> None:
    cfg = config(required_labels=tuple(required))
    candidate = replace(
        issue(1, state=state, dispatchable=dispatchable, labels=labels, title=title),
        blocked_by=tuple(
            BlockerRef(identifier=f"B-{i}", state=s) for i, s in enumerate(blocker_states)
        ),
    )
    found = blocked.hold(candidate, cfg)
    if not policy.is_active(candidate, cfg) or not title:
        assert found is None
    else:
        assert (found is None) == policy.is_candidate(candidate, cfg)
    # A poll sorts issues out in one pass (policy.split_candidates) by the same rules.
    candidates, held = policy.split_candidates([candidate], cfg)
    assert candidates == ([candidate] if policy.is_candidate(candidate, cfg) else [])
    assert held == ([] if found is None else [candidate])
