"""Tracker webhooks through the runtime: the real HTTP server, the real Linear adapter against
the schema-checked fake Linear, fake agents; the poll is 10 minutes away throughout."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from symphony.orchestrator.runtime import OrchestratorRuntime
from symphony.service import create_adapter
from symphony.trackers.resolve import resolve_tracker
from symphony.webhooks import MAX_BODY_BYTES
from symphony.workflow.store import WorkflowStore
from tests.support.api import api_client
from tests.support.fake_linear import (
    FakeLinear,
)
from tests.support.linear_webhooks import Delivery, comment_payload, deliver, issue_payload, sign
from tests.support.waiting import wait_until

from .fakes import FakeAgents, FakeSession, FakeWorkspaces

SECRET = "lin_wh_runtimeSECRET0123456789abcdef"
KEY_ENV = "WEBHOOK_TEST_LINEAR_KEY"
SECRET_ENV = "WEBHOOK_TEST_LINEAR_SECRET"
URL = "/api/v1/webhooks/linear"
BY_IDS = "SymphonyIssuesById"
PROMPT = "Work on {{ issue.identifier }}.\n"


async def hold(session: FakeSession, prompt: str, turn: int) -> None:
    """An agent that keeps working until it is stopped."""
    session.emit("notification", message="working")
    await asyncio.Event().wait()


@dataclass
class Service:
    runtime: OrchestratorRuntime
    agents: FakeAgents
    client: httpx.AsyncClient
    linear: FakeLinear

    async def post(self, delivery: Delivery) -> httpx.Response:
        return await self.client.post(URL, content=delivery.body, headers=delivery.headers)

    def reads(self) -> int:
        return len(self.linear.requests)


def front_matter(
    tracker: str, linear: FakeLinear, *, secret: bool = True, prompt: str = PROMPT
) -> str:
    if tracker == "local":
        provider = ""
    else:
        provider = f"""
  provider:
    endpoint: {linear.url}
    project_slug: {linear.project_slug}
    api_key: ${KEY_ENV}
    request_timeout_ms: 5000"""
        if secret:
            provider += f"\n    webhook_secret: ${SECRET_ENV}"
    return f"""---
tracker:
  kind: {tracker}{provider}
polling:
  interval_ms: 600000
workspace:
  root: workspaces
---
{prompt}"""


@contextlib.asynccontextmanager
async def service(
    tmp_path: Path,
    linear: FakeLinear,
    monkeypatch: pytest.MonkeyPatch,
    *,
    tracker: str = "linear",
    secret: bool = True,
    prompt: str = PROMPT,
) -> AsyncIterator[Service]:
    monkeypatch.setenv(KEY_ENV, linear.api_key or "")
    monkeypatch.setenv(SECRET_ENV, SECRET)
    workflow = tmp_path / "WORKFLOW.md"
    workflow.write_text(
        front_matter(tracker, linear, secret=secret, prompt=prompt), encoding="utf-8"
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
            yield Service(runtime, agents, client, linear)
    finally:
        await runtime.stop()


async def test_a_signed_webhook_starts_the_agent_without_waiting_for_the_poll(
    tmp_path: Path, linear: FakeLinear, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with service(tmp_path, linear, monkeypatch) as svc:
        ticks = svc.runtime.state.tick_id
        issue = linear.add_issue("Start me at once")  # after the first poll: only a webhook
        started = time.monotonic()
        response = await svc.post(deliver(SECRET, issue_payload(linear, issue, action="create")))
        assert response.status_code == 202, response.text
        assert response.json()["issue_ids"] == [issue.id]
        await wait_until(lambda: len(svc.agents.sessions) == 1, "an agent for the new issue")
        assert time.monotonic() - started < 5
        assert svc.agents.sessions[0].issue.identifier == issue.identifier
        assert svc.runtime.state.tick_id == ticks  # no poll was needed
        assert linear.operations().count(BY_IDS) == 1

        # The agent's issue leaves the active states (not for review, where its turn would
        # finish first): the next webhook stops it at once.
        linear.move(issue, "Backlog")
        response = await svc.post(deliver(SECRET, issue_payload(linear, issue)))
        assert response.status_code == 202, response.text
        await wait_until(lambda: not svc.runtime.state.running, "the agent to be stopped")
        assert issue.id in svc.runtime.state.parked
        assert svc.runtime.state.tick_id == ticks


async def test_refused_deliveries_change_nothing(
    tmp_path: Path, linear: FakeLinear, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with service(tmp_path, linear, monkeypatch) as svc:
        issue = linear.add_issue("Not yet")
        state = svc.runtime.state
        reads = svc.reads()
        now = time.time() * 1000

        def refused(response: httpx.Response, status: int, code: str) -> None:
            assert response.status_code == status, response.text
            assert response.json()["error"]["code"] == code
            # Decided before the answer: no targeted read was asked for, nothing was sent.
            assert state.next_change_read == 1 and not state.change_waiting
            assert svc.reads() == reads and svc.agents.sessions == []

        wrong = deliver("not-the-secret", issue_payload(linear, issue))
        refused(await svc.post(wrong), 401, "invalid_signature")
        unsigned = deliver(SECRET, issue_payload(linear, issue))
        del unsigned.headers["Linear-Signature"]
        refused(await svc.post(unsigned), 401, "invalid_signature")
        old = deliver(SECRET, issue_payload(linear, issue, timestamp_ms=now - 120_000))
        refused(await svc.post(old), 401, "stale_webhook")
        big = issue_payload(linear, issue)
        big["data"]["description"] = "x" * MAX_BODY_BYTES
        refused(await svc.post(deliver(SECRET, big)), 413, "payload_too_large")
        garbled = deliver(SECRET, {})
        garbled = Delivery(
            b"{not json", {**garbled.headers, "Linear-Signature": sign(SECRET, b"{not json")}
        )
        refused(await svc.post(garbled), 400, "invalid_json")

        # Accepted once, then the same delivery again, or its body under a new delivery id.
        first = deliver(SECRET, issue_payload(linear, issue))
        assert (await svc.post(first)).status_code == 202
        await wait_until(lambda: len(svc.agents.sessions) == 1, "the accepted one's agent")
        reads, state = svc.reads(), svc.runtime.state
        before = state.next_change_read
        for again in (first, Delivery(first.body, {**first.headers, "Linear-Delivery": "new"})):
            response = await svc.post(again)
            assert response.status_code == 401, response.text
            assert response.json()["error"]["code"] == "replayed_delivery"
            assert state.next_change_read == before and svc.reads() == reads
        assert len(svc.agents.sessions) == 1


async def test_events_outside_the_project_or_about_no_issue_are_ignored(
    tmp_path: Path, linear: FakeLinear, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with service(tmp_path, linear, monkeypatch) as svc:
        other = linear.add_issue("Theirs", project=linear.add_project("other-0123456789ab"))
        response = await svc.post(deliver(SECRET, issue_payload(linear, other)))
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert body["status"] == "ignored" and linear.project_slug in body["message"]
        response = await svc.post(deliver(SECRET, comment_payload(linear.add_issue("Ours"))))
        assert response.status_code == 200 and response.json()["status"] == "ignored"
        assert svc.runtime.state.next_change_read == 1
        assert linear.operations().count(BY_IDS) == 0 and svc.agents.sessions == []


async def test_without_a_secret_or_with_another_tracker_there_is_no_webhook(
    tmp_path: Path, linear: FakeLinear, monkeypatch: pytest.MonkeyPatch
) -> None:
    issue = linear.add_issue("Nobody listens")
    for tracker, secret, needle in (
        ("linear", False, "tracker.provider.webhook_secret"),
        ("local", True, "tracker.kind is local"),
    ):
        root = tmp_path / tracker
        root.mkdir()
        async with service(root, linear, monkeypatch, tracker=tracker, secret=secret) as svc:
            response = await svc.post(deliver(SECRET, issue_payload(linear, issue)))
            assert response.status_code == 404, response.text
            error = response.json()["error"]
            assert error["code"] == "webhooks_not_enabled" and needle in error["message"]
            assert svc.runtime.state.next_change_read == 1
