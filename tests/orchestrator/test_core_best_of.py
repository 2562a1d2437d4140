"""Best of K in the core (docs/best-of.md): candidates count against the slots, end by handing
off or failing, and the issue is judged once when all have ended."""

from __future__ import annotations

from collections.abc import Sequence

from symphony.core.candidates import CandidateSet
from symphony.core.effects import (
    Effect,
    ForgetCandidates,
    JudgeCandidates,
    SaveCandidates,
    SetRetryTimer,
    StartWorker,
    StopWorker,
)
from symphony.core.events import (
    CandidatePicked,
    CandidatesJudged,
    Restored,
    TurnMeasured,
    WorkerExited,
)

from .helpers import Driver, issue, of_type


def started(**overrides: object) -> Driver:
    d = Driver.create(**overrides)
    d.start()
    return d


def starts(effects: Sequence[Effect]) -> list[str]:
    return [
        f"{s.issue.identifier}.{s.candidate.name}" if s.candidate else s.issue.identifier
        for s in of_type(effects, StartWorker)
    ]


def exited(
    d: Driver, key: str, *, handed_off: str | None = None, error: str | None = None
) -> list[Effect]:
    entry = d.state.running[key]
    ok = error is None
    return d.send(WorkerExited(key, entry.run_id, ok, error, handed_off=handed_off))


def test_k_candidates_start_as_separate_runs_and_the_issue_stays_claimed() -> None:
    d = started(best_of=2)
    out = d.tick([issue(1), issue(2, labels=["best-of:1"])])
    assert starts(out) == ["MT-1.a", "MT-1.b", "MT-2"]
    assert set(d.state.running) == {"id-1/a", "id-1/b", "id-2"}
    assert d.state.is_claimed("id-1")
    (saved,) = of_type(out, SaveCandidates)
    assert [c.status for c in saved.candidates.candidates] == ["running", "running"]
    # The next poll dispatches nothing new for the claimed issue.
    assert starts(d.tick([issue(1), issue(2, labels=["best-of:1"])])) == []


def test_slots_are_respected_and_a_waiting_candidate_starts_when_one_frees() -> None:
    d = started(max_concurrent_agents=2)
    out = d.tick([issue(1, labels=["best-of:3"]), issue(2)])
    assert starts(out) == ["MT-1.a", "MT-1.b"]
    waiting = d.state.candidate_sets["id-1"].candidates.get("c")
    assert waiting is not None and waiting.status == "pending"
    out = exited(d, "id-1/a", handed_off="done a")
    # The freed slot goes to the waiting candidate, not to a new issue.
    assert starts(out) == ["MT-1.c"]
    assert not of_type(out, SetRetryTimer)  # a candidate that handed off is not continued


def test_all_ended_asks_for_judging_once_and_the_judged_set_releases_the_issue() -> None:
    d = started(best_of=2)
    d.tick([issue(1)])
    exited(d, "id-1/a", handed_off="wrote a.txt")
    assert not of_type(d.log, JudgeCandidates)
    out = exited(d, "id-1/b", error="codex crashed")
    (judge,) = of_type(out, JudgeCandidates)
    a, b = judge.candidates.candidates
    assert (a.status, a.summary) == ("handed_off", "wrote a.txt")
    assert (b.status, b.error) == ("failed", "codex crashed")
    assert not of_type(out, SetRetryTimer)  # a failed candidate is not retried; a is judged
    assert d.state.is_claimed("id-1") and not d.state.running
    out = d.send(CandidatesJudged("id-1", judge.candidates, moved=True))
    assert not d.state.is_claimed("id-1")
    assert of_type(out, SaveCandidates)


def test_an_issue_moved_away_stops_every_candidate_and_drops_the_set() -> None:
    d = started(best_of=3, max_concurrent_agents=2)
    d.tick([issue(1)])
    out = d.tick([], running=[issue(1, state="Done")])
    stops = of_type(out, StopWorker)
    assert sorted(s.issue_id for s in stops) == ["id-1/a", "id-1/b"]
    assert all(s.cleanup for s in stops)
    assert of_type(out, ForgetCandidates) == [ForgetCandidates("id-1")]
    assert not d.state.is_claimed("id-1") and not d.state.running


def test_a_stalled_candidate_fails_and_the_others_go_on() -> None:
    d = started(best_of=2, stall_timeout_ms=1_000)
    d.tick([issue(1)])
    d.advance(2_000)
    out = d.tick([issue(1)])
    assert sorted(s.issue_id for s in of_type(out, StopWorker)) == ["id-1/a", "id-1/b"]
    (judge,) = of_type(out, JudgeCandidates)
    assert [c.status for c in judge.candidates.candidates] == ["failed", "failed"]
    assert not of_type(out, SetRetryTimer)


def test_after_a_pick_the_issue_runs_once_in_its_next_state() -> None:
    d = started(best_of=2)
    d.send(CandidatePicked("id-1", "b"))
    assert starts(d.tick([issue(1, state="In Progress")])) == ["MT-1"]
    # A restart remembers the pick.
    fresh = Driver.create(best_of=2)
    fresh.send(Restored(picked=("id-1",)))
    fresh.start()
    assert starts(fresh.tick([issue(1)])) == ["MT-1"]


def test_candidates_a_restart_cut_short_go_on_and_continue_their_threads() -> None:
    stored = CandidateSet.start("id-1", "MT-1", 2)
    stored = stored.with_candidate("a", status="running", thread_id="th-a")
    stored = stored.with_candidate("b", status="handed_off", summary="done b")
    d = Driver.create(best_of=2)
    d.send(Restored(open_candidates=(stored,)))
    d.start()
    assert d.state.is_claimed("id-1")
    out = d.tick([issue(1)])
    (start,) = of_type(out, StartWorker)
    assert start.candidate is not None and start.candidate.name == "a"
    assert start.resume_thread_id == "th-a" and start.issue.title == "Fix it"
    out = exited(d, "id-1/a", handed_off="done a")
    assert of_type(out, JudgeCandidates)


def test_a_restored_set_all_ended_is_judged_and_one_gone_inactive_is_dropped() -> None:
    ended = CandidateSet.start("id-1", "MT-1", 1).with_candidate("a", status="failed")
    waiting = CandidateSet.start("id-2", "MT-2", 2)
    d = Driver.create(best_of=2)
    out = d.send(Restored(open_candidates=(ended, waiting)))
    (judge,) = of_type(out, JudgeCandidates)
    assert judge.issue.identifier == "MT-1"
    d.start()
    out = d.tick([])  # MT-2 is no longer active: its waiting candidates never start
    assert of_type(out, ForgetCandidates) == [ForgetCandidates("id-2")]
    assert not d.state.is_claimed("id-2") and d.state.is_claimed("id-1")


def test_a_hold_on_one_candidate_stops_them_all_and_releases_the_set() -> None:
    d = started(
        best_of=3,
        max_concurrent_agents=2,
        hold_limits={"agent.max_unproductive_turns": 1},
    )
    d.tick([issue(1)])
    entry = d.state.running["id-1/a"]
    out = d.send(TurnMeasured("id-1/a", entry.run_id, False))
    assert sorted(s.issue_id for s in of_type(out, StopWorker)) == ["id-1/a", "id-1/b"]
    assert of_type(out, ForgetCandidates) == [ForgetCandidates("id-1")]
    assert "id-1" in d.state.holds and not d.state.running
    assert not of_type(out, StartWorker)  # the waiting candidate c never starts
