"""The runtime's webhook inbox: replay memory, scope, and what happens when scope is unknown."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from symphony.issue import Issue
from symphony.orchestrator.webhooks import ReplayMemory, WebhookInbox
from symphony.trackers.base import TRACKER_REQUEST, TrackerError
from symphony.webhooks import (
    WebhookDelivery,
    WebhookNotice,
    WebhookRejected,
    WebhookScope,
)
from tests.support.waiting import wait_until


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class FakeSource:
    """A tracker adapter with webhooks: the body names the issue, ``scope`` is scripted."""

    kind = "fake"
    webhook_provider = "fake"

    def __init__(self) -> None:
        self.inside: set[str] = set()
        self.scope_error: Exception | None = None
        self.scope_gate: asyncio.Event | None = None
        self.problem: str | None = None
        self.scope_calls = 0

    def webhook_problem(self) -> str | None:
        return self.problem

    def verify_webhook(self, delivery: WebhookDelivery, now_ms: float) -> WebhookNotice:
        if delivery.headers.get("signature") != "ok":
            raise WebhookRejected(401, "invalid_signature", "bad")
        issue_id = delivery.body.decode()
        return WebhookNotice(
            delivery.headers["delivery"], f"digest-of-{issue_id}", f"Issue {issue_id}", (issue_id,)
        )

    async def webhook_scope(self, notice: WebhookNotice) -> WebhookScope:
        self.scope_calls += 1
        if self.scope_gate is not None:
            await self.scope_gate.wait()
        if self.scope_error is not None:
            raise self.scope_error
        inside = tuple(i for i in notice.issue_ids if i in self.inside)
        return WebhookScope(inside, None if inside else "outside")

    # the rest of TrackerAdapter, unused here
    async def fetch_issues_by_states(self, state_names: Sequence[str]) -> list[Issue]:
        return []

    async def fetch_issues_by_ids(self, issue_ids: Sequence[str]) -> list[Issue]:
        return []

    def secret_environment_names(self) -> frozenset[str]:
        return frozenset()

    def secret_values(self) -> frozenset[str]:
        return frozenset()

    def agent_tool_specs(self) -> list[Any]:
        return []

    async def execute_agent_tool(self, name: str, arguments: Any, context: Any) -> Any:
        raise NotImplementedError

    async def aclose(self) -> None:
        return None


def delivery(issue_id: str, delivery_id: str, *, signature: str = "ok") -> WebhookDelivery:
    return WebhookDelivery({"signature": signature, "delivery": delivery_id}, issue_id.encode())


async def receive(
    inbox: WebhookInbox,
    source: FakeSource,
    sent: WebhookDelivery,
    *,
    watched: frozenset[str] = frozenset(),
) -> tuple[int, str, tuple[str, ...]]:
    receipt = await inbox.receive(source, "fake", sent, watched=watched.__contains__, timeout_s=1.0)
    return receipt.status, receipt.code, receipt.issue_ids


async def test_issues_in_scope_or_watched_are_accepted_others_ignored() -> None:
    inbox, source = WebhookInbox(), FakeSource()
    source.inside = {"a"}
    assert await receive(inbox, source, delivery("a", "1")) == (202, "accepted", ("a",))
    assert await receive(inbox, source, delivery("b", "2")) == (200, "ignored", ())
    # Outside the scope, but the service holds it (it just left the project): refreshed.
    watched = frozenset({"c"})
    assert await receive(inbox, source, delivery("c", "3"), watched=watched) == (
        202,
        "accepted",
        ("c",),
    )


async def test_when_the_scope_cannot_be_told_the_issues_are_refreshed_anyway() -> None:
    inbox, source = WebhookInbox(), FakeSource()
    source.scope_error = TrackerError(TRACKER_REQUEST, "Linear is down")
    assert await receive(inbox, source, delivery("a", "1")) == (202, "accepted", ("a",))


async def test_a_refused_or_unanswered_delivery_is_not_remembered() -> None:
    inbox, source = WebhookInbox(), FakeSource()
    source.inside = {"a"}
    assert (await receive(inbox, source, delivery("a", "1", signature="no")))[0] == 401
    source.scope_error = RuntimeError("a bug")
    with pytest.raises(RuntimeError):
        await receive(inbox, source, delivery("a", "1"))
    source.scope_error = None
    assert await receive(inbox, source, delivery("a", "1")) == (202, "accepted", ("a",))
    assert (await receive(inbox, source, delivery("a", "1")))[1] == "replayed_delivery"


async def test_a_copy_arriving_while_the_first_is_checked_is_refused() -> None:
    inbox, source = WebhookInbox(), FakeSource()
    source.inside, source.scope_gate = {"a"}, asyncio.Event()
    first = asyncio.create_task(receive(inbox, source, delivery("a", "1")))
    await wait_until(lambda: source.scope_calls == 1, "the first to wait on its scope")
    assert (await receive(inbox, source, delivery("a", "1")))[1] == "replayed_delivery"
    source.scope_gate.set()
    assert (await first)[0] == 202


async def test_no_secret_and_another_provider_are_404() -> None:
    inbox, source = WebhookInbox(), FakeSource()
    source.problem = "set the secret"
    receipt = await inbox.receive(
        source, "fake", delivery("a", "1"), watched=lambda _: False, timeout_s=1
    )
    assert (receipt.status, receipt.code, receipt.message) == (
        404,
        "webhooks_not_enabled",
        "set the secret",
    )
    receipt = await inbox.receive(
        source, "linear", delivery("a", "1"), watched=lambda _: False, timeout_s=1
    )
    assert receipt.status == 404 and "tracker.kind is fake" in receipt.message


def test_replay_memory_forgets_after_its_window_and_past_its_limit() -> None:
    clock = Clock()
    memory = ReplayMemory(limit=3, keep_s=600, clock=clock)
    memory.remember(["a"])
    clock.now += 599
    assert memory.seen(["a"])
    clock.now += 2
    assert not memory.seen(["a"]) and len(memory) == 0
    memory.remember(["b", "c", "d", "e"])
    assert len(memory) == 3 and not memory.seen(["b"]) and memory.seen(["x", "e"])
