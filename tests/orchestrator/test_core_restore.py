"""The core's rules for durable state (docs/storage.md): what it asks the store to keep, and
what happens to what was kept after a restart (``Restored``)."""

from __future__ import annotations

from symphony.core.effects import (
    CancelRetryTimer,
    ForgetResume,
    ForgetRetry,
    RecordRetry,
    RecordRunEnded,
    RecordRunProgress,
    RecordRunStarted,
    RemoveWorkspaces,
    SetRetryTimer,
    StartWorker,
)
from symphony.core.events import (
    AgentUpdate,
    ConfigChanged,
    Restored,
    RestoredRetry,
    RestoredRun,
    RetryDue,
    RetryIssueFetched,
    ShutdownRequested,
    WorkerExited,
)
from symphony.core.policy import failure_delay_ms
from symphony.core.snapshot import Instant, build_issue_detail, build_snapshot
from symphony.core.state import Resumable, RunRecord
from symphony.view import WorkflowStatus

from .helpers import BASE_TIME, Driver, config, issue, of_type


def retry(n: int, attempt: int, due_ms: float) -> RestoredRetry:
    return RestoredRetry(f"id-{n}", f"MT-{n}", None, attempt, due_ms, "failure", "boom")


def run(run_id: int, outcome: str = "failed", thread: str | None = "thread-1") -> RunRecord:
    return RunRecord(
        run_id=run_id,
        attempt=None,
        started_ms=0.0,
        ended_ms=1_000.0,
        outcome=outcome,
        error=None if outcome == "succeeded" else "it broke",
        thread_id=thread,
        turns=3,
        total_tokens=30,
    )


# --- what the core asks the store to keep ----------------------------------------------------


def test_a_run_is_recorded_when_it_starts_its_agent_once_and_when_it_ends() -> None:
    d = Driver.create()
    d.start()
    out = d.tick([issue(1)])
    [started] = of_type(out, RecordRunStarted)
    assert (started.issue_id, started.attempt, started.started_ms) == ("id-1", None, d.now)
    run_id = started.run_id
    update = AgentUpdate("id-1", run_id, "session_started", "t-1-turn-1", "t-1", "turn-1", "42")
    assert of_type(d.send(update), RecordRunProgress) == [RecordRunProgress(run_id, "42", "t-1")]
    # The same thread and process again: nothing to write, whatever the event.
    again = AgentUpdate("id-1", run_id, "notification", "t-1-turn-1", "t-1", "turn-1", "42")
    assert of_type(d.send(again), RecordRunProgress) == []
    d.advance(2_000)
    out = d.send(WorkerExited("id-1", run_id, ok=False, error="turn failed"))
    [ended] = of_type(out, RecordRunEnded)
    assert ended.run.outcome == "failed" and ended.run.error == "worker exited: turn failed"
    assert (ended.run.thread_id, ended.run.turns, ended.run.session_ids) == (
        "t-1",
        1,
        ("t-1-turn-1",),
    )
    assert not ended.resume
    [saved] = of_type(out, RecordRetry)
    assert (saved.issue_id, saved.attempt, saved.kind) == ("id-1", 1, "failure")
    assert saved.due_ms == d.now + failure_delay_ms(1, 300_000)


def test_outcomes_name_how_each_run_ended() -> None:
    d = Driver.create(stall_timeout_ms=1_000)
    d.start()

    def ended_by(out: list[object]) -> tuple[str, str | None]:
        [ended] = of_type(out, RecordRunEnded)
        return ended.run.outcome, ended.run.error

    d.tick([issue(1)])
    out = d.send(WorkerExited("id-1", d.state.running["id-1"].run_id, ok=True))
    assert ended_by(out) == ("succeeded", None)

    d.tick([issue(2)])
    run_id = d.state.running["id-2"].run_id
    out = d.send(WorkerExited("id-2", run_id, ok=False, error="slow", code="turn_timeout"))
    assert ended_by(out)[0] == "timed_out"

    d.tick([issue(3)])
    d.advance(5_000)
    outcome, error = ended_by(d.tick([], running=[issue(3)]))
    assert outcome == "stalled" and error is not None and "stalled" in error

    d.tick([issue(4)])
    outcome, error = ended_by(d.tick([], running=[issue(4, state="Done")]))
    assert outcome == "canceled" and error == "issue is Done"

    d.tick([issue(5)])
    out = d.send(ShutdownRequested())
    [ended] = of_type(out, RecordRunEnded)
    assert (ended.run.outcome, ended.resume) == ("interrupted", True)
    assert ended.run.error == "service shutting down"


def test_a_shutdown_keeps_the_stored_retries() -> None:
    d = Driver.create()
    d.start()
    d.tick([issue(1)])
    d.send(WorkerExited("id-1", d.state.running["id-1"].run_id, ok=False, error="x"))
    out = d.send(ShutdownRequested())
    assert of_type(out, CancelRetryTimer) and not of_type(out, ForgetRetry)


# --- after a restart -------------------------------------------------------------------------


def test_a_restored_retry_keeps_its_due_time_and_attempt_and_the_next_failure_backs_off() -> None:
    d = Driver.create()
    due = d.now + 7_000
    out = d.send(Restored(retries=(retry(1, 3, due),), next_run_id=40))
    [timer] = of_type(out, SetRetryTimer)
    assert timer.delay_ms == 7_000
    d.start()
    # The poll does not dispatch it early: the retry holds the claim until it is due.
    assert of_type(d.tick([issue(1)]), StartWorker) == []
    d.now = due
    d.send(RetryDue("id-1", timer.token))
    [start] = of_type(d.send(RetryIssueFetched("id-1", timer.token, (issue(1),))), StartWorker)
    assert (start.attempt, start.run_id) == (3, 40)
    out = d.send(WorkerExited("id-1", 40, ok=False, error="again"))
    [saved] = of_type(out, RecordRetry)
    assert saved.attempt == 4 and saved.due_ms == d.now + failure_delay_ms(4, 300_000)


def test_a_retry_due_while_the_service_was_down_fires_at_once() -> None:
    d = Driver.create()
    out = d.send(Restored(retries=(retry(1, 1, d.now - 60_000),)))
    assert [t.delay_ms for t in of_type(out, SetRetryTimer)] == [0.0]


def test_a_cut_short_run_is_dispatched_first_with_its_attempt_and_thread() -> None:
    d = Driver.create(max_concurrent_agents=1)
    resume = Resumable("id-2", "MT-2", 4, "thread-9", "/ws/MT-2")
    d.send(Restored(resumable=(resume,)))
    d.start()
    # MT-1 sorts first by priority; the interrupted run had the slot, so it gets it again.
    out = d.tick([issue(1, priority=1), issue(2, priority=3)])
    [start] = of_type(out, StartWorker)
    assert (start.issue.id, start.attempt, start.resume_thread_id) == ("id-2", 4, "thread-9")
    assert of_type(out, ForgetResume) == [ForgetResume("id-2")]
    assert d.state.resumable == {}
    assert d.state.running["id-2"].resume_thread_id == "thread-9"


def test_a_cut_short_run_the_tracker_no_longer_lists_is_dropped_not_dispatched() -> None:
    d = Driver.create()
    d.send(Restored(resumable=(Resumable("id-2", "MT-2", None, "thread-9", None),)))
    d.start()
    out = d.tick([issue(1)])
    assert [s.issue.id for s in of_type(out, StartWorker)] == ["id-1"]
    assert of_type(out, ForgetResume) == [ForgetResume("id-2")]
    assert d.state.resumable == {}
    # Later the issue is active again: an ordinary first dispatch, a new thread.
    [start] = of_type(d.tick([issue(1), issue(2)]), StartWorker)
    assert (start.issue.id, start.attempt, start.resume_thread_id) == ("id-2", None, None)


def test_a_cut_short_run_waits_for_a_slot_without_holding_a_claim() -> None:
    d = Driver.create(max_concurrent_agents_by_state={"In Progress": 0})
    d.send(Restored(resumable=(Resumable("id-2", "MT-2", 2, "thread-9", None),)))
    d.start()
    busy = issue(2, state="In Progress")
    assert of_type(d.tick([busy]), StartWorker) == []
    assert "id-2" in d.state.resumable and not d.state.is_claimed("id-2")
    d.send(ConfigChanged(config()))
    [start] = of_type(d.tick([busy]), StartWorker)
    assert (start.attempt, start.resume_thread_id) == (2, "thread-9")


def test_a_restored_retry_of_an_issue_closed_meanwhile_is_released_at_startup() -> None:
    d = Driver.create()
    d.send(Restored(retries=(retry(1, 2, d.now + 60_000),)))
    out = d.start(terminal=[issue(1, state="Done")])
    assert of_type(out, ForgetRetry) == [ForgetRetry("id-1")]
    assert of_type(out, CancelRetryTimer) == [CancelRetryTimer("id-1")]
    [removal] = of_type(out, RemoveWorkspaces)
    assert ("id-1", "MT-1") in removal.issues
    assert d.state.retry_attempts == {}


def test_history_and_totals_continue_and_an_issue_known_only_from_history_is_idle() -> None:
    d = Driver.create()
    history = (
        RestoredRun("id-1", "MT-1", "https://t/MT-1", run(3, "failed")),
        RestoredRun("id-1", "MT-1", "https://t/MT-1", run(5, "succeeded")),
    )
    d.send(
        Restored(
            history=history,
            input_tokens=100,
            output_tokens=20,
            total_tokens=120,
            seconds_running=30.0,
            next_run_id=6,
        )
    )
    snapshot = build_snapshot(
        d.state,
        Instant(d.now, BASE_TIME),
        workflow=WorkflowStatus("WORKFLOW.md", 1, BASE_TIME),
        tracker_kind="memory",
    )
    assert snapshot.codex_totals.total_tokens == 120
    assert snapshot.codex_totals.seconds_running == 30.0
    found = build_issue_detail(d.state, "MT-1", Instant(d.now, BASE_TIME), default_workspace=None)
    assert found is not None and found.status == "idle"
    assert [(h.outcome, h.error, h.turns) for h in found.history] == [
        ("failed", "it broke", 3),
        ("succeeded", None, 3),
    ]
    assert found.restart_count == 2
    d.start()
    [start] = of_type(d.tick([issue(1)]), StartWorker)
    assert start.run_id == 6  # run ids stay unique across restarts
    d.send(WorkerExited("id-1", 6, ok=True))
    again = build_issue_detail(d.state, "MT-1", Instant(d.now, BASE_TIME), default_workspace=None)
    assert again is not None and again.status == "retrying" and len(again.history) == 3


def test_restored_state_is_taken_only_before_the_start() -> None:
    d = Driver.create()
    d.start()
    d.send(Restored(retries=(retry(1, 1, d.now),), total_tokens=5))
    assert d.state.retry_attempts == {} and d.state.totals.tokens.total_tokens == 0
