"""The pull requests of an issue for the proof of work, read from the fake GitHub."""

from __future__ import annotations

import pytest

from symphony.trackers.base import TRACKER_STATUS, LinkedChanges, TrackerError
from symphony.trackers.github import queries
from tests.support.fake_github import Failure, FakeGitHub
from tests.trackers.github.conftest import MakeAdapter


async def test_closing_and_branch_pull_requests_with_review_and_failing_checks(
    github: FakeGitHub, make_github_adapter: MakeAdapter
) -> None:
    board = github.add_project("acme", 1)
    issue = github.add_issue("Fix login")
    github.add_item(board, issue, status="Human Review")
    closing = github.add_pull_request(
        "Fix login",
        head="symphony/app-1",
        closes=[issue],
        review_decision="CHANGES_REQUESTED",
        checks=(
            "FAILURE",
            [
                ("check", "lint", "FAILURE"),
                ("check", "build", "SUCCESS"),
                ("check", "e2e", "TIMED_OUT"),
                ("status", "ci/legacy", "ERROR"),
                ("status", "deploy/preview", "SUCCESS"),
            ],
        ),
    )
    older = github.add_pull_request("First try", head="symphony/app-1", state="CLOSED")
    github.add_pull_request("Someone else's", head="feature/other")
    adapter = make_github_adapter(board=True)
    assert isinstance(adapter, LinkedChanges)
    [read] = await adapter.fetch_issues_by_ids([issue.id])

    found = await adapter.linked_pull_requests(read, branch="symphony/app-1")
    assert [pr.to_json() for pr in found] == [
        {
            "url": f"https://github.com/acme/app/pull/{closing.number}",
            "state": "OPEN",
            "review_decision": "CHANGES_REQUESTED",
            "checks": {"state": "FAILURE", "failing": ["lint", "e2e", "ci/legacy"]},
        },
        {
            "url": f"https://github.com/acme/app/pull/{older.number}",
            "state": "CLOSED",
            "review_decision": None,
            "checks": {"state": None, "failing": []},
        },
    ]
    # Without a branch, only the pull requests that close the issue; no repository read.
    [only] = await adapter.linked_pull_requests(read)
    assert only.url.endswith(f"/pull/{closing.number}")
    last = github.requests[-1]
    assert last.operation == queries.LINKED_PULL_REQUESTS_OPERATION
    assert last.variables is not None and last.variables["withHead"] is False


async def test_a_merged_pull_request_and_an_issue_with_none(
    github: FakeGitHub, make_github_adapter: MakeAdapter
) -> None:
    issue = github.add_issue("Done already")
    lonely = github.add_issue("Nothing yet")
    github.add_pull_request(
        "Done",
        head="fix",
        closes=[issue],
        state="MERGED",
        review_decision="APPROVED",
        checks=("SUCCESS", [("check", "test", "SUCCESS")]),
    )
    adapter = make_github_adapter()
    [done, nothing] = await adapter.fetch_issues_by_ids([issue.id, lonely.id])
    [merged] = await adapter.linked_pull_requests(done, branch="unrelated")
    assert (merged.state, merged.review_decision, merged.checks_state, merged.failing) == (
        "MERGED",
        "APPROVED",
        "SUCCESS",
        (),
    )
    assert await adapter.linked_pull_requests(nothing) == []


async def test_a_failure_raises_a_tracker_error(
    github: FakeGitHub, make_github_adapter: MakeAdapter
) -> None:
    issue = github.add_issue("Fix login")
    adapter = make_github_adapter()
    [read] = await adapter.fetch_issues_by_ids([issue.id])
    github.inject(Failure.bad_gateway())
    with pytest.raises(TrackerError) as info:
        await adapter.linked_pull_requests(read)
    assert info.value.category == TRACKER_STATUS
