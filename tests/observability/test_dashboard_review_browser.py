"""The Review view and the local board in the web dashboard, in headless Chromium."""

from __future__ import annotations

from pathlib import Path

from tests.observability.board_support import DIFF, add, local_view, proof
from tests.observability.conftest import start_server
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


async def test_review_decisions_and_the_board_from_the_dashboard(
    browser: Browser, tmp_path: Path
) -> None:
    view, store = local_view(tmp_path)
    good = add(store, "Greet with hello", "Human Review")
    bad = add(store, "Rename the module", "Human Review", labels=("refactor",))
    stale = add(store, "Moved on meanwhile", "Human Review")
    view.proofs[good] = {
        **proof(),
        "pull_requests": [
            {
                "url": "https://github.com/acme/app/pull/7",
                "state": "OPEN",
                "review_decision": "REVIEW_REQUIRED",
                "checks": {"state": "FAILURE", "failing": ["lint", "test (3.12)"]},
            }
        ],
    }
    view.diffs[good] = DIFF
    view.runs[good] = [
        {
            "attempt": None,
            "started_at": "2026-02-24T20:13:00Z",
            "ended_at": "2026-02-24T20:14:35Z",
            "outcome": "succeeded",
            "error": None,
            "turns": 3,
            "tokens": {"input_tokens": 12_000, "output_tokens": 800, "total_tokens": 12_800},
        }
    ]
    view.proofs[bad] = {
        **proof(passed=False, message="Renamed, but a test fails."),
        "files": [],
        "note": "the workspace is not a git repository: no diff",
    }
    async with start_server(view, keepalive_s=1) as server:
        page = await browser.new_page(viewport={"width": 1440, "height": 1000})
        errors = await open_dashboard(page, server.url)

        await page.get_by_role("link", name="Review").click()
        cards = page.locator(".review-card")
        await expect(cards).to_have_count(3)
        first = page.locator(f'.review-card[data-issue="{good}"]')
        second = page.locator(f'.review-card[data-issue="{bad}"]')
        await expect(first.locator(".verify")).to_have_text("verify passed (2s)")
        await expect(second.locator(".verify")).to_have_text("verify failed: exit 1")
        await expect(second.locator(".verify-output")).to_contain_text("FAILED tests/test_greet")
        await expect(first.locator(".final-message")).to_have_text("Greets with hello now.")
        await expect(first.locator(".files")).to_contain_text("uncommitted")
        pull = first.locator(".review-prs li")
        await expect(pull).to_contain_text("open · review required · checks failure")
        await expect(pull).to_contain_text("(failing: lint, test (3.12))")
        await expect(pull.locator("a")).to_have_attribute(
            "href", "https://github.com/acme/app/pull/7"
        )
        # A tracker that links no pull requests (the local board here) shows no such section.
        assert await second.locator(".review-prs").count() == 0
        # The timeline: the run that led here, then the hand-off with its verify result.
        timeline = first.locator("details.review-more", has_text="Timeline")
        await timeline.locator("summary").click()
        steps = timeline.locator("li")
        await expect(steps).to_have_count(2)
        await expect(steps.nth(0)).to_contain_text("3 turns · 12,800 tokens · succeeded")
        await expect(steps.nth(1)).to_contain_text("Handed off")
        await expect(steps.nth(1)).to_contain_text("verify passed")
        await expect(second.locator("details.review-more", has_text="Timeline")).to_contain_text(
            "Timeline (1)"
        )
        # The diff: per file, highlighted, and a file's content stays text.
        files = first.locator(".diff-file")
        await expect(files).to_have_count(2)
        await expect(files.nth(0).locator(".hl-k").first).to_have_text("def")
        await expect(files.nth(0).locator(".dl-add")).to_have_count(2)
        await expect(files.nth(1)).to_contain_text('<script>alert("not markup")</script>')
        assert await first.locator(".diff script").count() == 0
        await files.nth(0).locator("summary").click()  # collapses
        await expect(files.nth(0).locator(".diff")).to_be_hidden()
        await files.nth(0).locator("summary").click()
        await expect(second).to_contain_text("No file differs from the base.")
        await expect(second.locator(".review-note")).to_contain_text("not a git repository")
        assert await second.locator(".diff-box").count() == 0
        await page.screenshot(path=str(ARTIFACTS / "dashboard-review.png"), full_page=True)

        # Someone moved this one on the board since the page read the queue: refused, and said
        # (the service never ran it, so it is looked for among the review states: a 404).
        store.move(stale, "Todo", actor="test")
        third = page.locator(f'.review-card[data-issue="{stale}"]')
        await third.get_by_role("button", name="Approve").click()
        outcome = third.locator(".review-outcome")
        await expect(outcome).to_contain_text("Not done: 404 issue_not_found")
        await expect(outcome).to_contain_text("not in a review state (Human Review)")
        assert store.get(stale).state == "Todo"

        await first.get_by_role("button", name="Approve").click()
        await expect(first.locator(".review-outcome")).to_have_text(f"{good} moved to Merging.")
        assert store.get(good).state == "Merging"

        await second.get_by_role("button", name="Rework").click()
        await second.get_by_role("button", name="Send back for rework").click()
        await expect(second.locator(".review-outcome")).to_contain_text("comment is required")
        assert store.get(bad).state == "Human Review"
        await second.get_by_label("Rework comment (required)").fill("Keep the old name as alias.")
        await second.get_by_role("button", name="Send back for rework").click()
        await expect(second.locator(".review-outcome")).to_have_text(
            f"{bad} moved to Rework, comment posted."
        )
        assert store.get(bad).state == "Rework"
        assert [c.body for c in store.detail(bad).comments] == ["Keep the old name as alias."]
        await page.get_by_role("button", name="Reload").click()
        await expect(cards).to_have_count(0)
        await expect(page.locator("#review-empty")).to_be_visible()

        await page.get_by_role("link", name="Board").click()
        await expect(page.locator(".board-column")).to_have_count(len(store.settings.states))
        await page.get_by_label("Title").fill("Write a CHANGELOG")
        await page.get_by_label("Priority").select_option("2")
        await page.get_by_label("Labels").fill("docs, release")
        await page.get_by_label("Description").fill("Keep a Changelog format.")
        await page.get_by_role("button", name="Create issue").click()
        await expect(page.locator("#board-outcome")).to_have_text("SYM-4 created in Todo.")
        created = store.get("SYM-4")
        assert (created.title, created.priority, created.labels) == (
            "Write a CHANGELOG",
            2,
            ("docs", "release"),
        )
        todo = page.locator('.board-column[data-state="Todo"] .board-card[data-issue="SYM-4"]')
        await expect(todo).to_have_count(1)
        await expect(todo).to_contain_text("P2 high")
        await page.get_by_label("Move SYM-4 to").select_option("In Progress")
        await expect(page.locator("#board-outcome")).to_have_text("SYM-4 moved to In Progress.")
        assert store.get("SYM-4").state == "In Progress"
        moved = page.locator('.board-column[data-state="In Progress"] .board-card')
        await expect(moved).to_have_count(1)
        await moved.locator("summary").click()
        await moved.get_by_label("Comment on SYM-4").fill("Start from the git log.")
        await moved.get_by_role("button", name="Post comment").click()
        await expect(page.locator("#board-outcome")).to_have_text("Comment posted on SYM-4.")
        assert [c.body for c in store.detail("SYM-4").comments] == ["Start from the git log."]
        # Dragging a card onto a column moves it too.
        backlog = page.locator('.board-column[data-state="Backlog"]')
        await moved.locator(".card-title").drag_to(backlog)
        await wait_until(lambda: store.get("SYM-4").state == "Backlog")
        await expect(backlog.locator(".board-card")).to_have_count(1)
        merging = page.locator('.board-column[data-state="Merging"]')
        await expect(merging).not_to_contain_text("null")
        await page.screenshot(path=str(ARTIFACTS / "dashboard-board.png"), full_page=True)
        assert view.refreshes == 5  # two decisions, the creation, two moves
        # The refused decision is the only failed request; nothing else went wrong on the page.
        assert errors == [
            "Failed to load resource: the server responded with a status of 404 (Not Found)"
        ]


async def test_a_best_of_issue_is_approved_by_picking_a_candidate(
    browser: Browser, tmp_path: Path
) -> None:
    view, store = local_view(tmp_path)
    issue = add(store, "Fix the flaky test", "Human Review")
    view.candidates[issue] = [
        {
            "name": "a",
            "workspace": "/ws/SYM-1.a",
            "status": "handed_off",
            "verify": "failed",
            "files": ["a.py"],
            "tokens": 1200,
            "cost_usd": 0.5,
            "rank": 2,
            "reason": "verify fails",
            "summary": "Retried the call.",
            "error": None,
        },
        {
            "name": "b",
            "workspace": "/ws/SYM-1.b",
            "status": "handed_off",
            "verify": "passed",
            "files": ["b.py", "test_b.py"],
            "tokens": 900,
            "cost_usd": None,
            "rank": 1,
            "reason": "passes verify, smallest diff",
            "summary": "Fixed the race.",
            "error": None,
        },
        {
            "name": "c",
            "workspace": "/ws/SYM-1.c",
            "status": "failed",
            "verify": None,
            "files": [],
            "tokens": 10,
            "cost_usd": None,
            "rank": None,
            "reason": None,
            "summary": None,
            "error": "worker exited: boom",
        },
    ]
    async with start_server(view, keepalive_s=1) as server:
        page = await browser.new_page(viewport={"width": 1440, "height": 1000})
        errors = await open_dashboard(page, server.url)
        await page.get_by_role("link", name="Review").click()
        card = page.locator(f'.review-card[data-issue="{issue}"]')
        candidates = card.locator("section.candidate")
        await expect(candidates).to_have_count(3)
        b = card.locator('section.candidate[data-candidate="b"]')
        await expect(b.locator(".verify")).to_have_text("verify passed")
        await expect(b.locator(".judge-reason")).to_have_text("Judge: passes verify, smallest diff")
        await expect(b).to_contain_text("b.py, test_b.py")
        await expect(card.locator('section.candidate[data-candidate="c"]')).to_contain_text(
            "worker exited: boom"
        )
        # One approve per candidate that handed off; none for the failed one, no plain Approve.
        await expect(card.locator("button[data-candidate]")).to_have_count(2)
        await expect(card.get_by_role("button", name="Approve", exact=True)).to_be_hidden()
        await page.screenshot(
            path=str(ARTIFACTS / "dashboard-review-candidates.png"), full_page=True
        )

        await card.get_by_role("button", name="Approve b").click()
        await expect(card.locator(".review-outcome")).to_have_text(f"{issue} moved to Merging.")
        ((identifier, decision),) = view.reviews
        assert identifier == issue and decision.candidate == "b"
        assert store.get(issue).state == "Merging"
        assert errors == []
