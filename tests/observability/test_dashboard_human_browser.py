"""Pending human requests and steering in the web dashboard, in headless Chromium."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from symphony.human import HumanAnswer, HumanRequest, Question, SteerDelivery
from symphony.issue import Issue
from tests.observability.conftest import start_server
from tests.observability.fakes import FakeView, detail_for, running_row, snapshot
from tests.observability.test_dashboard_browser import (
    ARTIFACTS,
    Browser,
    browser,
    expect,
    open_dashboard,
    pytestmark,
)
from tests.support.waiting import wait_until

__all__ = ["browser", "pytestmark"]

ISSUE = Issue(id="id-MT-7", identifier="MT-7", title="t", state="Todo", dispatchable=True)
COMMAND = HumanRequest(
    kind="command_approval",
    summary="run rm -rf build",
    command="rm -rf build",
    cwd="/ws/MT-7",
    reason="clean before the release build",
)
QUESTION = HumanRequest(
    kind="question",
    summary="Which database?",
    questions=(Question(id="db", question="Which database?", options=("Postgres", "SQLite")),),
)


class Session:
    def __init__(self) -> None:
        self.messages: list[str] = []

    async def steer(self, message: str) -> SteerDelivery:
        self.messages.append(message)
        return "running_turn"


def waiting(view: FakeView, count: int) -> None:
    row = replace(running_row("MT-7", now=datetime.now(UTC)), pending_request_count=count)
    view.details["MT-7"] = detail_for(row)
    view.publish(snapshot(running=[row], now=datetime.now(UTC)))


async def test_requests_are_answered_and_agents_steered_from_the_dashboard(
    browser: Browser,
) -> None:
    view = FakeView()
    async with start_server(view, keepalive_s=1) as server:
        channel = view.desk.open_run(ISSUE, 1, None)
        session = Session()
        view.desk.attach_session("id-MT-7", 1, session)  # type: ignore[arg-type]
        page = await browser.new_page(viewport={"width": 1440, "height": 900})
        errors = await open_dashboard(page, server.url)
        await expect(page.locator("#requests-section")).to_be_hidden()

        approval: asyncio.Task[Any] = asyncio.create_task(channel.ask(COMMAND))
        await wait_until(lambda: view.desk.pending())
        waiting(view, 1)
        card = page.locator(".request-card")
        await expect(card).to_have_count(1)
        await expect(card).to_contain_text("rm -rf build")
        await expect(card).to_contain_text("clean before the release build")
        await page.screenshot(path=str(ARTIFACTS / "dashboard-requests.png"), full_page=True)
        await card.get_by_role("button", name="Approve for session").click()
        assert await asyncio.wait_for(approval, 10) == HumanAnswer(decision="approve_for_session")

        question: asyncio.Task[Any] = asyncio.create_task(channel.ask(QUESTION))
        await wait_until(lambda: view.desk.pending())
        waiting(view, 2)  # a changed count makes the page read the list again
        await expect(card).to_have_count(1)
        await expect(card).to_contain_text("Which database?")
        await card.get_by_label("Which database?").fill("SQLite, in memory")
        await card.get_by_role("button", name="Send answers").click()
        assert await asyncio.wait_for(question, 10) == HumanAnswer(
            answers={"db": "SQLite, in memory"}
        )
        waiting(view, 0)
        await expect(page.locator("#requests-section")).to_be_hidden()

        await page.locator('#running-table tbody tr[data-key="MT-7"] .issue-link').click()
        steer = page.locator("#detail-steer")
        await expect(steer).to_be_visible()
        await page.locator("#steer-input").fill("Keep the public API unchanged.")
        await page.locator("#steer-button").click()
        await expect(page.locator("#toast")).to_have_text("Guidance sent to the running turn")
        assert session.messages == ["Keep the public API unchanged."]
        assert errors == []
