"""The web dashboard in headless Chromium (Debian's, never a downloaded one).

Screenshots land in ``test-artifacts/`` at the repository root.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from symphony.view import (
    AgentActivity,
    BlockedRow,
    DayBudget,
    HeldRow,
    IssueDetail,
    Problem,
    Snapshot,
    TimelineEvent,
    WorkerHost,
)
from tests.observability.conftest import start_server
from tests.observability.fakes import (
    FakeView,
    activity,
    blocked_row,
    detail_for,
    retry_row,
    running_row,
    snapshot,
)

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TIMEOUT_MS = 10_000

if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is not installed (apt-get install chromium, or scripts/setup --with-browser)",
        allow_module_level=True,
    )

from playwright.async_api import Browser, Page, async_playwright, expect  # noqa: E402

expect.set_options(timeout=TIMEOUT_MS)  # generous: CI machines are shared and slow


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield instance
        finally:
            await instance.close()


def fleet(now: datetime, *, tokens_101: int = 120_450, turn_101: int = 11) -> Snapshot:
    rows = [
        running_row(
            "MT-101",
            now=now,
            turn_count=turn_101,
            total_tokens=tokens_101,
            last_event="notification",
            last_message="ran: pytest -q tests/observability (exit 0)",
        ),
        running_row(
            "MT-102",
            now=now,
            started_ago_s=412,
            turn_count=4,
            total_tokens=89_200,
            last_event="turn_completed",
            last_message="turn completed (completed)",
            pid="5252",
        ),
        running_row(
            "MT-117",
            now=now,
            started_ago_s=35,
            turn_count=1,
            total_tokens=2_210,
            last_event="session_started",
            last_message="session started",
            pid="6001",
            state="Todo",
        ),
    ]
    epoch = int(now.timestamp())
    return snapshot(
        now=now,
        running=rows,
        retrying=[
            retry_row("MT-450", now=now, attempt=4, due_in_s=42, error="rate limit exhausted"),
            retry_row("MT-451", now=now, attempt=1, due_in_s=2, kind="continuation", error=None),
        ],
        totals=(250_000, 18_500, 268_500 + tokens_101 - 120_450),
        seconds_running=4321,
        rate_limits={
            "limitId": "codex",
            "planType": "pro",
            "primary": {"usedPercent": 42, "windowDurationMins": 300, "resetsAt": epoch + 5000},
            "secondary": {"usedPercent": 81, "windowDurationMins": 10080, "resetsAt": epoch + 9e4},
            "credits": {"hasCredits": True, "unlimited": False, "balance": "12.5"},
        },
        tracker_error=Problem(
            code="linear_api_status",
            message="Linear returned HTTP 502; retrying on the next tick",
            at=now,
        ),
    )


def timeline(now: datetime) -> list[TimelineEvent]:
    script = [
        ("session_started", "session started (thread-1-turn-1)"),
        ("notification", "running: git status"),
        ("notification", "ran: git status (exit 0)"),
        ("tool_call_completed", "tool linear_graphql: completed"),
        ("token_usage_updated", "token usage updated (in 1,200, out 80, total 1,280)"),
        ("notification", "I updated the parser and added tests for the edge cases."),
        ("turn_completed", "turn completed (completed)"),
    ]
    return [
        TimelineEvent(at=now - timedelta(seconds=70 - 10 * i), event=event, message=message)
        for i, (event, message) in enumerate(script)
    ]


def chatter(identifier: str, later_s: float = 0) -> AgentActivity:
    return activity(
        identifier,
        session_id="thread-1-turn-2",
        at=datetime.now(UTC) + timedelta(seconds=later_s),
        event="notification",
        message=None,
    )


async def open_dashboard(page: Page, url: str) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(url)
    await expect(page.locator("#connection")).to_have_text("Live", timeout=TIMEOUT_MS)
    return errors


async def test_dashboard_updates_live_and_drills_down(browser: Browser) -> None:
    now = datetime.now(UTC)
    view = FakeView(fleet(now))
    view.details["MT-101"] = detail_for(view.state.running[0], events=timeline(now))
    async with start_server(view, keepalive_s=1) as server:
        page = await browser.new_page(viewport={"width": 1440, "height": 900})
        errors = await open_dashboard(page, server.url)

        running = page.locator("#running-table tbody tr")
        await expect(running).to_have_count(3)
        row = page.locator('#running-table tbody tr[data-key="MT-101"]')
        await expect(row.locator("td").nth(3)).to_have_text("120,450")
        await expect(page.locator("#retry-table tbody tr")).to_have_count(2)
        await expect(page.locator("#alerts")).to_contain_text("Tracker error")
        await expect(page.locator("#m-agents")).to_have_text("3 / 10")

        # A live change arrives over the event stream: no navigation, no reload.
        await page.evaluate("window.__sameDocument = true")
        view.publish(fleet(datetime.now(UTC), tokens_101=131_000, turn_101=12))
        await expect(row.locator("td").nth(3)).to_have_text("131,000", timeout=TIMEOUT_MS)
        await expect(row.locator("td").nth(1)).to_have_text("12")
        await expect(page.locator("#m-tokens")).to_have_text("279,050")
        assert await page.evaluate("window.__sameDocument === true")
        assert page.url == server.url

        # Agent events update the row between snapshots.
        view.agent_event(
            activity(
                "MT-101",
                session_id="thread-1-turn-2",
                at=datetime.now(UTC),
                event="notification",
                message="running: ruff check src",
            )
        )
        await expect(row.locator(".event-summary")).to_have_text("running: ruff check src")
        # Streaming chatter (no message) does not hide the last thing worth reading.
        view.agent_event(chatter("MT-101"))
        other = page.locator('#running-table tbody tr[data-key="MT-102"] .event-summary')
        view.agent_event(replace(chatter("MT-102"), message="agent: opened a PR"))
        await expect(other).to_have_text("agent: opened a PR")
        await expect(row.locator(".event-summary")).to_have_text("running: ruff check src")
        await page.screenshot(
            path=str(ARTIFACTS / "dashboard.png"), full_page=True, animations="disabled"
        )

        # Drill down with the keyboard: focus the issue link, press Enter.
        await row.locator(".issue-link").focus()
        await page.keyboard.press("Enter")
        detail = page.locator("#detail")
        await expect(detail).to_be_visible()
        await expect(page.locator("#detail-heading")).to_have_text("MT-101")
        await expect(page.locator("#detail-heading")).to_be_focused()
        items = page.locator("#detail-timeline li")
        await expect(items).to_have_count(7)
        await expect(items.first).to_contain_text("turn completed (completed)")
        await expect(page.locator("#detail-timeline")).to_contain_text("ran: git status (exit 0)")
        await expect(page.locator("#detail-facts")).to_contain_text(
            "/tmp/symphony_workspaces/MT-101"
        )
        tracker = page.locator("#detail-status a", has_text="Open in tracker")
        await expect(tracker).to_have_attribute("href", "https://tracker.example/issues/MT-101")

        # New events for the open issue are prepended live.
        view.agent_event(
            activity(
                "MT-101",
                session_id="thread-1-turn-2",
                at=datetime.now(UTC) + timedelta(seconds=1),
                event="notification",
                message="ran: ruff check src (exit 1)",
            )
        )
        await expect(items).to_have_count(8, timeout=TIMEOUT_MS)
        await expect(items.first).to_contain_text("ran: ruff check src (exit 1)")
        # Low-level events stay out of the way until asked for.
        view.agent_event(chatter("MT-101", later_s=2))
        toggle = page.locator("#timeline-chatter")
        await expect(toggle).to_contain_text("Show 1 low-level event")
        await expect(items).to_have_count(8)
        await toggle.locator("input").check()
        await expect(items).to_have_count(9)
        await expect(items.first.locator(".ev-summary")).to_have_text("notification")
        await toggle.locator("input").uncheck()
        await expect(items).to_have_count(8)
        await page.screenshot(
            path=str(ARTIFACTS / "dashboard-detail.png"), full_page=True, animations="disabled"
        )

        # Escape closes the panel and returns focus to the row's link.
        await page.keyboard.press("Escape")
        await expect(detail).to_be_hidden()
        await expect(row.locator(".issue-link")).to_be_focused()
        assert errors == []


def blocked_fleet(now: datetime, *, total: int = 3) -> Snapshot:
    return snapshot(
        now=now,
        running=[running_row("MT-101", now=now, started_ago_s=300, turn_count=3)],
        blocked=[
            blocked_row(
                "MT-204",
                now=now,
                reason="not dispatchable: blocked by MT-101 (In Progress), MT-99 (Todo)",
                blocked_by=[("MT-101", "In Progress"), ("MT-99", "Todo")],
            ),
            blocked_row(
                "MT-205",
                now=now,
                state="In Progress",
                reason="missing required labels: agent",
                blocked_by=[],
            ),
            blocked_row(
                "MT-310",
                now=now,
                reason="the tracker marks it not dispatchable (for example, assigned to someone "
                "else)",
                blocked_by=[],
            ),
        ],
        blocked_total=total,
    )


def blocked_detail(row: BlockedRow) -> IssueDetail:
    return IssueDetail(
        issue_identifier=row.issue_identifier,
        issue_id=row.issue_id,
        status="blocked",
        workspace_path=f"/tmp/symphony_workspaces/{row.issue_identifier}",
        restart_count=0,
        current_retry_attempt=None,
        running=None,
        retry=None,
        blocked=row,
        logs=(),
        recent_events=(),
        last_error=None,
        issue_url=row.issue_url,
    )


async def test_dashboard_shows_blocked_issues_with_their_reasons(browser: Browser) -> None:
    now = datetime.now(UTC)
    view = FakeView(blocked_fleet(now))
    view.details["MT-204"] = blocked_detail(view.state.blocked[0])
    async with start_server(view, keepalive_s=1) as server:
        page = await browser.new_page(viewport={"width": 1440, "height": 900})
        errors = await open_dashboard(page, server.url)

        section = page.locator("#blocked-section")
        await expect(section).to_be_visible()
        rows = page.locator("#blocked-table tbody tr")
        await expect(rows).to_have_count(3)
        first = page.locator('#blocked-table tbody tr[data-key="MT-204"]')
        await expect(first.locator("td").nth(0)).to_have_text("Todo")
        await expect(first.locator("td").nth(1)).to_have_text(
            "not dispatchable: blocked by MT-101 (In Progress), MT-99 (Todo)"
        )
        await expect(page.locator('#blocked-table tbody tr[data-key="MT-205"]')).to_contain_text(
            "missing required labels: agent"
        )
        await expect(page.locator("#blocked-count")).to_have_text("(3)")
        await expect(page.locator("#m-blocked")).to_have_text("3 blocked")
        await expect(page.locator("#blocked-more")).to_be_hidden()
        await page.screenshot(
            path=str(ARTIFACTS / "dashboard-blocked.png"), full_page=True, animations="disabled"
        )

        await first.locator(".issue-link").click()
        await expect(page.locator("#detail")).to_be_visible()
        status = page.locator("#detail-status")
        await expect(status.locator(".badge").first).to_have_text("blocked")
        await expect(status).to_contain_text("Todo")
        facts = page.locator("#detail-facts")
        await expect(facts).to_contain_text(
            "not dispatchable: blocked by MT-101 (In Progress), MT-99 (Todo)"
        )
        await expect(facts).to_contain_text("MT-101 (In Progress), MT-99 (Todo)")
        await page.screenshot(
            path=str(ARTIFACTS / "dashboard-blocked-detail.png"),
            full_page=True,
            animations="disabled",
        )
        await page.keyboard.press("Escape")

        # More blocked issues than the runtime lists: the count says so.
        view.publish(blocked_fleet(datetime.now(UTC), total=530))
        await expect(page.locator("#blocked-count")).to_have_text("(530)")
        await expect(page.locator("#blocked-more")).to_have_text("Showing 3 of 530 blocked issues.")
        await expect(page.locator("#m-blocked")).to_have_text("530 blocked")

        # Nothing blocked any more: the section goes away.
        view.publish(snapshot(now=datetime.now(UTC)))
        await expect(section).to_be_hidden()
        await expect(page.locator("#m-blocked")).to_have_text("none blocked")
        assert errors == []


async def test_dashboard_lists_held_issues_and_releases_one(browser: Browser) -> None:
    now = datetime.now(UTC)
    hold = HeldRow("id-9", "MT-9", None, "no_progress", "3 turns in a row changed nothing", now)
    state = snapshot(now=now)
    view = FakeView(replace(state, held=(hold,), counts=replace(state.counts, held=1)))
    async with start_server(view, keepalive_s=1) as server:
        page = await browser.new_page(viewport={"width": 1440, "height": 900})
        errors = await open_dashboard(page, server.url)
        section = page.locator("#held-section")
        await expect(section).to_be_visible()
        await expect(page.locator("#held-count")).to_have_text("(1)")
        row = page.locator('#held-table tbody tr[data-key="MT-9"]')
        await expect(row.locator("td").nth(0)).to_have_text("no progress")
        await expect(row.locator("td").nth(1)).to_have_text("3 turns in a row changed nothing")
        await row.get_by_role("button", name="Release").click()
        await expect(page.locator("#toast")).to_contain_text("Released MT-9")
        assert view.releases == ["MT-9"]
        view.publish(snapshot(now=datetime.now(UTC)))
        await expect(section).to_be_hidden()
        assert errors == []


async def test_dashboard_says_when_the_daily_cost_limit_pauses_dispatch(browser: Browser) -> None:
    now = datetime.now(UTC)
    state = snapshot(now=now)
    paused = replace(
        state,
        codex_totals=replace(state.codex_totals, cost_usd=12.5),
        budget=DayBudget("2026-03-01", 5.0, 5.0, dispatch_paused=True),
    )
    view = FakeView(paused)
    async with start_server(view, keepalive_s=1) as server:
        page = await browser.new_page(viewport={"width": 1440, "height": 900})
        errors = await open_dashboard(page, server.url)
        alerts = page.locator("#alerts")
        await expect(alerts).to_contain_text("Daily cost limit reached")
        await expect(alerts).to_contain_text("Spent $5.00 of $5.00 on 2026-03-01 (UTC)")
        await expect(page.locator("#m-tokens-sub")).to_contain_text("$12.50 (today $5.00)")
        view.publish(replace(paused, budget=DayBudget("2026-03-02", 0.0, 5.0, False)))
        await expect(alerts).not_to_contain_text("Daily cost limit", timeout=TIMEOUT_MS)
        assert errors == []


async def test_dashboard_with_an_access_token(browser: Browser) -> None:
    view = FakeView(fleet(datetime.now(UTC)))
    async with start_server(view, access_token="browser-token-123", keepalive_s=1) as server:
        page = await browser.new_page()
        errors = await open_dashboard(page, f"{server.url}?token=browser-token-123")
        await expect(page.locator("#running-table tbody tr")).to_have_count(3)
        assert "token" not in page.url  # removed from the address bar once the cookie is set
        await page.click("#refresh-button")
        await expect(page.locator("#toast")).to_have_text("Poll queued")
        assert view.refreshes == 1
        assert errors == []


@pytest.fixture(autouse=True, scope="module")
def _artifacts_dir() -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    assert shutil.which(str(CHROMIUM))


async def test_dashboard_groups_agents_by_worker_host_with_load_and_health(
    browser: Browser,
) -> None:
    now = datetime.now(UTC)
    rows = [
        replace(running_row("MT-1", now=now), worker_host="worker-b"),
        replace(running_row("MT-2", now=now), worker_host="worker-a"),
        replace(running_row("MT-3", now=now), worker_host="worker-b"),
    ]
    hosts = (
        WorkerHost("worker-a", 1, 2, "up", None, None),
        WorkerHost("worker-b", 2, 2, "up", None, None),
    )
    state = replace(snapshot(now=now, running=rows), workers=hosts)
    view = FakeView(state)
    async with start_server(view, keepalive_s=1) as server:
        page = await browser.new_page(viewport={"width": 1440, "height": 900})
        errors = await open_dashboard(page, server.url)
        panel = page.locator("#workers-panel")
        await expect(panel).to_be_visible()
        table = page.locator("#workers-table tbody tr")
        await expect(table).to_have_count(2)
        await expect(table.nth(0)).to_contain_text("worker-a")
        await expect(table.nth(0)).to_contain_text("1 / 2")
        await expect(table.nth(0)).to_contain_text("MT-2")
        await expect(table.nth(1)).to_contain_text("MT-1, MT-3")
        # Running sessions are grouped by host, in config order.
        running = page.locator("#running-table tbody tr")
        await expect(running.nth(0)).to_contain_text("on worker-a")
        await expect(running.nth(0)).to_contain_text("MT-2")
        await expect(running.nth(1)).to_contain_text("MT-1")
        await expect(running.nth(2)).to_contain_text("MT-3")
        down = WorkerHost("worker-b", 0, 2, "down", "ssh lost", now + timedelta(seconds=60))
        view.publish(replace(state, running=(rows[1],), workers=(hosts[0], down)))
        await expect(table.nth(1)).to_contain_text("down")
        await expect(table.nth(1)).to_contain_text("ssh lost")
        await expect(page.locator("#workers-count")).to_contain_text("1 down")
        view.publish(snapshot(now=now))
        await expect(panel).to_be_hidden()
        assert errors == []


async def test_dashboard_shows_each_best_of_candidate_of_an_issue_as_its_own_row(
    browser: Browser,
) -> None:
    now = datetime.now(UTC)
    running = [
        replace(running_row("MT-1", now=now), candidate="a"),
        replace(running_row("MT-1", now=now), candidate="b", last_message="b is editing"),
        running_row("MT-2", now=now),
    ]
    retrying = [replace(retry_row("MT-1", now=now), candidate="c")]
    view = FakeView(snapshot(now=now, running=running, retrying=retrying))
    async with start_server(view, keepalive_s=1) as server:
        page = await browser.new_page(viewport={"width": 1440, "height": 900})
        errors = await open_dashboard(page, server.url)
        rows = page.locator("#running-table tbody tr")
        await expect(rows).to_have_count(3)
        keys = [await rows.nth(i).get_attribute("data-key") for i in range(3)]
        assert keys == ["MT-1.a", "MT-1.b", "MT-2"]
        await expect(rows.nth(1).locator(".candidate-badge")).to_have_text("b")
        await expect(page.locator('#retry-table tbody tr[data-key="MT-1.c"]')).to_have_count(1)
        # One candidate ending leaves the other's row in place.
        view.publish(snapshot(now=now, running=running[1:]))
        await expect(rows).to_have_count(2)
        await expect(page.locator('#running-table tbody tr[data-key="MT-1.b"]')).to_have_count(1)
        assert errors == []
