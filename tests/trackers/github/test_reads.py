"""Reads from the fake GitHub: a Projects (v2) board, or labels; scope, states and paging."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from graphql import parse, validate
from graphql.type import GraphQLSchema

from symphony.trackers.base import (
    MAX_PROMPT_COMMENTS,
    TRACKER_RESPONSE,
    ConversationReads,
    TrackerError,
)
from symphony.trackers.github import queries
from symphony.trackers.github.writes import UNKNOWN_AUTHOR
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


WITH_COMMENTS = queries.WITH_COMMENTS_OPERATION


@pytest.mark.parametrize("board", [True, False], ids=["board", "labels"])
async def test_issues_with_comments_are_the_issues_by_id_with_their_prompt_comments(
    github: FakeGitHub, make_github_adapter: MakeAdapter, board: bool
) -> None:
    project = github.add_project("acme", 1, priority=["P0", "P1"]) if board else None
    state = [] if board else ["status: Todo"]  # on a board, the board's status says it
    talk = github.add_issue("Reworked", labels=["Bug", *state], assignees=["ana"])
    github.add_comment(talk, "Proof of work", author=github.data.viewer)
    github.add_comment(talk, "Rework: the empty case crashes", author="rita")
    quiet = github.add_issue("No conversation", labels=state)
    long = github.add_issue("A long thread", labels=state)
    for n in range(MAX_PROMPT_COMMENTS + 7):
        github.add_comment(long, f"Comment {n}", author="sam")
    if project is not None:
        for issue in (talk, quiet, long):
            github.add_item(project, issue, status="Todo", priority="P1")
    adapter = make_github_adapter(board=board, priority_field="Priority" if board else None)
    assert isinstance(adapter, ConversationReads)
    wanted = [talk.id, "I_nope", quiet.id, long.id, talk.id]

    issues = await adapter.fetch_issues_with_comments(wanted)
    [request] = [r for r in github.requests if r.operation == WITH_COMMENTS]
    assert request.variables["ids"] == [talk.id, "I_nope", quiet.id, long.id]
    assert request.variables["commentLast"] == MAX_PROMPT_COMMENTS
    # The same issues as a read by id (Issue equality leaves comments out) ...
    assert [i.id for i in issues] == [talk.id, quiet.id, long.id]
    assert issues == await adapter.fetch_issues_by_ids(wanted)
    assert [i.state for i in issues] == ["Todo"] * 3
    assert issues[0].priority == (2 if board else None) and issues[0].labels == ("bug",)
    # ... each with the comments its prompt read would give.
    for issue in issues:
        assert issue.comments == tuple(
            await adapter.fetch_issue_comments(issue.id, issue.identifier)
        )
    assert [(c.author, c.body) for c in issues[0].comments] == [
        (github.data.viewer, "Proof of work"),
        ("rita", "Rework: the empty case crashes"),
    ]
    assert issues[1].comments == ()
    # The newest 50, oldest first.
    assert [c.body for c in issues[2].comments] == [
        f"Comment {n}" for n in range(7, MAX_PROMPT_COMMENTS + 7)
    ]


def _first_node(rewrite: Callable[[dict[str, Any]], None]) -> Callable[[Any], Any]:
    """A response rewrite applied to the first issue node of a ``nodes`` or ``node`` answer."""

    def apply(body: Any) -> Any:
        data = body["data"]
        rewrite(data["nodes"][0] if "nodes" in data else data["node"])
        return body

    return apply


async def test_issues_with_comments_name_a_deleted_author_as_the_prompt_read_does(
    github: FakeGitHub, make_github_adapter: MakeAdapter
) -> None:
    issue = github.add_issue("Orphaned", labels=["status: Todo"])
    github.add_comment(issue, "from an account since deleted", author="gone")
    github.add_comment(issue, "still here", author="rita")

    def ghost(node: dict[str, Any]) -> None:
        node["comments"]["nodes"][0]["author"] = None

    adapter = make_github_adapter()
    for operation in (WITH_COMMENTS, queries.PROMPT_COMMENTS_OPERATION):
        github.inject(Failure.rewritten(_first_node(ghost)), operation=operation)
    [read] = await adapter.fetch_issues_with_comments([issue.id])
    alone = await adapter.fetch_issue_comments(read.id, read.identifier)
    assert read.comments == tuple(alone)
    assert [c.author for c in read.comments] == [UNKNOWN_AUTHOR, "rita"]


async def test_issues_with_comments_go_fifty_a_request(
    github: FakeGitHub, make_github_adapter: MakeAdapter
) -> None:
    size = queries.WITH_COMMENTS_PAGE_SIZE
    board = github.add_project("acme", 1, priority=["P0", "P1"])
    created = [github.add_issue(f"Issue {n}") for n in range(2 * size + 1)]
    for issue in created:
        github.add_item(board, issue, status="Todo", priority="P0")
        github.add_comment(issue, f"About {issue.number}")
    adapter = make_github_adapter(board=True, priority_field="Priority")
    issues = await adapter.fetch_issues_with_comments([c.id for c in created])
    assert [i.id for i in issues] == [c.id for c in created]
    assert [[c.body for c in i.comments] for i in issues] == [
        [f"About {r.number}"] for r in created
    ]
    # Full batches with every optional part of the document are within GitHub's limits: the
    # fixture fails the test on a request the fake refuses.
    batches = [r for r in github.requests if r.operation == WITH_COMMENTS]
    assert [len(r.variables["ids"]) for r in batches] == [size, size, 1]
    assert all(r.variables["withItems"] and r.variables["withPriority"] for r in batches)
    # A read by id without the comments still goes a hundred a request.
    await adapter.fetch_issues_by_ids([c.id for c in created])
    by_id = [r for r in github.requests if r.operation == queries.BY_IDS_OPERATION]
    assert [len(r.variables["ids"]) for r in by_id] == [queries.PAGE_SIZE, 1]


def _drop(node: dict[str, Any]) -> None:
    del node["comments"]


def _null(node: dict[str, Any]) -> None:
    node["comments"] = None


def _no_nodes(node: dict[str, Any]) -> None:
    node["comments"] = {"nodes": None}


@pytest.mark.parametrize("breakage", [_drop, _null, _no_nodes], ids=["missing", "null", "no-nodes"])
async def test_issues_with_comments_fail_on_an_answer_without_comments(
    github: FakeGitHub,
    make_github_adapter: MakeAdapter,
    breakage: Callable[[dict[str, Any]], None],
) -> None:
    issue = github.add_issue("Will lose its comments", labels=["status: Todo"])
    github.add_comment(issue, "Please also handle the empty case")
    github.inject(Failure.rewritten(_first_node(breakage)), operation=WITH_COMMENTS)
    adapter = make_github_adapter()
    with pytest.raises(TrackerError) as info:
        await adapter.fetch_issues_with_comments([issue.id])
    assert info.value.category == TRACKER_RESPONSE
    assert f"app#{issue.number}" in info.value.message
    assert "without comments" in info.value.message
