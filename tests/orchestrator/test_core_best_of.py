"""Best of K in the core (docs/best-of.md): candidates count against the slots, end by handing
off or failing, and the issue is judged once when all have ended."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from symphony.core.best_of import MAX_PUBLISH_FAILURES
from symphony.core.candidates import CandidateSet
from symphony.core.effects import (
    AnnounceCandidatesFailed,
    CancelRetryTimer,
    Effect,
    FetchRetryIssue,
    ForgetCandidates,
    JudgeCandidates,
    PublishCandidates,
    RecordRetry,
    SaveCandidates,
    SetRetryTimer,
    StartWorker,
    StopWorker,
)
from symphony.core.events import (
    AgentUpdate,
    CandidatePicked,
    CandidatesFetched,
    CandidatesJudged,
    Restored,
    RetryDue,
    RetryIssueFetched,
    TickDue,
    TurnMeasured,
    WorkerExited,
)
from symphony.core.snapshot import Instant, build_snapshot
from symphony.view import Snapshot, WorkflowStatus
from symphony.view_json import retry_row_json

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


def snapshot(d: Driver) -> Snapshot:
    now = Instant(d.now, datetime(2026, 1, 1, tzinfo=UTC))
    workflow = WorkflowStatus(path="WORKFLOW.md", version=1, loaded_at=now.wall)
    return build_snapshot(d.state, now, workflow=workflow, tracker_kind="memory")


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
    d = started(best_of=2, candidate_max_retries=0)
    d.tick([issue(1)])
    exited(d, "id-1/a", handed_off="wrote a.txt")
    assert not of_type(d.log, JudgeCandidates)
    out = exited(d, "id-1/b", error="codex crashed")
    (judge,) = of_type(out, JudgeCandidates)
    a, b = judge.candidates.candidates
    assert (a.status, a.summary) == ("handed_off", "wrote a.txt")
    assert (b.status, b.error) == ("failed", "codex crashed")
    assert not of_type(out, SetRetryTimer)  # no retries left for b; a is judged
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


def test_a_stalled_candidate_is_retried_like_a_failed_run() -> None:
    d = started(best_of=2, stall_timeout_ms=1_000)
    d.tick([issue(1)])
    d.send(WorkerExited("id-1/b", d.state.running["id-1/b"].run_id, True, handed_off="done b"))
    d.advance(2_000)
    out = d.tick([issue(1)])
    assert [s.issue_id for s in of_type(out, StopWorker)] == ["id-1/a"]
    assert [(t.issue_id, t.delay_ms) for t in of_type(out, SetRetryTimer)] == [("id-1/a", 10_000)]
    a = d.state.candidate_sets["id-1"].candidates.get("a")
    assert a is not None and (a.status, a.attempt) == ("pending", 1)
    assert a.error is not None and "stalled" in a.error
    assert not of_type(out, JudgeCandidates)


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
    ended = CandidateSet.start("id-1", "MT-1", 1).with_candidate("a", status="handed_off")
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


# --- retries, failures, outages (docs/best-of.md, "Candidates") -----------------------------


def retry_due(d: Driver, key: str) -> list[Effect]:
    (timer,) = [t for t in of_type(d.log, SetRetryTimer) if t.issue_id == key][-1:]
    d.advance(timer.delay_ms)
    return d.send(RetryDue(key, timer.token))


def test_a_failed_candidate_is_retried_with_the_failure_backoff_then_marked_failed() -> None:
    d = started(best_of=2)  # agent.candidate_max_retries: 2 by default
    d.tick([issue(1)])
    d.send(
        AgentUpdate("id-1/a", d.state.running["id-1/a"].run_id, "session_started", thread_id="th-a")
    )
    exited(d, "id-1/b", handed_off="done b")
    out = exited(d, "id-1/a", error="codex crashed")
    assert [(t.issue_id, t.delay_ms) for t in of_type(out, SetRetryTimer)] == [("id-1/a", 10_000)]
    (saved,) = of_type(out, SaveCandidates)
    a = saved.candidates.get("a")
    assert a is not None and (a.status, a.attempt, a.error) == ("pending", 1, "codex crashed")
    assert not of_type(out, JudgeCandidates) and not of_type(out, StartWorker)
    # Its retry row shows in the state API with its name; the candidate list says the attempt.
    (row,) = snapshot(d).retrying
    assert (row.issue_identifier, row.candidate, row.attempt, row.error) == (
        "MT-1",
        "a",
        1,
        "codex crashed",
    )
    assert retry_row_json(row)["candidate"] == "a"
    # The backoff over, it runs again in its workspace, continuing its thread.
    out = retry_due(d, "id-1/a")
    (start,) = of_type(out, StartWorker)
    assert start.candidate is not None and start.candidate.name == "a"
    assert (start.attempt, start.resume_thread_id) == (1, "th-a")
    assert snapshot(d).retrying == () and snapshot(d).running[0].candidate == "a"
    out = exited(d, "id-1/a", error="codex crashed again")
    assert [t.delay_ms for t in of_type(out, SetRetryTimer)] == [20_000]
    retry_due(d, "id-1/a")
    out = exited(d, "id-1/a", error="third time")  # two retries failed too: a is failed
    assert not of_type(out, SetRetryTimer)
    (judge,) = of_type(out, JudgeCandidates)
    a = judge.candidates.get("a")
    assert a is not None and (a.status, a.attempt, a.error) == ("failed", 2, "third time")


def test_a_waiting_candidate_takes_no_slot_and_a_late_timer_changes_nothing() -> None:
    d = started(best_of=2, max_concurrent_agents=2)
    d.tick([issue(1), issue(2, labels=["best-of:1"])])
    assert set(d.state.running) == {"id-1/a", "id-1/b"}
    exited(d, "id-1/a", error="boom")
    # a waits for its backoff: its slot goes to the next issue at the next poll.
    assert starts(d.tick([issue(1), issue(2, labels=["best-of:1"])])) == ["MT-2"]
    exited(d, "id-2")
    out = retry_due(d, "id-1/a")
    assert starts(out) == ["MT-1.a"]
    assert d.send(RetryDue("id-1/a", 999)) == []  # stale: nothing


def test_ending_the_turns_without_a_hand_off_is_not_retried() -> None:
    d = started(best_of=2)
    d.tick([issue(1)])
    out = exited(d, "id-1/a")  # ok, but no symphony_hand_off: agent.max_turns ran out
    assert not of_type(out, SetRetryTimer)
    a = d.state.candidate_sets["id-1"].candidates.get("a")
    assert a is not None and (a.status, a.attempt) == ("failed", 0)
    assert a.error == "ended without calling symphony_hand_off"


def test_every_candidate_failed_moves_nothing_and_retries_the_issue_with_a_new_set() -> None:
    d = started(best_of=2, candidate_max_retries=0)
    d.tick([issue(1)])
    exited(d, "id-1/a", error="boom a")
    out = exited(d, "id-1/b", error="boom b")
    assert not of_type(out, JudgeCandidates)
    assert of_type(out, ForgetCandidates) == [ForgetCandidates("id-1")]
    (announce,) = of_type(out, AnnounceCandidatesFailed)
    assert (announce.issue.identifier, announce.attempt, announce.delay_ms) == ("MT-1", 1, 10_000)
    assert [c.error for c in announce.candidates.candidates] == ["boom a", "boom b"]
    (retry,) = of_type(out, RecordRetry)
    assert (retry.issue_id, retry.attempt, retry.kind) == ("id-1", 1, "failure")
    assert retry.error == "every candidate failed (a: boom a; b: boom b)"
    assert d.state.is_claimed("id-1") and "id-1" not in d.state.candidate_sets
    # The retry fires: a new set of candidates, attempt 1.
    out = retry_due(d, "id-1")
    (fetch,) = of_type(out, FetchRetryIssue)
    out = d.send(RetryIssueFetched("id-1", fetch.token, (issue(1),)))
    assert starts(out) == ["MT-1.a", "MT-1.b"]
    assert [s.attempt for s in of_type(out, StartWorker)] == [1, 1]
    exited(d, "id-1/a", error="again a")
    out = exited(d, "id-1/b", error="again b")
    (announce,) = of_type(out, AnnounceCandidatesFailed)
    assert (announce.attempt, announce.delay_ms) == (2, 20_000)  # the issue's backoff grows


def test_an_agents_cannot_start_failure_goes_through_the_outage_and_costs_no_attempt() -> None:
    d = started(best_of=3, max_concurrent_agents=2)
    d.tick([issue(1)])
    entry = d.state.running["id-1/a"]
    out = d.send(
        WorkerExited(
            "id-1/a",
            entry.run_id,
            False,
            "no credentials",
            "codex_not_authenticated",
            environment=True,
        )
    )
    assert d.state.outage is not None and d.state.outage.failures == 1
    a = d.state.candidate_sets["id-1"].candidates.get("a")
    assert a is not None and (a.status, a.attempt) == ("pending", 0)
    assert not of_type(out, StartWorker)  # c does not take the freed slot: dispatch backs off
    (row,) = snapshot(d).retrying
    assert row.candidate == "a" and row.error is not None and "agents cannot start" in row.error
    # b fails the same way: the outage grows, b waits too, still no attempt lost.
    entry = d.state.running["id-1/b"]
    d.send(
        WorkerExited(
            "id-1/b",
            entry.run_id,
            False,
            "no credentials",
            "codex_not_authenticated",
            environment=True,
        )
    )
    assert d.state.outage.failures == 2 and not d.state.running
    assert [c.attempt for c in d.state.candidate_sets["id-1"].candidates.candidates] == [0, 0, 0]
    # After the outage's backoff exactly one run probes.
    out = retry_due(d, "id-1/b")
    assert len(of_type(out, StartWorker)) == 1
    out = retry_due(d, "id-1/a") + d.tick([issue(1)])
    assert not of_type(out, StartWorker)


def test_a_refused_move_to_review_keeps_the_set_and_tries_again_with_backoff() -> None:
    d = started(best_of=2, candidate_max_retries=0)
    d.tick([issue(1)])
    exited(d, "id-1/a", handed_off="done a")
    out = exited(d, "id-1/b", handed_off="done b")
    (judge,) = of_type(out, JudgeCandidates)
    judged = replace(judge.candidates, judged=True)
    out = d.send(CandidatesJudged("id-1", judged, moved=False, error="HTTP 502"))
    assert d.state.is_claimed("id-1")  # no new set at the next poll
    assert starts(d.tick([issue(1)])) == []
    (timer,) = of_type(out, SetRetryTimer)
    assert (timer.issue_id, timer.delay_ms) == ("id-1#review", 10_000)
    (saved,) = of_type(out, SaveCandidates)
    assert not saved.candidates.judged  # a restart judges it again rather than dropping it
    (row,) = snapshot(d).retrying
    assert row.issue_identifier == "MT-1" and row.candidate is None
    assert row.error is not None and "HTTP 502" in row.error and "moving to review" in row.error
    out = retry_due(d, "id-1#review")
    (publish,) = of_type(out, PublishCandidates)
    assert publish.candidates == judged
    out = d.send(CandidatesJudged("id-1", judged, moved=True))
    assert not d.state.is_claimed("id-1") and "id-1" in d.state.parked
    assert of_type(out, SaveCandidates)[0].candidates.judged


def test_a_move_to_review_refused_every_time_holds_the_issue() -> None:
    d = started(best_of=1, candidate_max_retries=0)
    d.tick([issue(1, labels=["best-of:2"])])
    exited(d, "id-1/a", handed_off="done a")
    (judge,) = of_type(exited(d, "id-1/b", error="x"), JudgeCandidates)
    judged = replace(judge.candidates, judged=True)
    out: list[Effect] = []
    for n in range(MAX_PUBLISH_FAILURES):
        out = d.send(CandidatesJudged("id-1", judged, moved=False, error="state not found"))
        if n < MAX_PUBLISH_FAILURES - 1:
            retry_due(d, "id-1#review")
    hold = d.state.holds["id-1"]
    assert hold.reason == "review_move_failed" and "state not found" in hold.message
    assert "by hand" in hold.message
    assert "id-1" not in d.state.candidate_sets and not d.state.is_claimed("id-1")
    assert "id-1" in d.state.parked  # closing it later removes the candidates' workspaces
    assert of_type(out, SaveCandidates)[-1].candidates.judged  # pickable in the Review view
    assert starts(d.tick([issue(1, labels=["best-of:2"])])) == []  # held: no new set


def test_a_restored_candidate_keeps_its_attempts() -> None:
    stored = CandidateSet.start("id-1", "MT-1", 2)
    stored = stored.with_candidate("a", status="pending", attempt=2, error="boom")
    stored = stored.with_candidate("b", status="handed_off", summary="done b")
    d = Driver.create(best_of=2)
    d.send(Restored(open_candidates=(stored,)))
    d.start()
    (start,) = of_type(d.tick([issue(1)]), StartWorker)
    assert start.attempt == 2
    out = exited(d, "id-1/a", error="boom again")  # the third failure: no retry left
    assert not of_type(out, SetRetryTimer) and of_type(out, JudgeCandidates)


def test_a_restored_set_whose_candidates_all_failed_is_retried_as_a_whole() -> None:
    stored = CandidateSet.start("id-1", "MT-1", 1).with_candidate(
        "a", status="failed", error="boom"
    )
    d = Driver.create(best_of=2)
    out = d.send(Restored(open_candidates=(stored,)))
    assert not of_type(out, JudgeCandidates)
    assert of_type(out, AnnounceCandidatesFailed)
    assert "id-1" in d.state.retry_attempts


def test_dropping_a_set_cancels_its_candidates_retries() -> None:
    d = started(best_of=2)
    d.tick([issue(1)])
    exited(d, "id-1/a", error="boom")
    out = d.tick([], running=[issue(1, state="Done")])
    assert CancelRetryTimer("id-1/a") in out
    assert of_type(out, ForgetCandidates) == [ForgetCandidates("id-1")]
    assert snapshot(d).retrying == ()


def test_a_poll_that_read_the_issue_before_its_move_to_review_does_not_start_a_new_set() -> None:
    d = started(best_of=2, candidate_max_retries=0)
    d.tick([issue(1)])
    exited(d, "id-1/a", handed_off="done a")
    (judge,) = of_type(exited(d, "id-1/b", handed_off="done b"), JudgeCandidates)
    d.send(TickDue())
    assert d.state.phase.value == "fetching_candidates"  # the poll reads the tracker ...
    d.send(CandidatesJudged("id-1", judge.candidates, moved=True))  # ... as the issue moves
    out = d.send(CandidatesFetched(d.state.tick_id, (issue(1),)))  # read before the move
    assert starts(out) == []
    assert d.state.moved_mid_poll == set()
