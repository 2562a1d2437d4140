"""Reads from the fake GitHub: a Projects (v2) board, or labels; scope, states and paging."""

from __future__ import annotations

import pytest
from graphql import parse, validate
from graphql.type import GraphQLSchema

from symphony.trackers.base import TRACKER_RESPONSE, TrackerError
from symphony.trackers.github import queries
from symphony.workspace.keys import workspace_key
from tests.support.fake_github import Failure, FakeGitHub
from tests.trackers.github.conftest import MakeAdapter


def test_every_document_is_valid_against_the_public_schema(github_schema: GraphQLSchema) -> None:
    for name, document in queries.ALL.items():
        parsed = parse(document)
        assert not validate(github_schema, parsed), name
        assert name in document


async def test_board_mode_reads_this_repository_s_issues_with_their_board_status(
    github: FakeGitHub, make_github_adapter: MakeAdapter
) -> None:
    board = github.add_project("acme", 1, priority=["P0", "P1", "P2"])
    other_board = github.add_project("acme", 2)
    other_repo = github.add_repository("acme", "site")
    todo = github.add_issue("Fix login", labels=["Bug", "UI"], assignees=["ana"], body="Steps")
    review = github.add_issue("Review me")
    unset = github.add_issue("No status yet")
    closed = github.add_issue("Finished", closed=True)
    elsewhere = github.add_issue("Other repository", repo=other_repo)
    pull = github.add_issue("A pull request", pull_request=True)
    github.add_item(board, todo, status="Todo", priority="P1")
    github.add_item(board, review, status="Human Review")
    github.add_item(board, unset)
    github.add_item(board, closed, status="In Progress")
    github.add_item(board, elsewhere, status="Todo")
    github.add_item(board, pull, status="Todo")
    github.add_item(board, status="Todo", draft_title="An idea")
    # The same issue on another board, in another column: this board's status counts.
    github.add_item(other_board, review, status="Todo")
    adapter = make_github_adapter(board=True, priority_field="Priority")

    [issue] = await adapter.fetch_issues_by_states(["todo"])
    assert issue.id == todo.id
    assert issue.identifier == "app#1" and issue.url == "https://github.com/acme/app/issues/1"
    assert workspace_key(issue.identifier).startswith("app_1--")
    assert issue.native_ref == {"repository": "acme/app", "number": 1}
    assert (issue.title, issue.state, issue.description) == ("Fix login", "Todo", "Steps")
    assert issue.labels == ("bug", "ui") and issue.assignee_id == "ana"
    assert issue.priority == 2 and issue.blocked_by == () and issue.dispatchable

    states = {
        i.title: i.state
        for i in await adapter.fetch_issues_by_states(
            ["Todo", "Human Review", "No Status", "Closed", "In Progress"]
        )
    }
    assert states == {
        "Fix login": "Todo",
        "Review me": "Human Review",
        "No status yet": "No Status",
        "Finished": "Closed",
    }
    by_id = await adapter.fetch_issues_by_ids([closed.id, review.id, elsewhere.id, pull.id])
    assert [(i.title, i.state) for i in by_id] == [
        ("Finished", "Closed"),
        ("Review me", "Human Review"),
    ]


async def test_an_issue_off_the_board_is_out_of_scope_by_id(
    github: FakeGitHub, make_github_adapter: MakeAdapter
) -> None:
    board = github.add_project("acme", 1)
    issue = github.add_issue("Taken off the board")
    github.add_item(board, issue, status="Todo")
    adapter = make_github_adapter(board=True)
    assert [i.id for i in await adapter.fetch_issues_by_ids([issue.id])] == [issue.id]
    github.remove_item(board, issue)
    assert await adapter.fetch_issues_by_ids([issue.id]) == []


async def test_a_board_of_more_than_100_items_is_read_page_by_page(
    github: FakeGitHub, make_github_adapter: MakeAdapter
) -> None:
    board = github.add_project("acme", 1)
    for n in range(230):
        github.add_item(board, github.add_issue(f"Issue {n}"), status="Todo")
    adapter = make_github_adapter(board=True)
    issues = await adapter.fetch_issues_by_states(["Todo"])
    assert len({i.id for i in issues}) == 230
    pages = [r for r in github.requests if r.operation == queries.BOARD_OPERATION]
    assert len(pages) == 3 and all(r.variables["first"] == 100 for r in pages)
    # Two points a page of a hundred: a 100-item board polled every 30 s spends 240 an hour.
    assert [r.cost for r in pages] == [2, 2, 2]
    assert adapter.rate_limit_state().poll_cost == 6


async def test_a_number_priority_field_is_rounded(
    github: FakeGitHub, make_github_adapter: MakeAdapter
) -> None:
    board = github.add_project("acme", 1, number_priority=True)
    for value in (2.4, 0.2, None):
        issue = github.add_issue(f"Priority {value}")
        github.add_item(board, issue, status="Todo", priority=value)
    adapter = make_github_adapter(board=True, priority_field="Priority")
    found = {i.title: i.priority for i in await adapter.fetch_issues_by_states(["Todo"])}
    assert found == {"Priority 2.4": 2, "Priority 0.2": None, "Priority None": None}


async def test_labels_mode_reads_states_from_prefixed_labels(
    github: FakeGitHub, make_github_adapter: MakeAdapter
) -> None:
    todo = github.add_issue("Ready", labels=["status: Todo", "Bug"])
    backlog = github.add_issue("Someday", labels=["idea"])
    closed = github.add_issue("Done and dusted", labels=["status: Todo"], closed=True)
    progress = github.add_issue("Going", labels=["Status: In Progress"])
    adapter = make_github_adapter()
    [issue] = await adapter.fetch_issues_by_states(["Todo"])
    assert (issue.id, issue.state, issue.labels) == (todo.id, "Todo", ("bug",))
    found = {
        i.id: i.state
        for i in await adapter.fetch_issues_by_states(["Backlog", "In Progress", "Closed"])
    }
    assert found == {backlog.id: "Backlog", progress.id: "In Progress", closed.id: "Closed"}
    # Open issues only, unless Closed is asked for.
    states = [
        r.variables["states"]
        for r in github.requests
        if r.operation == queries.REPOSITORY_OPERATION
    ]
    assert states == [["OPEN"], ["OPEN", "CLOSED"]]


async def test_a_custom_label_prefix(github: FakeGitHub, make_github_adapter: MakeAdapter) -> None:
    github.add_issue("Ready", labels=["state/todo"])
    adapter = make_github_adapter(state_label_prefix="state/")
    [issue] = await adapter.fetch_issues_by_states(["Todo"])
    assert issue.state == "todo" and issue.labels == ()


async def test_an_issue_with_many_labels_gets_them_all(
    github: FakeGitHub, make_github_adapter: MakeAdapter
) -> None:
    names = [f"label-{n:02}" for n in range(queries.LABEL_PAGE_SIZE + 5)]
    github.add_issue("Labelled", labels=[*names, "status: Todo"])
    adapter = make_github_adapter()
    [issue] = await adapter.fetch_issues_by_states(["Todo"])
    assert issue.labels == tuple(names)
    assert queries.LABELS_OPERATION in github.operations()


async def test_unknown_ids_are_omitted(
    github: FakeGitHub, make_github_adapter: MakeAdapter
) -> None:
    issue = github.add_issue("Known", labels=["status: Todo"])
    adapter = make_github_adapter()
    found = await adapter.fetch_issues_by_ids(["I_nope", issue.id])
    assert [i.id for i in found] == [issue.id]


async def test_an_id_read_with_other_errors_fails_rather_than_omits(
    github: FakeGitHub, make_github_adapter: MakeAdapter
) -> None:
    issue = github.add_issue("Known", labels=["status: Todo"])
    github.inject(Failure.graphql_errors("Timeout on a field", data={"nodes": [None]}))
    adapter = make_github_adapter()
    with pytest.raises(TrackerError) as info:
        await adapter.fetch_issues_by_ids([issue.id])
    assert info.value.category == TRACKER_RESPONSE and "Timeout on a field" in info.value.message


async def test_polling_a_100_item_board_every_30_s_stays_under_600_points_an_hour(
    github: FakeGitHub, make_github_adapter: MakeAdapter
) -> None:
    board = github.add_project("acme", 1, priority=["P0", "P1"])
    for n in range(100):
        labels = [f"area-{n % 7}", "bug"] if n % 2 else []
        github.add_item(board, github.add_issue(f"Issue {n}", labels=labels), status="Todo")
    adapter = make_github_adapter(board=True, priority_field="Priority")
    await adapter.fetch_issues_by_states(["Todo", "In Progress"])  # also reads the board's fields
    before = github.points_spent()
    await adapter.fetch_issues_by_states(["Todo", "In Progress"])
    per_poll = github.points_spent() - before
    assert per_poll == 2
    assert per_poll * 3600 // 30 < 600
