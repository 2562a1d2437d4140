"""Worker hosts in the scheduling core (docs/workers.md): host choice, per-host caps, host
health and the ``workers`` rows of the snapshot."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from symphony.core import workers
from symphony.core.effects import RecordRetry, StartWorker
from symphony.core.events import (
    Restored,
    RestoredRetry,
    RetryDue,
    RetryIssueFetched,
    WorkerExited,
)
from symphony.core.snapshot import Instant, build_snapshot
from symphony.core.state import HostHealth, OrchestratorState, RunningEntry
from symphony.view import WorkflowStatus
from symphony.view_json import snapshot_json

from .helpers import Driver, config, issue, of_type

HOSTS = ("worker-a", "worker-b", "worker-c")


def started(**overrides: object) -> Driver:
    d = Driver.create(worker_hosts=HOSTS[:2], **overrides)
    d.start()
    return d


def placed(d: Driver) -> dict[str, str | None]:
    return {e.issue.identifier: e.worker_host for e in d.state.running.values()}


def snapshot_workers(d: Driver) -> list[tuple[str, int, int | None, str, str | None]]:
    snap = build_snapshot(
        d.state,
        Instant(d.now, datetime(2026, 1, 1, tzinfo=UTC)),
        workflow=WorkflowStatus(
            path="WORKFLOW.md", version=1, loaded_at=datetime(2026, 1, 1, tzinfo=UTC)
        ),
        tracker_kind="memory",
    )
    return [(w.host, w.running, w.capacity, w.status, w.error) for w in snap.workers]


def test_without_hosts_every_run_is_local_and_workers_is_empty() -> None:
    d = Driver.create()
    d.start()
    out = d.tick([issue(1)])
    (start,) = of_type(out, StartWorker)
    assert start.worker_host is None
    assert snapshot_workers(d) == []


def test_runs_go_to_the_least_loaded_host_ties_by_config_order() -> None:
    d = started()
    out = d.tick([issue(1), issue(2), issue(3)])
    assert [s.worker_host for s in of_type(out, StartWorker)] == [
        "worker-a",
        "worker-b",
        "worker-a",
    ]
    assert snapshot_workers(d) == [
        ("worker-a", 2, None, "up", None),
        ("worker-b", 1, None, "up", None),
    ]


def test_the_per_host_cap_holds_and_the_issue_waits_without_local_fallback() -> None:
    d = started(max_agents_per_host=1)
    out = d.tick([issue(1), issue(2), issue(3)])
    assert placed(d) == {"MT-1": "worker-a", "MT-2": "worker-b"}
    assert len(of_type(out, StartWorker)) == 2
    assert "id-3" not in d.state.claimed
    assert snapshot_workers(d) == [
        ("worker-a", 1, 1, "up", None),
        ("worker-b", 1, 1, "up", None),
    ]


def test_an_unreachable_host_is_down_for_its_cooldown_and_the_retry_goes_elsewhere() -> None:
    d = started(host_cooldown_ms=60_000, max_retry_backoff_ms=10_000)
    d.tick([issue(1)])
    run = d.state.running["id-1"]
    assert run.worker_host == "worker-a"
    d.send(WorkerExited("id-1", run.run_id, False, "ssh lost", workers.HOST_UNREACHABLE))
    assert snapshot_workers(d)[0] == ("worker-a", 0, None, "down", "ssh lost")
    retry = d.state.retry_attempts["id-1"]
    assert retry.worker_host == "worker-a"
    d.advance(10_000)
    d.send(RetryDue("id-1", retry.token))
    out = d.send(RetryIssueFetched("id-1", retry.token, (issue(1),)))
    (start,) = of_type(out, StartWorker)
    assert start.worker_host == "worker-b"
    # Once the cooldown passed the host takes work again.
    d.advance(49_999)
    assert workers.is_down(d.state, "worker-a", d.now)
    d.advance(1)
    assert not workers.is_down(d.state, "worker-a", d.now)
    assert snapshot_workers(d)[0] == ("worker-a", 0, None, "up", None)
    d.tick([issue(1), issue(2)], running=[issue(1)])
    assert placed(d)["MT-2"] == "worker-a"
    assert d.state.hosts == {}  # the tick forgot the recovered host


def test_a_retry_prefers_its_previous_host_while_it_is_up() -> None:
    d = started(max_retry_backoff_ms=10_000)
    d.tick([issue(1), issue(2)])
    run = d.state.running["id-2"]
    assert run.worker_host == "worker-b"
    d.send(WorkerExited("id-2", run.run_id, False, "turn failed", "turn_failed"))
    retry = d.state.retry_attempts["id-2"]
    d.advance(10_000)
    d.send(RetryDue("id-2", retry.token))
    out = d.send(RetryIssueFetched("id-2", retry.token, (issue(2),)))
    # worker-a has one agent, worker-b none now; least loaded and previous agree: worker-b.
    assert [s.worker_host for s in of_type(out, StartWorker)] == ["worker-b"]
    assert d.state.hosts == {}


def test_a_retry_with_every_host_down_waits_with_no_worker_capacity() -> None:
    d = started(max_retry_backoff_ms=10_000)
    d.state.hosts["worker-b"] = HostHealth(d.now + 600_000, "gone")
    d.tick([issue(1)])
    run = d.state.running["id-1"]
    d.send(WorkerExited("id-1", run.run_id, False, "lost", workers.HOST_UNREACHABLE))
    retry = d.state.retry_attempts["id-1"]
    d.advance(10_000)
    d.send(RetryDue("id-1", retry.token))
    out = d.send(RetryIssueFetched("id-1", retry.token, (issue(1),)))
    assert of_type(out, StartWorker) == []
    again = d.state.retry_attempts["id-1"]
    assert again.error == workers.NO_WORKER_CAPACITY_ERROR
    assert again.worker_host == "worker-a"


def _state(
    hosts: tuple[str, ...], cap: int | None, loads: list[int], down: list[bool]
) -> OrchestratorState:
    state = OrchestratorState(config=config(worker_hosts=hosts, max_agents_per_host=cap))
    n = 0
    for host, count in zip(hosts, loads, strict=True):
        for _ in range(count):
            n += 1
            state.running[f"id-{n}"] = RunningEntry(issue(n), n, None, 0.0, worker_host=host)
    for host, is_down in zip(hosts, down, strict=True):
        if is_down:
            state.hosts[host] = HostHealth(1_000.0, "down")
    return state


@settings(max_examples=200, deadline=None)
@given(
    count=st.integers(1, 4),
    cap=st.one_of(st.none(), st.integers(1, 3)),
    data=st.data(),
)
def test_pick_is_an_up_host_with_room_and_the_least_loaded(
    count: int, cap: int | None, data: st.DataObject
) -> None:
    hosts = tuple(f"h{i}" for i in range(count))
    loads = data.draw(st.lists(st.integers(0, 4), min_size=count, max_size=count))
    down = data.draw(st.lists(st.booleans(), min_size=count, max_size=count))
    preferred = data.draw(st.one_of(st.none(), st.sampled_from(hosts)))
    state = _state(hosts, cap, loads, down)
    choice = workers.pick(state, 500.0, preferred)
    free = [
        h for h, n, d in zip(hosts, loads, down, strict=True) if not d and (cap is None or n < cap)
    ]
    if not free:
        assert choice is None
        return
    assert choice in free
    if preferred in free:
        assert choice == preferred
    else:
        least = min(loads[hosts.index(h)] for h in free)
        assert choice == next(h for h in free if loads[hosts.index(h)] == least)
    # Past every cooldown, down hosts count again.
    assert workers.pick(state, 2_000.0) is not None or cap is not None


def test_a_restored_retry_keeps_its_preferred_host() -> None:
    d = Driver.create(worker_hosts=HOSTS[:2])
    d.send(
        Restored(
            retries=(RestoredRetry("id-1", "MT-1", None, 2, d.now, "failure", "x", "worker-b"),)
        )
    )
    d.start()
    retry = d.state.retry_attempts["id-1"]
    assert retry.worker_host == "worker-b"
    d.send(RetryDue("id-1", retry.token))
    out = d.send(RetryIssueFetched("id-1", retry.token, (issue(1),)))
    assert [s.worker_host for s in of_type(out, StartWorker)] == ["worker-b"]
    # A later retry of that run is recorded with its host, for the next restart.
    run = d.state.running["id-1"]
    out = d.send(WorkerExited("id-1", run.run_id, False, "boom", "turn_failed"))
    (record,) = of_type(out, RecordRetry)
    assert record.worker_host == "worker-b"


def test_the_state_json_has_workers_and_worker_host_on_every_row() -> None:
    d = started(max_agents_per_host=2, host_cooldown_ms=30_000, max_retry_backoff_ms=10_000)
    d.tick([issue(1), issue(2)])
    run = d.state.running["id-1"]
    d.send(WorkerExited("id-1", run.run_id, False, "ssh lost", workers.HOST_UNREACHABLE))
    wall = datetime(2026, 1, 1, tzinfo=UTC)
    snap = snapshot_json(
        build_snapshot(
            d.state,
            Instant(d.now, wall),
            workflow=WorkflowStatus(path="WORKFLOW.md", version=1, loaded_at=wall),
            tracker_kind="memory",
        )
    )
    assert snap["workers"] == [
        {
            "host": "worker-a",
            "running": 0,
            "capacity": 2,
            "status": "down",
            "error": "ssh lost",
            "down_until": "2026-01-01T00:00:30Z",
        },
        {
            "host": "worker-b",
            "running": 1,
            "capacity": 2,
            "status": "up",
            "error": None,
            "down_until": None,
        },
    ]
    assert [r["worker_host"] for r in snap["running"]] == ["worker-b"]
    assert [r["worker_host"] for r in snap["retrying"]] == ["worker-a"]
    local = Driver.create()
    local.start()
    local.tick([issue(1)])
    plain = snapshot_json(
        build_snapshot(
            local.state,
            Instant(local.now, wall),
            workflow=WorkflowStatus(path="WORKFLOW.md", version=1, loaded_at=wall),
            tracker_kind="memory",
        )
    )
    assert plain["workers"] == []
    assert plain["running"][0]["worker_host"] is None
