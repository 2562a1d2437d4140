"""Issue nodes -> ``Issue``: states from a board or labels, priorities, malformed records."""

from __future__ import annotations

from typing import Any

import pytest

from symphony.trackers.github.normalize import (
    MalformedIssue,
    board_state,
    label_state,
    normalize_issue,
    priority_of,
)
from tests.support.fake_github import FakeGitHub
from tests.trackers.github.conftest import MakeAdapter


def node(**fields: Any) -> dict[str, Any]:
    return {
        "id": "I_1",
        "number": 42,
        "title": "Fix it",
        "state": "OPEN",
        "repository": {"nameWithOwner": "acme/app"},
        **fields,
    }


def test_board_states() -> None:
    assert board_state(node(), {"name": " In Progress "}) == "In Progress"
    assert board_state(node(), None) == "No Status"
    assert board_state(node(), {}) == "No Status"  # a value of another field type
    assert board_state(node(state="CLOSED"), {"name": "Todo"}) == "Closed"


def test_label_states() -> None:
    assert label_state(node(), ["bug", "status: Todo"], "status: ") == "Todo"
    assert label_state(node(), ["STATUS: In Progress"], "status: ") == "In Progress"
    assert label_state(node(), ["status: "], "status: ") == "Backlog"
    assert label_state(node(), [], "status: ") == "Backlog"
    assert label_state(node(state="CLOSED"), ["status: Todo"], "status: ") == "Closed"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"number": 3.0}, 3),
        ({"number": 1.6}, 2),
        ({"number": 0.4}, None),
        ({"number": -2}, None),
        ({"number": float("nan")}, None),
        ({"optionId": "b"}, 2),
        ({"optionId": "zz"}, None),
        ({}, None),
        (None, None),
    ],
)
def test_priorities(value: Any, expected: int | None) -> None:
    assert priority_of(value, ["a", "b", "c"]) == expected


def test_identifier_and_fields() -> None:
    issue = normalize_issue(
        node(
            body="",
            url="https://github.com/acme/app/issues/42",
            assignees={"nodes": [{"login": " ana "}, {"login": "bo"}]},
            labels={"nodes": [{"name": "Bug"}, {"name": "bug "}]},
            createdAt="2026-01-05T09:00:00Z",
            updatedAt="2026-01-05T09:00:01Z",
        ),
        state="Todo",
        priority=None,
    )
    assert issue.identifier == "app#42" and issue.description is None
    assert issue.assignee_id == "ana" and issue.labels == ("bug",)
    assert issue.dispatchable and issue.blocked_by == ()


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"id": None}, "missing id"),
        ({"number": "42"}, "missing number"),
        ({"repository": None}, "missing repository.nameWithOwner"),
        ({"title": "  "}, "missing title"),
    ],
)
def test_malformed_records(fields: dict[str, Any], problem: str) -> None:
    with pytest.raises(MalformedIssue, match=problem):
        normalize_issue(node(**fields), state="Todo", priority=None)


async def test_a_user_s_board_works_like_an_organization_s(
    github: FakeGitHub, make_github_adapter: MakeAdapter
) -> None:
    github.add_account("ana")
    board = github.add_project("ana", 3)
    issue = github.add_issue("On Ana's board")
    github.add_item(board, issue, status="Todo")
    adapter = make_github_adapter(project_owner="ana", project_number=3)
    [found] = await adapter.fetch_issues_by_states(["Todo"])
    assert found.id == issue.id
