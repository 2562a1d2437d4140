from __future__ import annotations

from typing import Any

import pytest

from symphony.trackers.candidate_writes import changes_issue_state, state_change_check


@pytest.mark.parametrize(
    ("name", "arguments", "changes"),
    [
        ("board_move_issue", {"state": "Done"}, True),
        ("board_add_comment", {"body": "note"}, False),
        ("board_upsert_workpad", {"body": "plan"}, False),
        ("board_create_issue", {"title": "follow-up"}, False),
        ("board_get_issue", {}, False),
        ("linear_graphql", {"query": "query { viewer { id } }"}, False),
        (
            "linear_graphql",
            {"query": 'mutation { commentCreate(input: {issueId: "i", body: "b"}) { success } }'},
            False,
        ),
        (
            "linear_graphql",
            {"query": 'mutation M { issueUpdate(id: "i", input: {stateId: "s"}) { success } }'},
            True,
        ),
        (
            "linear_graphql",
            {
                "query": "mutation { commentCreate(input: {}) { success } "
                'issueUpdate(id: "i", input: {}) { success } }'
            },
            True,
        ),
        ("github_graphql", "mutation { addComment(input: {}) { clientMutationId } }", False),
        ("github_graphql", "mutation { closeIssue(input: {}) { clientMutationId } }", True),
        (
            "github_graphql",
            {"query": "mutation { ...F } fragment F on Mutation { closeIssue { x } }"},
            True,
        ),
        ("github_graphql", {"query": "not graphql"}, False),
        ("some_other_tool", {"state": "Done"}, False),
    ],
)
def test_state_changing_calls_are_told_apart_from_reads_and_comments(
    name: str, arguments: Any, changes: bool
) -> None:
    assert changes_issue_state(name, arguments) is changes


def test_an_adapter_with_its_own_tools_says_which_change_state() -> None:
    class Aware:
        def changes_issue_state(self, name: str, arguments: Any) -> bool:
            return name == "own_move"

    assert state_change_check(Aware())("own_move", {}) is True
    assert state_change_check(object())("board_move_issue", {}) is True


def test_the_tool_names_are_the_trackers_own() -> None:
    from symphony.trackers import candidate_writes
    from symphony.trackers.github.tool import TOOL_NAME as GITHUB
    from symphony.trackers.linear.tool import TOOL_NAME as LINEAR
    from symphony.trackers.local.tools import MOVE_ISSUE

    assert candidate_writes.MOVE_ISSUE == MOVE_ISSUE
    assert {GITHUB, LINEAR} == candidate_writes.GRAPHQL_TOOLS
