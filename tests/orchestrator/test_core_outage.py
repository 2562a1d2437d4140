"""Agents that cannot start on this machine (``core.outage``): the problem is kept once,
dispatch backs off as a whole, one run probes, and a started session ends it."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from symphony.core.effects import Effect, Log, SetRetryTimer, StartWorker
from symphony.core.events import (
    AgentUpdate,
    ConfigChanged,
    RetryDue,
    RetryIssueFetched,
    WorkerExited,
)
from symphony.core.snapshot import Instant, build_snapshot
from symphony.view import WorkflowStatus
from symphony.view_json import snapshot_json

from .helpers import BASE_TIME, Driver, config, issue, of_type

NOT_LOGGED_IN = "agent session startup error: [codex_not_authenticated] Codex has no credentials"


def started(effects: list[Effect]) -> list[str]:
    return [s.issue.id for s in of_type(effects, StartWorker)]


def fail_setup(d: Driver, issue_id: str) -> list[Effect]:
    entry = d.state.running[issue_id]
    event = WorkerExited(
        issue_id, entry.run_id, False, NOT_LOGGED_IN, "codex_not_authenticated", environment=True
    )
    return d.send(event)


def warnings(effects: list[Effect]) -> list[str]:
    return [e.message for e in effects if isinstance(e, Log) and e.level >= logging.WARNING]


def outage_driver() -> Driver:
    d = Driver.create(max_concurrent_agents=5)
    d.start()
    assert started(d.tick([issue(1), issue(2), issue(3)])) == ["id-1", "id-2", "id-3"]
    return d


def test_the_problem_is_kept_once_and_retry_rows_point_at_it() -> None:
    d = outage_driver()
    first = fail_setup(d, "id-1")
    assert warnings(first) == ["agents cannot start, dispatch paused"]
    rest = fail_setup(d, "id-2") + fail_setup(d, "id-3")
    assert warnings(rest) == []  # said once, not once per issue
    outage = d.state.outage
    assert outage is not None and outage.code == "codex_not_authenticated"
    assert outage.message == NOT_LOGGED_IN and outage.failures == 3
    errors = {r.error for r in d.state.retry_attempts.values()}
    assert errors == {
        "waiting: agents cannot start [codex_not_authenticated] (see the agent problem)"
    }


def test_no_dispatch_until_the_backoff_then_exactly_one_probe() -> None:
    d = outage_driver()
    fail_setup(d, "id-1")
    fail_setup(d, "id-2")
    fail_setup(d, "id-3")
    assert started(d.tick([issue(4), issue(5)])) == []
    assert d.state.outage is not None
    d.advance(d.state.outage.retry_ms - d.now)
    probe = d.tick([issue(4), issue(5)])
    assert started(probe) == ["id-4"]  # one run tries again, not every candidate
    assert started(d.tick([issue(5)])) == []
    # It fails the same way: the backoff grows (10 s, 20 s, 40 s, 80 s for the 4th failure).
    before = d.now
    fail_setup(d, "id-4")
    assert d.state.outage.failures == 4
    assert d.state.outage.retry_ms - before == 80_000
    assert started(d.tick([issue(5)])) == []


def test_a_due_retry_waits_with_the_pointer_and_may_be_the_probe() -> None:
    d = outage_driver()
    fail_setup(d, "id-1")
    [timer] = of_type(d.log, SetRetryTimer)[-1:]
    d.send(RetryDue("id-1", timer.token))
    out = d.send(RetryIssueFetched("id-1", timer.token, (issue(1),)))
    # Fired early (before the outage's backoff ended): it waits again, pointing at the problem.
    assert d.now < d.state.outage.retry_ms
    assert started(out) == []
    waiting = d.state.retry_attempts["id-1"]
    assert "agents cannot start" in (waiting.error or "")
    # It looks again when the next probe may start, and waiting is not another failure.
    assert waiting.due_ms == d.state.outage.retry_ms and waiting.attempt == 1
    d.advance(d.state.outage.retry_ms - d.now)
    [timer] = of_type(d.log, SetRetryTimer)[-1:]
    d.send(RetryDue("id-1", timer.token))
    out = d.send(RetryIssueFetched("id-1", timer.token, (issue(1),)))
    assert started(out) == ["id-1"]
    assert d.state.outage.probe_run == d.state.running["id-1"].run_id


def test_a_started_session_ends_the_outage_and_dispatch_resumes() -> None:
    d = outage_driver()
    fail_setup(d, "id-1")
    d.advance(d.state.outage.retry_ms - d.now)
    assert started(d.tick([issue(4), issue(5)])) == ["id-4"]
    entry = d.state.running["id-4"]
    out = d.send(AgentUpdate("id-4", entry.run_id, "session_started", session_id="t-1"))
    assert d.state.outage is None
    assert [e.message for e in of_type(out, Log)] == ["agents start again, dispatch resumed"]
    assert started(d.tick([issue(5)])) == ["id-5"]


def test_a_probe_that_fails_otherwise_ends_the_outage() -> None:
    d = outage_driver()
    fail_setup(d, "id-1")
    d.advance(d.state.outage.retry_ms - d.now)
    started(d.tick([issue(4)]))
    # Another run, started before the outage, failing otherwise proves nothing.
    d.send(WorkerExited("id-2", d.state.running["id-2"].run_id, False, "turn failed"))
    assert d.state.outage is not None
    d.send(WorkerExited("id-4", d.state.running["id-4"].run_id, False, "response timeout"))
    assert d.state.outage is None
    assert d.state.retry_attempts["id-4"].error == "worker exited: response timeout"
    assert started(d.tick([issue(5)])) == ["id-5"]


def test_a_probe_stopped_by_reconciliation_lets_another_try() -> None:
    d = outage_driver()
    fail_setup(d, "id-1")
    d.advance(d.state.outage.retry_ms - d.now)
    started(d.tick([issue(4)]))
    # The probe's issue left the active states: it is stopped without an answer.
    moved = issue(4, state="Done")
    others = [d.state.running[i].issue for i in ("id-2", "id-3")]
    out = d.tick([issue(5)], running=[moved, *others])
    assert "id-4" not in d.state.running
    # The same tick lets the next candidate try instead.
    assert started(out) == ["id-5"]
    assert d.state.outage is not None
    assert d.state.outage.probe_run == d.state.running["id-5"].run_id


def test_a_reload_lets_the_next_tick_probe_at_once() -> None:
    d = outage_driver()
    fail_setup(d, "id-1")
    assert started(d.tick([issue(4)])) == []
    d.send(ConfigChanged(config(max_concurrent_agents=5)))
    assert started(d.tick([issue(4)])) == ["id-4"]


def test_an_issue_failure_is_not_an_outage() -> None:
    d = outage_driver()
    entry = d.state.running["id-1"]
    out = d.send(WorkerExited("id-1", entry.run_id, False, "turn failed", "turn_failed"))
    assert d.state.outage is None and warnings(out) == ["agent run failed"]
    assert d.state.retry_attempts["id-1"].error == "worker exited: turn failed"


def test_the_snapshot_shows_the_agent_problem() -> None:
    d = outage_driver()
    fail_setup(d, "id-1")
    instant = Instant(d.now, BASE_TIME)
    status = WorkflowStatus(
        path="WORKFLOW.md", version=1, loaded_at=datetime(2026, 1, 1, tzinfo=UTC)
    )
    body = snapshot_json(build_snapshot(d.state, instant, workflow=status, tracker_kind="memory"))
    problem = body["agent_problem"]
    assert problem["code"] == "codex_not_authenticated"
    assert problem["message"] == NOT_LOGGED_IN and problem["failures"] == 1
    assert problem["since"] is not None and problem["next_attempt_at"] is not None
    d.send(AgentUpdate("id-2", d.state.running["id-2"].run_id, "session_started", session_id="s"))
    body = snapshot_json(build_snapshot(d.state, instant, workflow=status, tracker_kind="memory"))
    assert body["agent_problem"] is None
