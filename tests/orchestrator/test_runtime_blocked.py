"""Blocked issues through the real runtime and the real HTTP API (loopback, port 0)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from symphony.issue import BlockerRef, Issue
from symphony.orchestrator.runtime import OrchestratorRuntime
from symphony.trackers.resolve import resolve_tracker
from symphony.workflow.store import WorkflowStore
from tests.support.api import api_client
from tests.support.memory_tracker import MemoryBoard
from tests.support.waiting import wait_until

from .fakes import FakeAgents

START_TIMEOUT_S = 5.0


def todo(n: int, **changes: object) -> Issue:
    base = Issue(
        id=f"id-{n}",
        identifier=f"MT-{n}",
        title=f"Issue {n}",
        state="Todo",
        dispatchable=True,
        labels=("agent",),
        url=f"https://tracker.example/MT-{n}",
        priority=n,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


async def test_blocked_issues_are_visible_in_the_api_until_they_become_eligible(
    write_workflow: Callable[..., Path],
    ws_root: Path,
    board: MemoryBoard,
    agents: FakeAgents,
    make_runtime: Callable[..., OrchestratorRuntime],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="symphony.orchestrator")
    path = write_workflow(
        f"""
tracker:
  kind: memory
  required_labels: [agent]
workspace:
  root: {ws_root}
polling:
  interval_ms: 50
""",
        "Work on {{ issue.identifier }}",
    )
    store = WorkflowStore.open(path, resolver=resolve_tracker)
    blocker = BlockerRef(id="id-9", identifier="MT-9", state="Backlog")
    board.put(todo(1, dispatchable=False, blocked_by=(blocker,)))
    board.put(todo(2, labels=()))
    gate = asyncio.Event()

    async def hold(session: object, prompt: str, turn: int) -> None:
        await asyncio.wait_for(gate.wait(), timeout=10)

    agents.scripts["MT-1"] = hold
    runtime = make_runtime(store)
    await runtime.start()
    async with api_client(runtime, start_timeout_s=START_TIMEOUT_S, client_timeout_s=5.0) as client:
        await wait_until(lambda: runtime.snapshot().counts.blocked == 2)
        state = (await client.get("/api/v1/state")).json()
        assert [
            (r["issue_identifier"], r["reason"], r["blocked_by"]) for r in state["blocked"]
        ] == [
            (
                "MT-1",
                "not dispatchable: blocked by MT-9 (Backlog)",
                [{"identifier": "MT-9", "state": "Backlog"}],
            ),
            ("MT-2", "missing required labels: agent", []),
        ]
        assert state["counts"] == {"running": 0, "retrying": 0, "blocked": 2, "held": 0}
        response = await client.get("/api/v1/MT-1")
        assert response.status_code == 200
        detail = response.json()
        assert detail["status"] == "blocked"
        assert detail["blocked"]["reason"] == "not dispatchable: blocked by MT-9 (Backlog)"
        assert detail["tracked"]["issue_url"] == "https://tracker.example/MT-1"

        # Several more polls see the same thing: one log line per issue, not one per poll.
        ticks = runtime.state.tick_id
        await wait_until(lambda: runtime.state.tick_id >= ticks + 3)
        lines = [r for r in caplog.records if r.getMessage().startswith("issue blocked")]
        assert sorted(r.getMessage().split("issue_identifier=")[1].split()[0] for r in lines) == [
            "MT-1",
            "MT-2",
        ]

        # The blocker is done: the adapter marks MT-1 dispatchable, and it is started.
        board.put(todo(1))
        runtime.request_refresh()
        await wait_until(lambda: runtime.snapshot().counts.running == 1)
        state = (await client.get("/api/v1/state")).json()
        assert [r["issue_identifier"] for r in state["running"]] == ["MT-1"]
        assert [r["issue_identifier"] for r in state["blocked"]] == ["MT-2"]
        assert (await client.get("/api/v1/MT-1")).json()["status"] == "running"

        # MT-2 leaves the active states: its row goes, and the API forgets it.
        board.move("id-2", "Backlog")
        await wait_until(lambda: runtime.snapshot().counts.blocked == 0)
        assert (await client.get("/api/v1/MT-2")).status_code == 404
    gate.set()
