"""Moves (board status or state labels; Closed closes, leaving it reopens) and comments."""

from __future__ import annotations

import pytest

from symphony.trackers.base import TRACKER_ISSUE_NOT_FOUND, TrackerError, UnknownState
from symphony.trackers.github import queries
from tests.support.fake_github import FakeGitHub
from tests.trackers.github.conftest import MakeAdapter


async def test_board_moves_set_the_status_option(
    github: FakeGitHub, make_github_adapter: MakeAdapter
) -> None:
    board = github.add_project("acme", 1)
    other = github.add_project("acme", 2)
    issue = github.add_issue("Move me")
    github.add_item(board, issue, status="In Progress")
    github.add_item(other, issue, status="Todo")
    adapter = make_github_adapter(board=True)
    assert await adapter.move_issue(issue.id, "app#1", "human review") == "Human Review"
    assert github.status_of(board, issue) == "Human Review"
    assert github.status_of(other, issue) == "Todo"  # another board's column is its own
    assert await adapter.move_issue(issue.id, "app#1", "Closed") == "Closed"
    assert issue.state == "CLOSED" and github.status_of(board, issue) == "Human Review"
    # Leaving Closed reopens the issue.
    assert await adapter.move_issue(issue.id, "app#1", "Todo") == "Todo"
    assert issue.state == "OPEN" and github.status_of(board, issue) == "Todo"
    assert [m.operation for m in github.mutations()] == [
        queries.SET_STATUS_OPERATION,
        queries.CLOSE_OPERATION,
        queries.SET_STATUS_OPERATION,
        queries.REOPEN_OPERATION,
    ]
    with pytest.raises(UnknownState) as info:
        await adapter.move_issue(issue.id, "app#1", "Limbo")
    assert info.value.available == ("Todo", "In Progress", "Human Review", "Done", "Closed")


async def test_an_issue_off_the_board_cannot_move_on_it(
    github: FakeGitHub, make_github_adapter: MakeAdapter
) -> None:
    github.add_project("acme", 1)
    issue = github.add_issue("Not on the board")
    adapter = make_github_adapter(board=True)
    with pytest.raises(TrackerError) as info:
        await adapter.move_issue(issue.id, "app#1", "Todo")
    assert info.value.category == TRACKER_ISSUE_NOT_FOUND and "not on board" in info.value.message


async def test_label_moves_swap_the_state_labels(
    github: FakeGitHub, make_github_adapter: MakeAdapter
) -> None:
    github.add_label("status: Human Review")
    issue = github.add_issue("Move me", labels=["bug", "status: Todo", "status: In Progress"])
    adapter = make_github_adapter()
    assert await adapter.move_issue(issue.id, "app#1", "Human Review") == "Human Review"
    assert github.label_names(issue) == ["bug", "status: Human Review"]
    assert await adapter.move_issue(issue.id, "app#1", "closed") == "Closed"
    assert issue.state == "CLOSED"
    assert await adapter.move_issue(issue.id, "app#1", "Backlog") == "Backlog"
    assert issue.state == "OPEN" and github.label_names(issue) == ["bug"]
    with pytest.raises(UnknownState) as info:
        await adapter.move_issue(issue.id, "app#1", "Deploying")
    assert set(info.value.available) == {"Backlog", "Todo", "In Progress", "Human Review", "Closed"}


async def test_own_comments_are_found_among_the_token_user_s_only(
    github: FakeGitHub, make_github_adapter: MakeAdapter
) -> None:
    issue = github.add_issue("Proof")
    # Someone else's comment that starts with the marker is not Symphony's to overwrite.
    github.add_comment(issue, "<!-- symphony:proof -->\ncopied", author="rita")
    adapter = make_github_adapter()
    assert await adapter.upsert_own_comment(issue.id, "app#1", "proof", "one") is True
    assert await adapter.upsert_own_comment(issue.id, "app#1", "proof", "two") is False
    bodies = [c.body for c in github.comments_on(issue)]
    assert bodies == ["<!-- symphony:proof -->\ncopied", "<!-- symphony:proof -->\ntwo"]


async def test_prompt_comments_name_their_authors(
    github: FakeGitHub, make_github_adapter: MakeAdapter
) -> None:
    issue = github.add_issue("Talk")
    github.add_comment(issue, "first", author="rita")
    github.add_comment(issue, "second", author="sam")
    adapter = make_github_adapter()
    comments = await adapter.fetch_issue_comments(issue.id, "app#1")
    assert [(c.author, c.body) for c in comments] == [("rita", "first"), ("sam", "second")]
