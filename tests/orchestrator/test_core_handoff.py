"""Hand-offs in the core: a run whose issue went to review finishes its turn, and while its
worker verifies the hand-off neither reconciliation nor the stall check stops it."""

from __future__ import annotations

from symphony.core.effects import StopWorker
from symphony.core.events import HandingOff, WorkerExited

from .helpers import Driver, issue, of_type


def running(**overrides: object) -> Driver:
    d = Driver.create(review_state_names=("Human Review",), **overrides)
    d.start()
    d.tick([issue(1)])
    d.advance(30_000)
    return d


def test_an_issue_moved_to_review_mid_turn_keeps_its_run() -> None:
    d = running()
    out = d.tick(running=[issue(1, state="human review")])
    assert of_type(out, StopWorker) == []
    assert d.state.running["id-1"].issue.state == "human review"


def test_other_non_active_states_still_stop_the_run_at_once() -> None:
    d = running()
    out = d.tick(running=[issue(1, state="Blocked")])
    assert [(s.issue_id, s.cleanup) for s in of_type(out, StopWorker)] == [("id-1", False)]
    assert not d.state.is_claimed("id-1")


def test_a_run_handing_off_is_kept_in_any_non_terminal_state() -> None:
    d = running()
    d.send(HandingOff("id-1", d.state.running["id-1"].run_id))
    assert d.state.running["id-1"].handing_off
    out = d.tick(running=[issue(1, state="Blocked")])
    assert of_type(out, StopWorker) == []


def test_terminal_still_stops_a_hand_off_and_cleans_up() -> None:
    d = running()
    d.send(HandingOff("id-1", d.state.running["id-1"].run_id))
    out = d.tick(running=[issue(1, state="Done")])
    assert [(s.issue_id, s.cleanup) for s in of_type(out, StopWorker)] == [("id-1", True)]


def test_the_stall_check_skips_a_hand_off_until_it_is_over() -> None:
    d = running(stall_timeout_ms=60_000)
    run_id = d.state.running["id-1"].run_id
    d.send(HandingOff("id-1", run_id))
    d.advance(600_000)
    assert of_type(d.tick(), StopWorker) == []
    d.send(HandingOff("id-1", run_id, active=False))
    assert not d.state.running["id-1"].handing_off
    # Over: the stall clock starts again from the end of the hand-off.
    d.advance(59_000)
    assert of_type(d.tick(), StopWorker) == []
    d.advance(2_000)
    stopped = [s.issue_id for s in of_type(d.tick(), StopWorker)]
    assert stopped == ["id-1"]


def test_after_the_hand_off_is_over_a_review_state_is_kept_and_another_stops() -> None:
    d = running()
    run_id = d.state.running["id-1"].run_id
    d.send(HandingOff("id-1", run_id))
    d.send(HandingOff("id-1", run_id, active=False))
    out = d.tick(running=[issue(1, state="Blocked")])
    assert [s.issue_id for s in of_type(out, StopWorker)] == ["id-1"]


def test_a_stale_hand_off_changes_nothing() -> None:
    d = running()
    run_id = d.state.running["id-1"].run_id
    assert d.send(HandingOff("id-1", run_id + 7)) == []
    assert d.send(HandingOff("id-2", run_id)) == []
    assert not d.state.running["id-1"].handing_off
    d.send(WorkerExited("id-1", run_id, ok=True))
    assert d.send(HandingOff("id-1", run_id)) == []
