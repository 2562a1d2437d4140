"""Agent updates, token/runtime accounting and the snapshot shape (SPEC §13.3, §13.5, §17.4)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from symphony.core.events import AgentUpdate, WorkerExited, WorkerInfo
from symphony.core.snapshot import Instant, build_issue_detail, build_snapshot
from symphony.core.tokens import counted_growth
from symphony.usage import TokenUsage, read_counts
from symphony.view import WorkflowStatus
from symphony.view_json import issue_detail_json, snapshot_json

from .helpers import Driver, issue

WALL = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
WORKFLOW = WorkflowStatus(path="WORKFLOW.md", version=1, loaded_at=WALL)


def with_running(*ids: int) -> Driver:
    d = Driver.create()
    d.start()
    d.tick([issue(i) for i in ids])
    return d


def update(d: Driver, issue_id: str = "id-1", **fields: object) -> None:
    run = d.state.running[issue_id].run_id
    d.send(AgentUpdate(issue_id, run, **fields))  # type: ignore[arg-type]


def snapshot(d: Driver) -> dict[str, Any]:
    """The snapshot as the API renders it."""
    snap = build_snapshot(d.state, Instant(d.now, WALL), workflow=WORKFLOW, tracker_kind="memory")
    return snapshot_json(snap)


def detail(d: Driver, identifier: str, default_workspace: str | None) -> dict[str, Any] | None:
    """The issue detail as the API renders it."""
    found = build_issue_detail(
        d.state, identifier, Instant(d.now, WALL), default_workspace=default_workspace
    )
    return issue_detail_json(found) if found is not None else None


def test_absolute_thread_totals_are_counted_once() -> None:
    d = with_running(1)
    usage = TokenUsage(input_tokens=10, output_tokens=1, total_tokens=11)
    update(d, event="token_usage", thread_id="t1", usage=usage)
    update(d, event="token_usage", thread_id="t1", usage=usage)  # repeated report
    update(
        d,
        event="token_usage",
        thread_id="t1",
        usage=TokenUsage.from_mapping({"inputTokens": 12, "outputTokens": "2", "totalTokens": 14}),
    )
    update(d, event="token_usage", thread_id="t1", usage=TokenUsage(total_tokens=13))  # late
    entry = d.state.running["id-1"]
    assert entry.tokens.to_dict() == {"input_tokens": 12, "output_tokens": 2, "total_tokens": 14}
    assert d.state.totals.tokens.total_tokens == 14


def test_totals_accumulate_across_workers_and_survive_exit() -> None:
    d = with_running(1, 2)
    update(d, "id-1", event="token_usage", thread_id="a", usage=TokenUsage(total_tokens=100))
    update(d, "id-2", event="token_usage", thread_id="b", usage=TokenUsage(total_tokens=50))
    d.send(WorkerExited("id-1", d.state.running["id-1"].run_id, ok=True))
    assert d.state.totals.tokens.total_tokens == 150


def test_a_new_thread_counts_from_zero() -> None:
    d = with_running(1)
    update(d, event="token_usage", thread_id="a", usage=TokenUsage(total_tokens=100))
    update(d, event="token_usage", thread_id="b", usage=TokenUsage(total_tokens=30))
    assert d.state.running["id-1"].tokens.total_tokens == 130


def test_usage_extraction_is_lenient_but_ignores_garbage() -> None:
    assert read_counts({"prompt_tokens": 3, "completion_tokens": 4, "total": 7}) == {
        "input_tokens": 3,
        "output_tokens": 4,
        "total_tokens": 7,
    }
    assert read_counts({"input_tokens": -1, "output_tokens": "x", "total_tokens": True}) == {}
    assert read_counts({"input_tokens": 2.0}) == {"input_tokens": 2}


def test_repeated_and_late_updates_add_nothing() -> None:
    reported = TokenUsage()
    first = TokenUsage(input_tokens=100, output_tokens=20, total_tokens=120)
    second = TokenUsage(input_tokens=200, output_tokens=40, total_tokens=240)
    delta, reported = counted_growth(reported, first)
    assert delta == first
    delta, reported = counted_growth(reported, first)
    assert delta.is_zero
    delta, reported = counted_growth(reported, second)
    assert delta == TokenUsage(input_tokens=100, output_tokens=20, total_tokens=120)
    delta, reported = counted_growth(reported, first)
    assert delta.is_zero  # arrived late: totals never go back
    assert reported == second


@given(
    st.lists(
        st.tuples(st.integers(0, 10**9), st.integers(0, 10**9), st.integers(0, 10**9)),
        max_size=30,
    )
)
def test_sum_of_deltas_is_the_high_water_mark(updates: list[tuple[int, int, int]]) -> None:
    reported = TokenUsage()
    summed = TokenUsage()
    peak = TokenUsage()
    for inp, out, total in updates:
        totals = TokenUsage(input_tokens=inp, output_tokens=out, total_tokens=total)
        delta, reported = counted_growth(reported, totals)
        summed = summed + delta
        peak = peak.high_water(totals)
    assert summed == peak == reported


def test_session_started_counts_turns_and_updates_live_fields() -> None:
    d = with_running(1)
    update(
        d, event="session_started", session_id="th-tu1", thread_id="th", turn_id="tu1", pid="4242"
    )
    update(d, event="notification", session_id="th-tu1", message="working")
    update(d, event="session_started", session_id="th-tu2", thread_id="th", turn_id="tu2")
    entry = d.state.running["id-1"]
    assert (entry.turn_count, entry.session_id, entry.pid, entry.turn_id) == (
        2,
        "th-tu2",
        "4242",
        "tu2",
    )
    assert entry.last_event == "session_started"


def test_latest_rate_limits_are_kept() -> None:
    d = with_running(1)
    update(d, event="rate_limits", rate_limits={"limitId": "codex", "primary": {"usedPercent": 5}})
    update(d, event="rate_limits", rate_limits={"limitId": "codex", "primary": {"usedPercent": 9}})
    assert snapshot(d)["rate_limits"] == {"limitId": "codex", "primary": {"usedPercent": 9}}


def test_updates_for_a_stale_run_are_ignored() -> None:
    d = with_running(1)
    d.send(AgentUpdate("id-1", 999, "token_usage", usage=TokenUsage(total_tokens=5)))
    assert d.state.totals.tokens.total_tokens == 0


def test_long_messages_are_truncated() -> None:
    d = with_running(1)
    update(d, event="notification", message="x" * 5_000)
    message = d.state.running["id-1"].last_message
    assert message is not None and len(message) == 500


def test_snapshot_has_running_rows_retry_rows_totals_and_live_runtime() -> None:
    d = with_running(1, 2)
    update(
        d,
        event="session_started",
        session_id="th-tu",
        thread_id="th",
        turn_id="tu",
        usage=TokenUsage(input_tokens=5, output_tokens=2, total_tokens=7),
    )
    d.send(
        WorkerInfo(
            "id-1",
            d.state.running["id-1"].run_id,
            "/ws/MT-1",
            (("latest", "/logs/MT-1/latest.log"),),
        )
    )
    d.advance(4_000)
    d.send(WorkerExited("id-2", d.state.running["id-2"].run_id, ok=False, error="boom"))
    d.advance(1_000)
    snap = snapshot(d)
    assert snap["counts"] == {"running": 1, "retrying": 1, "blocked": 0, "held": 0}
    row = snap["running"][0]
    assert row["issue_identifier"] == "MT-1" and row["turn_count"] == 1
    assert row["session_id"] == "th-tu" and row["issue_url"] == "https://tracker.example/MT-1"
    assert row["tokens"] == {"input_tokens": 5, "output_tokens": 2, "total_tokens": 7}
    assert row["started_at"] == "2026-03-01T11:59:55Z"
    assert row["workspace_path"] == "/ws/MT-1"
    assert row["agent_kind"] == "codex"  # SchedulerConfig's default agent.kind
    retry = snap["retrying"][0]
    assert retry["issue_identifier"] == "MT-2" and retry["attempt"] == 1
    assert retry["due_in_ms"] == 9_000 and retry["due_at"] == "2026-03-01T12:00:09Z"
    assert retry["error"] == "worker exited: boom" and retry["kind"] == "failure"
    # 4 s for the ended MT-2 plus 5 s for the live MT-1 (live sessions count too).
    assert snap["codex_totals"] == {
        "input_tokens": 5,
        "output_tokens": 2,
        "total_tokens": 7,
        "seconds_running": 9.0,
        "cost_usd": 0.0,  # no model reported, so no price applies
    }
    assert snap["polling"]["checking"] is False
    assert snap["tracker"]["kind"] == "memory"


def test_issue_detail_for_running_retrying_and_unknown_issues() -> None:
    d = with_running(1, 2)
    run1 = d.state.running["id-1"].run_id
    d.send(WorkerInfo("id-1", run1, "/ws/MT-1", (("latest", "/logs/MT-1/latest.log"),)))
    update(d, event="notification", message="Working on tests")
    d.send(WorkerExited("id-2", d.state.running["id-2"].run_id, ok=False, error="boom"))
    running = detail(d, "MT-1", default_workspace=None)
    assert running is not None
    assert running["status"] == "running" and running["workspace"] == {"path": "/ws/MT-1"}
    assert running["logs"]["codex_session_logs"] == [
        {"label": "latest", "path": "/logs/MT-1/latest.log", "url": None}
    ]
    assert running["recent_events"][-1]["message"] == "Working on tests"
    retrying = detail(d, "MT-2", default_workspace="/ws/MT-2")
    assert retrying is not None and retrying["status"] == "retrying"
    assert retrying["retry"]["attempt"] == 1 and retrying["last_error"] == "worker exited: boom"
    assert retrying["attempts"] == {"restart_count": 1, "current_retry_attempt": 1}
    assert detail(d, "MT-404", default_workspace=None) is None
