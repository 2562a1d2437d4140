"""A big Linear board still dispatches within one poll: the runtime, the Linear adapter and the
fake Linear (every page checked against the schema and the complexity limit), agents faked."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from symphony.core.state import Phase
from symphony.orchestrator.runtime import OrchestratorRuntime
from symphony.trackers.linear import PROFILE, queries
from symphony.trackers.resolve import resolve_tracker
from symphony.workflow.store import WorkflowStore
from tests.orchestrator.fakes import FakeAgents, FakeSession, FakeWorkspaces
from tests.support.fake_linear import FakeLinear
from tests.support.waiting import wait_until

BLOCKED = 9_998
OPEN = 2  # unblocked Todo issues; the blocker itself, In Progress, is the third eligible one


@pytest.fixture
async def runtime(
    linear: FakeLinear, write_workflow: Callable[..., Path], tmp_path: Path
) -> AsyncIterator[OrchestratorRuntime]:
    path = write_workflow(
        f"""
tracker:
  kind: linear
  provider:
    endpoint: {linear.url}
    project_slug: {linear.project_slug}
    api_key: {linear.api_key}
workspace:
  root: {tmp_path / "workspaces"}
polling:
  interval_ms: 3600000
agent:
  max_concurrent_agents: 10
"""
    )
    store = WorkflowStore.open(path, resolver=resolve_tracker)
    agents = FakeAgents()

    async def keep_working(session: FakeSession, prompt: str, turn: int) -> None:
        await asyncio.Event().wait()  # ends when the runtime stops the agent

    agents.default_script = keep_working
    runtime = OrchestratorRuntime(
        store,
        workspaces=FakeWorkspaces(),
        agents=agents.select,
        adapter_factory=lambda wf: PROFILE.create(
            wf.config.tracker, workflow_dir=wf.path.parent, environ={}
        ),
    )
    yield runtime
    await runtime.stop()


async def test_a_board_of_10001_active_issues_dispatches_its_three_eligible_ones_in_one_poll(
    linear: FakeLinear, runtime: OrchestratorRuntime
) -> None:
    blocker = linear.add_issue("The one open blocker", state="In Progress")
    eligible = {blocker.identifier}
    for n in range(BLOCKED + OPEN):
        issue = linear.add_issue(f"Issue {n}")
        if n % (BLOCKED // OPEN + 1) == 0 and len(eligible) <= OPEN:
            eligible.add(issue.identifier)  # spread through the board, not all on page one
        else:
            linear.add_blocker(issue, blocker)
    assert len(eligible) == OPEN + 1

    await runtime.start()
    state = runtime.state
    await wait_until(
        lambda: state.tick_id == 1 and state.phase is Phase.IDLE, "one poll", timeout=60
    )
    assert {e.issue.identifier for e in state.running.values()} == eligible
    snapshot = runtime.snapshot()
    assert snapshot.counts.blocked == BLOCKED
    assert snapshot.tracker.error is None
    # One walk of the board, 250 issues a page, with no follow-ups (no issue has more than a
    # page's worth of labels or relations): the first page whole, the rest as summaries.
    walked = [
        r.operation
        for r in linear.requests
        if r.operation in (queries.CANDIDATES_OPERATION, queries.SUMMARIES_OPERATION)
        and "Todo" in r.variables["stateNames"]
    ]
    pages = -(-(BLOCKED + OPEN + 1) // queries.PAGE_SIZE)
    assert walked == [queries.CANDIDATES_OPERATION] + [queries.SUMMARIES_OPERATION] * (pages - 1)
