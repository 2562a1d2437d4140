"""The asyncio runtime with fake workspaces/agents and the in-memory tracker, on a fake loop clock
that moves to the next timer whenever a wait polls in vain (`following_clock`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from structlog.contextvars import get_contextvars

from symphony.issue import Issue
from symphony.orchestrator.runtime import OrchestratorRuntime
from symphony.review import ReviewDecision
from symphony.runtime_view import RuntimeChange, RuntimeView
from symphony.storage import StateStore
from symphony.trackers.base import TrackerError
from symphony.view import AgentActivity, Counts, SnapshotChanged
from symphony.workflow.store import Workflow
from tests.support.loop_clock import FakeLoopClock
from tests.support.memory_tracker import MemoryAdapter, MemoryBoard
from tests.support.waiting import wait_until

from .conftest import StoreFactory
from .fakes import FakeAgents, FakeSession, FakeWorkspaces, complete_turn

Make = Callable[..., OrchestratorRuntime]


def todo(n: int, state: str = "Todo", **kw: Any) -> Issue:
    return Issue(
        id=f"id-{n}",
        identifier=f"MT-{n}",
        title=f"Issue {n}",
        state=state,
        dispatchable=True,
        priority=kw.pop("priority", n),
        **kw,
    )


def block_until(gate: asyncio.Event) -> Any:
    async def script(session: FakeSession, prompt: str, turn: int) -> None:
        session.emit("notification", message="working")
        await asyncio.wait_for(gate.wait(), timeout=10)

    return script


async def test_runtime_implements_the_runtime_view_protocol(
    make_store: StoreFactory, make_runtime: Make
) -> None:
    runtime: RuntimeView = make_runtime(make_store())
    assert callable(runtime.snapshot) and callable(runtime.subscribe)


async def test_startup_cleans_terminal_workspaces_and_dispatches_active_issues(
    make_store: StoreFactory,
    make_runtime: Make,
    board: MemoryBoard,
    agents: FakeAgents,
    workspaces: FakeWorkspaces,
    ws_root: Path,
) -> None:
    (ws_root / "MT-9").mkdir(parents=True)
    board.put(todo(9, state="Done"))
    board.put(todo(1))
    gate = asyncio.Event()
    agents.scripts["MT-1"] = block_until(gate)
    runtime = make_runtime(make_store())
    await runtime.start()
    await wait_until(lambda: runtime.snapshot().counts.running == 1)
    assert not (ws_root / "MT-9").exists()
    assert workspaces.calls.index(("remove", "MT-9")) < workspaces.calls.index(("prepare", "MT-1"))
    await wait_until(lambda: runtime.snapshot().running[0].turn_count == 1)
    row = runtime.snapshot().running[0]
    assert row.issue_identifier == "MT-1" and row.last_event == "notification"
    assert row.workspace_path == str(ws_root / "MT-1")
    gate.set()


async def test_terminal_issue_stops_its_agent_before_the_workspace_is_removed(
    make_store: StoreFactory,
    make_runtime: Make,
    board: MemoryBoard,
    agents: FakeAgents,
    workspaces: FakeWorkspaces,
    ws_root: Path,
) -> None:
    issue = board.put(todo(1))
    gate = asyncio.Event()
    agents.scripts["MT-1"] = block_until(gate)
    runtime = make_runtime(make_store())
    await runtime.start()
    await wait_until(lambda: len(agents.live) == 1)
    board.move(issue.id, "Done")
    runtime.request_refresh()
    await wait_until(lambda: ("remove", "MT-1") in workspaces.calls)
    assert agents.sessions[0].stopped
    calls = workspaces.calls
    assert calls.index(("after_run", "MT-1")) < calls.index(("remove", "MT-1"))
    assert not (ws_root / "MT-1").exists()
    assert runtime.snapshot().counts == Counts(running=0, retrying=0, blocked=0)


async def test_non_active_issue_is_stopped_and_its_workspace_kept(
    make_store: StoreFactory,
    make_runtime: Make,
    board: MemoryBoard,
    agents: FakeAgents,
    workspaces: FakeWorkspaces,
    ws_root: Path,
) -> None:
    issue = board.put(todo(1))
    agents.scripts["MT-1"] = block_until(asyncio.Event())
    runtime = make_runtime(make_store())
    await runtime.start()
    await wait_until(lambda: len(agents.live) == 1)
    board.move(issue.id, "Backlog")
    await wait_until(lambda: workspaces.names("after_run") == ["MT-1"])
    assert (ws_root / "MT-1").is_dir() and "remove" not in dict(workspaces.calls)
    assert not runtime.state.is_claimed(issue.id)


async def test_an_issue_moved_to_review_mid_turn_finishes_its_turn_and_hands_off(
    make_store: StoreFactory,
    make_runtime: Make,
    board: MemoryBoard,
    agents: FakeAgents,
    workspaces: FakeWorkspaces,
) -> None:
    issue = board.put(todo(1))
    release = asyncio.Event()
    agents.scripts["MT-1"] = block_until(release)
    runtime = make_runtime(make_store())
    await runtime.start()
    await wait_until(lambda: len(agents.live) == 1)
    board.move(issue.id, "Human Review")  # the agent hands off mid-turn
    runtime.request_refresh()
    await wait_until(lambda: runtime.state.running["id-1"].issue.state == "Human Review")
    assert len(agents.live) == 1  # reconciled, not stopped: the turn goes on
    release.set()
    await wait_until(lambda: workspaces.names("after_run") == ["MT-1"])
    proof = await runtime.proof("MT-1")
    assert proof is not None and proof["turns"] == 1 and proof["verify"] is None
    assert await runtime.proof_diff("MT-1") == ""
    (comment,) = [body for on, body in board.comments if on == "MT-1"]
    assert "## Proof of work" in comment


async def test_stalled_agent_is_killed_and_retried_with_its_claim_kept(
    make_store: StoreFactory,
    make_runtime: Make,
    board: MemoryBoard,
    agents: FakeAgents,
    workspaces: FakeWorkspaces,
) -> None:
    board.put(todo(1))

    async def silent(session: FakeSession, prompt: str, turn: int) -> None:
        await asyncio.sleep(30)

    agents.scripts["MT-1"] = silent
    runtime = make_runtime(make_store("codex:\n  stall_timeout_ms: 200"))
    await runtime.start()
    await wait_until(lambda: runtime.snapshot().counts.retrying == 1)
    retry = runtime.snapshot().retrying[0]
    assert retry.attempt == 1 and retry.error.startswith("stalled for")
    assert 9_000 < retry.due_in_ms <= 10_000
    await wait_until(lambda: workspaces.names("after_run") == ["MT-1"])
    assert agents.sessions[0].stopped
    # Polls keep running (50 ms) but the claimed issue is not dispatched again early.
    ticks = runtime.state.tick_id
    await wait_until(lambda: runtime.state.tick_id >= ticks + 3)
    assert len(agents.sessions) == 1


async def test_a_new_worker_waits_until_the_stopped_one_has_finished(
    make_store: StoreFactory,
    make_runtime: Make,
    board: MemoryBoard,
    agents: FakeAgents,
    workspaces: FakeWorkspaces,
) -> None:
    issue = board.put(todo(1))
    agents.scripts["MT-1"] = block_until(asyncio.Event())
    slow_hook = asyncio.Event()
    workspaces.after_run_gate["MT-1"] = slow_hook
    runtime = make_runtime(make_store())
    await runtime.start()
    await wait_until(lambda: len(agents.live) == 1)
    board.move(issue.id, "Backlog")
    await wait_until(lambda: ("after_run_start", "MT-1") in workspaces.calls)
    board.move(issue.id, "Todo")
    # The core re-dispatches on the next poll, but the old after_run still holds the workspace.
    await wait_until(lambda: runtime.state.running.get(issue.id) is not None)
    ticks = runtime.state.tick_id
    await wait_until(lambda: runtime.state.tick_id >= ticks + 2)
    assert workspaces.names("prepare") == ["MT-1"]
    slow_hook.set()
    await wait_until(lambda: workspaces.names("prepare") == ["MT-1", "MT-1"])
    assert agents.overlaps == []
    second_prepare = [i for i, c in enumerate(workspaces.calls) if c == ("prepare", "MT-1")][1]
    assert workspaces.calls.index(("after_run", "MT-1")) < second_prepare


async def test_normal_exit_continues_after_one_second(
    make_store: StoreFactory,
    make_runtime: Make,
    board: MemoryBoard,
    agents: FakeAgents,
    loop_clock: FakeLoopClock,
) -> None:
    board.put(todo(1))

    async def quarter_second_turn(session: FakeSession, prompt: str, turn: int) -> None:
        loop_clock.advance(0.25)
        await complete_turn(session, prompt, turn)

    agents.default_script = quarter_second_turn
    runtime = make_runtime(make_store("agent:\n  max_turns: 2"))
    await runtime.start()
    await wait_until(lambda: runtime.snapshot().counts.retrying == 1)
    retry = runtime.snapshot().retrying[0]
    assert (retry.attempt, retry.kind, retry.error) == (1, "continuation", None)
    assert agents.sessions[0].prompts[1] == "continue MT-1 turn 2/2"
    await wait_until(lambda: len(agents.sessions) == 2, timeout=5)
    assert runtime.state.completed == {"id-1"}
    totals = runtime.snapshot().codex_totals
    assert totals.total_tokens >= 22 and totals.seconds_running > 0


async def test_worker_failure_becomes_a_backoff_retry(
    make_store: StoreFactory,
    make_runtime: Make,
    board: MemoryBoard,
    workspaces: FakeWorkspaces,
) -> None:
    board.put(todo(1))
    workspaces.fail_before_run.add("MT-1")
    runtime = make_runtime(make_store())
    await runtime.start()
    await wait_until(lambda: runtime.snapshot().counts.retrying == 1)
    retry = runtime.snapshot().retrying[0]
    assert retry.error.startswith("worker exited: before_run hook error")
    assert retry.kind == "failure" and retry.due_in_ms > 9_000
    detail = runtime.issue_detail("MT-1")
    assert detail is not None and detail.status == "retrying"
    assert detail.last_error == retry.error


async def test_refresh_dispatches_promptly_and_coalesces(
    make_store: StoreFactory,
    make_runtime: Make,
    board: MemoryBoard,
    agents: FakeAgents,
) -> None:
    runtime = make_runtime(make_store(poll_ms=600_000))
    await runtime.start()
    await wait_until(lambda: runtime.state.last_poll_ms is not None)
    board.put(todo(1))
    agents.scripts["MT-1"] = block_until(asyncio.Event())
    loop = asyncio.get_running_loop()
    started = loop.time()
    first = runtime.request_refresh()
    second = runtime.request_refresh()
    assert first["queued"] and not first["coalesced"] and second["coalesced"]
    assert first["operations"] == ["poll", "reconcile"]
    await wait_until(lambda: len(agents.sessions) == 1)
    assert loop.time() - started < 0.2


async def test_tracker_errors_are_visible_and_do_not_stop_polling(
    make_store: StoreFactory,
    make_runtime: Make,
    board: MemoryBoard,
    agents: FakeAgents,
) -> None:
    board.fail_next.append(TrackerError("tracker_status", "HTTP 500"))  # startup cleanup
    board.fail_next.append(TrackerError("tracker_status", "HTTP 502"))  # first candidate poll
    runtime = make_runtime(make_store())
    await runtime.start()
    await wait_until(lambda: runtime.snapshot().tracker.error is not None)
    error = runtime.snapshot().tracker.error
    assert error.code == "tracker_status" and error.message == "HTTP 502"
    board.put(todo(1))
    await wait_until(lambda: len(agents.sessions) == 1)
    assert runtime.snapshot().tracker.error is None


async def test_slow_tracker_times_out_into_a_visible_error(
    make_store: StoreFactory,
    make_runtime: Make,
    board: MemoryBoard,
) -> None:
    class StuckTracker(MemoryAdapter):
        async def fetch_issues_by_states(self, state_names: Sequence[str]) -> list[Issue]:
            await asyncio.sleep(60)
            return []

    runtime = make_runtime(
        make_store(), tracker_timeout_s=0.1, adapter_factory=lambda _wf: StuckTracker(board)
    )
    await runtime.start()
    await wait_until(lambda: runtime.snapshot().tracker.error is not None)
    assert runtime.snapshot().tracker.error.code == "tracker_timeout"


async def test_reload_applies_new_limits_and_invalid_reload_pauses_dispatch(
    make_store: StoreFactory,
    make_runtime: Make,
    board: MemoryBoard,
    agents: FakeAgents,
) -> None:
    for n in (1, 2, 3):
        board.put(todo(n))
        agents.scripts[f"MT-{n}"] = block_until(asyncio.Event())
    store = make_store("agent:\n  max_concurrent_agents: 1")
    runtime = make_runtime(store)
    await runtime.start()
    await wait_until(lambda: len(agents.live) == 1)
    text = store.path.read_text()
    store.path.write_text(text.replace("max_concurrent_agents: 1", "max_concurrent_agents: 2"))
    await wait_until(lambda: len(agents.live) == 2)
    assert runtime.snapshot().limits.max_concurrent_agents == 2
    store.path.write_text("---\ntracker: [oops\n---\nbody\n")
    await wait_until(lambda: runtime.snapshot().workflow.error is not None)
    text2 = text.replace("max_concurrent_agents: 1", "max_concurrent_agents: 3")
    ticks = runtime.state.tick_id
    await wait_until(lambda: runtime.state.tick_id >= ticks + 2)
    assert len(agents.live) == 2  # still the last good config, and dispatch is paused
    store.path.write_text(text2)
    await wait_until(lambda: len(agents.live) == 3)
    assert runtime.snapshot().workflow.error is None


async def test_shutdown_stops_every_worker_and_runs_after_run(
    make_store: StoreFactory,
    make_runtime: Make,
    board: MemoryBoard,
    agents: FakeAgents,
    workspaces: FakeWorkspaces,
) -> None:
    for n in (1, 2):
        board.put(todo(n))
        agents.scripts[f"MT-{n}"] = block_until(asyncio.Event())
    runtime = make_runtime(make_store())
    await runtime.start()
    await wait_until(lambda: len(agents.live) == 2)
    await asyncio.wait_for(runtime.stop(), timeout=5)
    assert sorted(workspaces.names("after_run")) == ["MT-1", "MT-2"]
    assert all(s.stopped for s in agents.sessions) and agents.live == set()
    assert runtime.snapshot().counts == Counts(running=0, retrying=0, blocked=0)
    assert not runtime.request_refresh()["queued"]


async def test_listeners_get_snapshots_and_agent_events_and_a_failing_one_is_dropped(
    make_store: StoreFactory,
    make_runtime: Make,
    board: MemoryBoard,
) -> None:
    runtime = make_runtime(make_store())
    seen: list[RuntimeChange] = []
    calls = {"bad": 0}

    def bad(_change: RuntimeChange) -> None:
        calls["bad"] += 1
        raise ValueError("listener bug")

    runtime.subscribe(bad)
    unsubscribe = runtime.subscribe(seen.append)
    board.put(todo(1))
    await runtime.start()
    await wait_until(lambda: any(c.kind == "agent_event" for c in seen))
    assert calls["bad"] == 1
    event = next(c for c in seen if isinstance(c, AgentActivity))
    assert event.issue_identifier == "MT-1" and event.event == "session_started"
    assert any(isinstance(c, SnapshotChanged) and c.snapshot.counts.running == 1 for c in seen)
    unsubscribe()
    count = len(seen)
    runtime.request_refresh()
    await wait_until(lambda: runtime.state.tick_id >= 3)
    assert len(seen) == count


async def test_tracker_kind_change_recreates_the_adapter(
    make_store: StoreFactory,
    make_runtime: Make,
    board: MemoryBoard,
) -> None:
    store = make_store()
    created: list[str] = []

    def counting(workflow: Workflow) -> MemoryAdapter:
        created.append(str(workflow.config.tracker.required_labels))
        return MemoryAdapter(board)

    runtime = make_runtime(store, adapter_factory=counting)
    await runtime.start()
    store.path.write_text(
        store.path.read_text().replace("kind: memory", "kind: memory\n  required_labels: [x]")
    )
    await wait_until(lambda: len(created) == 2)
    assert created == ["()", "('x',)"]
    assert runtime.state.config.required_labels == ("x",)


async def test_issue_detail_unknown_issue_is_none(
    make_store: StoreFactory, make_runtime: Make
) -> None:
    runtime = make_runtime(make_store())
    await runtime.start()
    assert runtime.issue_detail("NOPE-1") is None


async def test_terminal_cleanup_uses_the_recorded_workspace_after_a_root_change(
    make_store: StoreFactory,
    make_runtime: Make,
    board: MemoryBoard,
    agents: FakeAgents,
    workspaces: FakeWorkspaces,
    ws_root: Path,
    tmp_path: Path,
) -> None:
    issue = board.put(todo(1))
    agents.scripts["MT-1"] = block_until(asyncio.Event())
    store = make_store()
    runtime = make_runtime(store)
    await runtime.start()
    await wait_until(lambda: len(agents.live) == 1)
    await wait_until(lambda: runtime.snapshot().running[0].workspace_path is not None)
    new_root = tmp_path / "elsewhere"
    store.path.write_text(store.path.read_text().replace(str(ws_root), str(new_root)))
    await wait_until(lambda: runtime.snapshot().workflow.version == 2)
    board.move(issue.id, "Done")
    await wait_until(lambda: ("remove", "MT-1") in workspaces.calls)
    assert not (ws_root / "MT-1").exists()


async def test_a_worker_cancelled_from_inside_is_reported_as_a_failure(
    make_store: StoreFactory,
    make_runtime: Make,
    board: MemoryBoard,
    agents: FakeAgents,
) -> None:
    board.put(todo(1))

    async def stray_cancel(session: FakeSession, prompt: str, turn: int) -> None:
        raise asyncio.CancelledError

    agents.scripts["MT-1"] = stray_cancel
    runtime = make_runtime(make_store())
    await runtime.start()
    await wait_until(lambda: runtime.snapshot().counts.retrying == 1)
    assert runtime.snapshot().retrying[0].error == "worker exited: worker task was cancelled"


async def test_a_reload_whose_adapter_cannot_be_built_keeps_the_old_one_and_pauses_dispatch(
    make_store: StoreFactory,
    make_runtime: Make,
    board: MemoryBoard,
    agents: FakeAgents,
) -> None:
    store = make_store()

    def factory(workflow: Workflow) -> MemoryAdapter:
        if workflow.config.tracker.required_labels:
            raise TrackerError("invalid_tracker_config", "project not found")
        return MemoryAdapter(board)

    runtime = make_runtime(store, adapter_factory=factory)
    await runtime.start()
    store.path.write_text(
        store.path.read_text().replace("kind: memory", "kind: memory\n  required_labels: [x]")
    )
    await wait_until(lambda: runtime.snapshot().workflow.error is not None)
    error = runtime.snapshot().workflow.error
    assert error.code == "tracker_adapter_error" and "project not found" in error.message
    board.put(todo(1, labels=("x",)))
    ticks = runtime.state.tick_id
    await wait_until(lambda: runtime.state.tick_id >= ticks + 2)
    assert agents.sessions == []
    assert runtime.state.config.required_labels == ()  # still the last good config


async def test_decisions_never_carry_the_log_context_of_the_worker_that_reported(
    make_store: StoreFactory,
    make_runtime: Make,
    board: MemoryBoard,
    agents: FakeAgents,
) -> None:
    # Workers report from inside their issue's log context; the runtime must not decide (and
    # start tasks and timers) in it, or later polls and snapshots would carry that issue.
    contexts: list[tuple[str, dict[str, Any]]] = []

    class Recording(MemoryAdapter):
        async def fetch_issues_by_states(self, states: Sequence[str]) -> Sequence[Issue]:
            contexts.append(("poll", dict(get_contextvars())))
            return await super().fetch_issues_by_states(states)

    def listener(change: RuntimeChange) -> None:
        if isinstance(change, SnapshotChanged):
            contexts.append(("snapshot", dict(get_contextvars())))

    board.put(todo(1))
    agents.scripts["MT-1"] = complete_turn
    runtime = make_runtime(
        make_store("agent:\n  max_turns: 1"), adapter_factory=lambda _wf: Recording(board)
    )
    runtime.subscribe(listener)
    await runtime.start()
    await wait_until(lambda: len(agents.sessions) == 2, timeout=5)  # the continuation retry ran
    ticks = runtime.state.tick_id
    await wait_until(lambda: runtime.state.tick_id >= ticks + 2)
    assert {kind for kind, _ in contexts} == {"poll", "snapshot"}
    assert [(kind, bound) for kind, bound in contexts if bound] == []


async def test_workspace_removal_runs_in_the_issue_log_context(
    make_store: StoreFactory,
    make_runtime: Make,
    board: MemoryBoard,
    agents: FakeAgents,
    workspaces: FakeWorkspaces,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # So the before_remove hook's lines carry the issue, like the hooks of an attempt.
    contexts: list[dict[str, Any]] = []
    remove_path = workspaces.remove_path

    async def recording(path: Path, **kwargs: Any) -> bool:
        contexts.append(dict(get_contextvars()))
        return await remove_path(path, **kwargs)

    monkeypatch.setattr(workspaces, "remove_path", recording)
    issue = board.put(todo(1))
    agents.scripts["MT-1"] = block_until(asyncio.Event())
    runtime = make_runtime(make_store())
    await runtime.start()
    await wait_until(lambda: len(agents.live) == 1)
    board.move(issue.id, "Done")
    runtime.request_refresh()
    await wait_until(lambda: ("remove", "MT-1") in workspaces.calls)
    assert contexts == [{"issue_id": "id-1", "issue_identifier": "MT-1"}]


async def test_best_of_two_candidates_hand_off_and_the_issue_moves_once_with_one_comment(
    make_store: StoreFactory,
    make_runtime: Make,
    board: MemoryBoard,
    agents: FakeAgents,
    workspaces: FakeWorkspaces,
    ws_root: Path,
) -> None:
    issue = board.put(todo(1))
    moves: list[str] = []

    async def hand_off(session: FakeSession, prompt: str, turn: int) -> None:
        refused = await session.call_tool("memory_move", {"state": "Done"})
        moves.append(str(refused.output))
        await session.hand_off("did it")

    agents.scripts["MT-1"] = hand_off
    store = make_store(
        "agent:\n  best_of: 2\n  max_concurrent_agents: 2\nhooks:\n  verify: 'true'",
        "{{ issue.identifier }} as {{ candidate.name }}",
    )
    runtime = make_runtime(store)
    await runtime.start()
    await wait_until(lambda: board.issues[issue.id].state == "Human Review")
    assert sorted(s.prompts[0] for s in agents.sessions) == ["MT-1 as a", "MT-1 as b"]
    assert all(len(s.prompts) == 1 for s in agents.sessions)  # no continuation turn
    assert sorted(workspaces.names("verify")) == ["MT-1.a", "MT-1.b"]
    assert all("symphony_hand_off" in m for m in moves)
    assert [args for name, args in board.calls if name == "move"] == [("id-1", "Human Review")]
    (comment,) = [body for on, body in board.comments if on == "MT-1"]
    assert "Best of 2" in comment
    await wait_until(lambda: runtime.snapshot().counts.running == 0)
    detail = runtime.issue_detail("MT-1")
    assert detail is not None
    rows = {c["name"]: c for c in detail.candidates}
    assert set(rows) == {"a", "b"}
    assert rows["b"]["status"] == "handed_off" and rows["b"]["verify"] == "passed"
    assert rows["b"]["workspace"] == str(ws_root / "MT-1.b")
    assert rows["a"]["summary"] == "did it"

    # Approving needs a candidate; an unknown one is refused; b is picked.
    refused = await runtime.review("MT-1", ReviewDecision("approve"))
    assert refused.status == "no_such_candidate" and "(a, b)" in refused.message
    unknown = await runtime.review("MT-1", ReviewDecision("approve", candidate="c"))
    assert unknown.status == "no_such_candidate" and "no candidate 'c'" in unknown.message
    assert board.issues[issue.id].state == "Human Review"
    outcome = await runtime.review("MT-1", ReviewDecision("approve", candidate="b"))
    assert outcome.status == "accepted" and board.issues[issue.id].state == "Merging"
    await wait_until(lambda: ("remove", "MT-1.a") in workspaces.calls)
    assert ("adopt", "MT-1.b>MT-1") in workspaces.calls
    assert (ws_root / "MT-1").is_dir() and not (ws_root / "MT-1.a").exists()
    assert not (ws_root / "MT-1.b").exists()
    assert "id-1" in runtime._state.picked  # later runs of MT-1 are its one run
    detail = runtime.issue_detail("MT-1")
    assert detail is not None
    assert {c["name"]: c["status"] for c in detail.candidates} == {
        "a": "discarded",
        "b": "chosen",
    }


async def test_best_of_with_a_judge_that_gives_no_ranking_still_goes_to_review(
    make_store: StoreFactory,
    make_runtime: Make,
    board: MemoryBoard,
    agents: FakeAgents,
    ws_root: Path,
) -> None:
    issue = board.put(todo(1))
    prompts: list[str] = []

    async def work(session: FakeSession, prompt: str, turn: int) -> None:
        prompts.append(prompt)
        await session.hand_off("did it")

    agents.scripts["MT-1"] = work
    store = make_store("agent:\n  best_of: 2\n  judge: true")
    runtime = make_runtime(store)
    await runtime.start()
    await wait_until(lambda: board.issues[issue.id].state == "Human Review")
    # Two candidates, then the judge's one turn, which read both candidates.
    assert len(agents.sessions) == 3
    judge_prompt = next(p for p in prompts if "You are judging 2" in p)
    assert "## Candidate a" in judge_prompt and "## Candidate b" in judge_prompt
    (comment,) = [body for on, body in board.comments if on == "MT-1"]
    assert "Ranking: the judge's answer holds no JSON." in comment
    assert not any(p.name.startswith(".judge~") for p in ws_root.iterdir())
    assert (ws_root / "MT-1.a").is_dir() and (ws_root / "MT-1.b").is_dir()
    # Closed without a pick: the candidates' workspaces go while the service runs.
    board.move(issue.id, "Done")
    runtime.request_refresh()
    await wait_until(lambda: not (ws_root / "MT-1.a").exists())
    await wait_until(lambda: not (ws_root / "MT-1.b").exists())


async def test_best_of_candidates_survive_a_restart_and_continue_their_threads(
    make_store: StoreFactory,
    make_runtime: Make,
    board: MemoryBoard,
    agents: FakeAgents,
    tmp_path: Path,
) -> None:
    issue = board.put(todo(1))
    gate = asyncio.Event()

    async def a_finishes_b_waits(session: FakeSession, prompt: str, turn: int) -> None:
        if "as a" in prompt:
            await session.hand_off("a done")
        elif session.resume_thread_id is None:
            await asyncio.wait_for(gate.wait(), timeout=10)  # b is cut short by the stop
        else:
            await session.hand_off("b done")

    agents.scripts["MT-1"] = a_finishes_b_waits
    workflow = ("agent:\n  best_of: 2", "{{ issue.identifier }} as {{ candidate.name }}")
    path = tmp_path / "state.sqlite"
    store = StateStore.open(path)
    runtime = make_runtime(make_store(*workflow), storage=store)
    await runtime.start()

    def statuses(view: OrchestratorRuntime) -> dict[str, str]:
        detail = view.issue_detail("MT-1")
        return {c["name"]: c["status"] for c in detail.candidates} if detail else {}

    await wait_until(lambda: statuses(runtime) == {"a": "handed_off", "b": "running"})
    b_thread = agents.sessions[-1].thread_id
    await asyncio.wait_for(runtime.stop(), timeout=5)
    store.close()

    again = StateStore.open(path)
    restarted = make_runtime(make_store(*workflow), storage=again)
    await restarted.start()
    try:
        await wait_until(lambda: board.issues[issue.id].state == "Human Review")
        resumed = agents.sessions[-1]
        assert resumed.resume_thread_id == b_thread  # b went on where it stopped
        assert len([s for s in agents.sessions if "as a" in s.prompts[0]]) == 1  # a did not
        assert statuses(restarted) == {"a": "handed_off", "b": "handed_off"}
        assert len([body for on, body in board.comments if on == "MT-1"]) == 1
    finally:
        await restarted.stop()
        again.close()
