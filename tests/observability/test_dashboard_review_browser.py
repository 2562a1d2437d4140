"""The Review view and the local board in the web dashboard, in headless Chromium."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from symphony.core.candidates import Candidate
from tests.observability.board_support import DIFF, add, candidate_workspaces, local_view, proof
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

LONG = "".join(f"VALUE_{n} = {n}\n" for n in range(200))


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


async def test_a_best_of_issue_shows_its_candidates_side_by_side_and_one_is_picked(
    browser: Browser, tmp_path: Path
) -> None:
    view, store = local_view(tmp_path)
    issue = add(store, "Fix the flaky test", "Human Review")
    root = tmp_path / "workspaces"
    view.workspace_root = root
    found = candidate_workspaces(
        root,
        issue,
        {
            "a": {"src/retry.py": "def retry(call):\n    return call()\n"},
            # Long enough for its column to scroll.
            "b": {"src/race.py": "import threading\nLOCK = threading.Lock()\n" + LONG},
        },
    )
    found = found.with_candidate(
        "a",
        verify="failed",
        verify_output="FAILED tests/test_retry.py::test_flaky",
        tokens=1200,
        cost_usd=0.5,
        rank=2,
        reason="verify fails",
    )
    found = found.with_candidate(
        "b",
        verify="passed",
        verify_output="3 passed",
        tokens=900,
        rank=1,
        reason="passes verify, smallest diff",
    )
    failed = Candidate("c", 2, status="failed", error="worker exited: boom", tokens=10)
    view.candidate_sets[issue] = replace(found, candidates=(*found.candidates, failed))
    async with start_server(view, keepalive_s=1) as server:
        page = await browser.new_page(viewport={"width": 1440, "height": 1000})
        errors = await open_dashboard(page, server.url)
        await page.get_by_role("link", name="Review").click()
        card = page.locator(f'.review-card[data-issue="{issue}"]')
        columns = card.locator("section.candidate")
        await expect(columns).to_have_count(3)
        # Best first, as the judge ranked them; the unranked failed one last.
        order = await columns.evaluate_all("(nodes) => nodes.map((n) => n.dataset.candidate)")
        assert order == ["b", "a", "c"]
        a = card.locator('section.candidate[data-candidate="a"]')
        b = card.locator('section.candidate[data-candidate="b"]')
        c = card.locator('section.candidate[data-candidate="c"]')

        # Each column shows its own workspace's diff, highlighted like the single-run view.
        await expect(a.locator(".diff-file")).to_have_count(1)
        await expect(b.locator(".diff-file")).to_have_count(1)
        await expect(a.locator('.diff-file[data-path="src/retry.py"]')).to_be_visible()
        await expect(b.locator('.diff-file[data-path="src/race.py"]')).to_be_visible()
        await expect(a.locator(".hl-k").first).to_have_text("def")
        await expect(b.locator(".hl-kn").first).to_have_text("import")
        await expect(b.locator(".files")).to_contain_text("src/race.py")
        await expect(b.locator(".files")).to_contain_text("+202")
        await expect(b.locator(".judge-reason")).to_have_text("Judge: passes verify, smallest diff")
        await expect(b.locator(".rank")).to_have_text("rank 1")
        await expect(b.locator(".final-message")).to_have_text("Candidate b did it.")
        await expect(a).to_contain_text("$0.50")
        # Verify output: open where it failed, folded where it passed.
        await expect(a.locator(".verify-output")).to_have_text(
            "FAILED tests/test_retry.py::test_flaky"
        )
        await expect(b.locator(".verify-output")).to_be_hidden()
        await b.locator(".verify-details summary").click()
        await expect(b.locator(".verify-output")).to_have_text("3 passed")
        # The failed one: its error, no diff to read, nothing to approve.
        await expect(c.locator(".candidate-error")).to_have_text("Failed: worker exited: boom")
        await expect(c).to_contain_text("never started")
        assert await c.locator("button").count() == 0
        await expect(card.locator("button[data-candidate]")).to_have_count(2)
        await expect(card.get_by_role("button", name="Approve", exact=True)).to_be_hidden()

        # Side by side on a wide screen, each scrolling on its own.
        box_a, box_b = await a.bounding_box(), await b.bounding_box()
        assert box_a is not None and box_b is not None
        assert box_b["x"] + box_b["width"] <= box_a["x"] and box_a["y"] == box_b["y"]
        assert await b.evaluate("(node) => node.scrollHeight > node.clientHeight")
        await b.evaluate("(node) => { node.scrollTop = node.scrollHeight; }")
        assert await b.evaluate("(node) => node.scrollTop") > 0
        assert await a.evaluate("(node) => node.scrollTop") == 0
        assert await page.evaluate("() => window.scrollY") == 0
        # Its name and Approve button stay in view while it scrolls.
        await expect(b.get_by_role("button", name="Approve b")).to_be_in_viewport()
        await b.evaluate("(node) => { node.scrollTop = 0; }")
        await page.screenshot(
            path=str(ARTIFACTS / "dashboard-review-candidates.png"), full_page=True
        )
        # Stacked on a narrow one.
        await page.set_viewport_size({"width": 700, "height": 1000})
        box_a, box_b = await a.bounding_box(), await b.bounding_box()
        assert box_a is not None and box_b is not None
        assert box_b["y"] + box_b["height"] <= box_a["y"] and box_a["x"] == box_b["x"]
        await page.screenshot(
            path=str(ARTIFACTS / "dashboard-review-candidates-narrow.png"), full_page=True
        )
        await page.set_viewport_size({"width": 1440, "height": 1000})

        async with page.expect_request(lambda r: r.method == "POST") as sent:
            await b.get_by_role("button", name="Approve b").click()
        request = await sent.value
        assert request.url.endswith(f"/api/v1/{issue}/review")
        assert request.post_data_json == {"decision": "approve", "candidate": "b"}
        await expect(card.locator(".review-outcome")).to_have_text(f"{issue} moved to Merging.")
        ((identifier, decision),) = view.reviews
        assert identifier == issue and decision.candidate == "b"
        assert store.get(issue).state == "Merging"
        assert errors == []
