"""GitHub webhooks through the runtime: the real HTTP server, the real GitHub adapter (board mode)
against the schema-checked fake GitHub, fake agents; the poll is 10 minutes away throughout."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from symphony.orchestrator.runtime import OrchestratorRuntime
from symphony.service import create_adapter
from symphony.trackers.github import queries
from symphony.trackers.resolve import resolve_tracker
from symphony.webhooks import MAX_BODY_BYTES
from symphony.workflow.store import WorkflowStore
from tests.support.api import api_client
from tests.support.fake_github import FakeGitHub, load_github_schema, schema_available
from tests.support.fake_github_data import Project
from tests.support.github_webhooks import Delivery, deliver, issues_payload, item_payload
from tests.support.waiting import wait_until

from .fakes import FakeAgents, FakeSession, FakeWorkspaces

SECRET = "gh_wh_runtimeSECRET0123456789abcdef"
TOKEN_ENV = "WEBHOOK_TEST_GITHUB_TOKEN"
SECRET_ENV = "WEBHOOK_TEST_GITHUB_SECRET"
URL = "/api/v1/webhooks/github"
BY_IDS = queries.BY_IDS_OPERATION


async def hold(session: FakeSession, prompt: str, turn: int) -> None:
    """An agent that keeps working until it is stopped."""
    session.emit("notification", message="working")
    await asyncio.Event().wait()


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    if not schema_available():
        pytest.skip("GitHub's published schema is not available")
    fake = FakeGitHub(schema=load_github_schema()).start()
    try:
        yield fake
    finally:
        fake.stop()
    assert not fake.rejected, [f"{r.operation}: {r.errors}" for r in fake.rejected]


@dataclass
class Service:
    runtime: OrchestratorRuntime
    agents: FakeAgents
    client: httpx.AsyncClient
    github: FakeGitHub
    board: Project

    async def post(self, delivery: Delivery) -> httpx.Response:
        return await self.client.post(URL, content=delivery.body, headers=delivery.headers)

    def reads(self) -> int:
        return len(self.github.requests)


@contextlib.asynccontextmanager
async def service(
    tmp_path: Path, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Service]:
    monkeypatch.setenv(TOKEN_ENV, github.token or "")
    monkeypatch.setenv(SECRET_ENV, SECRET)
    board = github.add_project(github.repo.owner, 1)
    workflow = tmp_path / "WORKFLOW.md"
    workflow.write_text(
        f"""---
tracker:
  kind: github
  provider:
    endpoint: {github.url}
    repository: {github.repo.name_with_owner}
    project_owner: {github.repo.owner}
    project_number: 1
    api_key: ${TOKEN_ENV}
    webhook_secret: ${SECRET_ENV}
    request_timeout_ms: 5000
polling:
  interval_ms: 600000
workspace:
  root: workspaces
---
Work on {{{{ issue.identifier }}}}.
""",
        encoding="utf-8",
    )
    agents = FakeAgents()
    agents.default_script = hold
    store = WorkflowStore.open(workflow, resolver=resolve_tracker)
    runtime = OrchestratorRuntime(
        store, workspaces=FakeWorkspaces(), agents=agents.select, adapter_factory=create_adapter
    )
    await runtime.start()
    try:
        async with api_client(runtime, start_timeout_s=10, client_timeout_s=10) as client:
            await wait_until(lambda: runtime.state.last_poll_ms is not None, "the first poll")
            yield Service(runtime, agents, client, github, board)
    finally:
        await runtime.stop()


async def test_a_signed_issues_event_starts_the_agent_without_waiting_for_the_poll(
    tmp_path: Path, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with service(tmp_path, github, monkeypatch) as svc:
        ticks = svc.runtime.state.tick_id
        issue = github.add_issue("Start me at once")  # after the first poll: only a webhook
        github.add_item(svc.board, issue, status="Todo")
        started = time.monotonic()
        response = await svc.post(deliver(SECRET, "issues", issues_payload(github, issue)))
        assert response.status_code == 202, response.text
        assert response.json()["issue_ids"] == [issue.id]
        await wait_until(lambda: len(svc.agents.sessions) == 1, "an agent for the new issue")
        assert time.monotonic() - started < 5
        assert svc.agents.sessions[0].issue.identifier == f"app#{issue.number}"
        assert svc.runtime.state.tick_id == ticks  # no poll was needed
        assert github.operations().count(BY_IDS) == 1

        # Moved out of the active states on the board: the board's item event stops it.
        github.set_status(svc.board, issue, "Done")
        response = await svc.post(
            deliver(SECRET, "projects_v2_item", item_payload(svc.board, issue))
        )
        assert response.status_code == 202, response.text
        await wait_until(lambda: not svc.runtime.state.running, "the agent to be stopped")
        assert svc.runtime.state.tick_id == ticks


async def test_refused_deliveries_change_nothing(
    tmp_path: Path, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with service(tmp_path, github, monkeypatch) as svc:
        issue = github.add_issue("Not yet")
        github.add_item(svc.board, issue, status="Todo")
        state = svc.runtime.state
        reads = svc.reads()

        def refused(response: httpx.Response, status: int, code: str) -> None:
            assert response.status_code == status, response.text
            assert response.json()["error"]["code"] == code
            assert state.next_change_read == 1 and not state.change_waiting
            assert svc.reads() == reads and svc.agents.sessions == []

        refused(
            await svc.post(deliver("not-the-secret", "issues", issues_payload(github, issue))),
            401,
            "invalid_signature",
        )
        big = issues_payload(github, issue)
        big["issue"]["body"] = "x" * MAX_BODY_BYTES
        refused(await svc.post(deliver(SECRET, "issues", big)), 413, "payload_too_large")

        first = deliver(SECRET, "issues", issues_payload(github, issue))
        assert (await svc.post(first)).status_code == 202
        await wait_until(lambda: len(svc.agents.sessions) == 1, "the accepted one's agent")
        reads, before = svc.reads(), state.next_change_read
        renamed = Delivery(first.body, {**first.headers, "X-GitHub-Delivery": "new"})
        for again in (first, renamed):
            response = await svc.post(again)
            assert response.status_code == 401, response.text
            assert response.json()["error"]["code"] == "replayed_delivery"
            assert state.next_change_read == before and svc.reads() == reads
        assert len(svc.agents.sessions) == 1


async def test_events_for_another_repository_or_board_are_ignored(
    tmp_path: Path, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with service(tmp_path, github, monkeypatch) as svc:
        site = github.add_repository(github.repo.owner, "site")
        theirs = github.add_issue("Theirs", repo=site)
        github.add_item(svc.board, theirs, status="Todo")
        response = await svc.post(deliver(SECRET, "issues", issues_payload(github, theirs)))
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "ignored"
        assert github.repo.name_with_owner in response.json()["message"]

        ours = github.add_issue("Ours, on another board")
        other = github.add_project(github.repo.owner, 2)
        github.add_item(other, ours, status="Todo")
        response = await svc.post(deliver(SECRET, "projects_v2_item", item_payload(other, ours)))
        assert response.status_code == 200 and response.json()["status"] == "ignored"
        response = await svc.post(deliver(SECRET, "ping", {"zen": "Keep it logically awesome."}))
        assert response.status_code == 200 and response.json()["status"] == "ignored"
        assert svc.runtime.state.next_change_read == 1
        assert github.operations().count(BY_IDS) == 0 and svc.agents.sessions == []
