"""The review loop's writes to Linear (``IssueWrites``) and the prompt's comments.

Every document is in ``queries`` and checked against Linear's schema in tests. Writes go out
as the API key's user.
"""

from __future__ import annotations

from typing import Any

from symphony.issue import IssueComment, normalize_state
from symphony.trackers.base import (
    MAX_PROMPT_COMMENTS,
    TRACKER_ISSUE_NOT_FOUND,
    TRACKER_RESPONSE,
    TrackerError,
    UnknownState,
    has_marker,
    with_marker,
)
from symphony.trackers.graphql_http import comments_from_nodes
from symphony.trackers.linear import queries
from symphony.trackers.linear.client import LinearClient
from symphony.trackers.linear.responses import error_messages, next_cursor, raise_graphql_errors

# Who a comment is by when Linear shows no user (an integration or a deleted account).
UNKNOWN_AUTHOR = "unknown"


async def move_issue(client: LinearClient, issue_id: str, identifier: str, state: str) -> str:
    op = queries.ISSUE_STATES_OPERATION
    variables = {"id": issue_id, "first": queries.MAX_PAGE_SIZE}
    body = await client.graphql(queries.ISSUE_STATES_QUERY, variables, operation=op)
    issue = _issue(client, body, op, identifier)
    team = issue.get("team")
    states = team.get("states") if isinstance(team, dict) else None
    nodes = states.get("nodes") if isinstance(states, dict) else None
    if not isinstance(nodes, list):
        raise TrackerError(
            TRACKER_RESPONSE, f"Linear answered {op} for {identifier} without states"
        )
    named: list[tuple[str, str]] = [
        (n["id"], n["name"])
        for n in nodes
        if isinstance(n, dict) and isinstance(n.get("id"), str) and isinstance(n.get("name"), str)
    ]
    # The exact spelling first, then the trimmed, any-case match every state name gets.
    target = next(((i, n) for i, n in named if n == state), None)
    if target is None:
        wanted = normalize_state(state)
        target = next(((i, n) for i, n in named if normalize_state(n) == wanted), None)
    if target is None:
        raise UnknownState(identifier, state, [n for _, n in named])
    state_id, name = target
    current = issue.get("state")
    if isinstance(current, dict) and current.get("id") == state_id:
        return name
    op = queries.MOVE_OPERATION
    body = await client.graphql(
        queries.MOVE_MUTATION, {"id": issue_id, "stateId": state_id}, operation=op
    )
    _require_success(client, body, op, "issueUpdate", f"Linear did not move {identifier} to {name}")
    return name


async def upsert_own_comment(
    client: LinearClient, issue_id: str, identifier: str, key: str, body: str
) -> bool:
    stored = with_marker(key, body)
    existing = await _find_marked(client, issue_id, identifier, key)
    if existing is None:
        op = queries.COMMENT_OPERATION
        answer = await client.graphql(
            queries.COMMENT_MUTATION, {"issueId": issue_id, "body": stored}, operation=op
        )
        _require_success(
            client,
            answer,
            op,
            "commentCreate",
            f"Linear did not create the comment on {identifier}",
        )
        return True
    op = queries.COMMENT_UPDATE_OPERATION
    answer = await client.graphql(
        queries.COMMENT_UPDATE_MUTATION, {"id": existing, "body": stored}, operation=op
    )
    _require_success(
        client, answer, op, "commentUpdate", f"Linear did not update the comment on {identifier}"
    )
    return False


async def prompt_comments(
    client: LinearClient, issue_id: str, identifier: str
) -> list[IssueComment]:
    op = queries.PROMPT_COMMENTS_OPERATION
    variables = {"id": issue_id, "first": MAX_PROMPT_COMMENTS}
    body = await client.graphql(queries.PROMPT_COMMENTS_QUERY, variables, operation=op)
    nodes = _comment_nodes(client, body, op, identifier)[0]
    return comments_from_nodes(nodes, author="user", name="name", unknown=UNKNOWN_AUTHOR)


async def _find_marked(
    client: LinearClient, issue_id: str, identifier: str, key: str
) -> str | None:
    """The id of Symphony's own comment of kind ``key`` on the issue, or None."""
    op = queries.OWN_COMMENTS_OPERATION
    cursors: set[str] = set()
    after: str | None = None
    number = 0
    while True:
        number += 1
        variables = {"id": issue_id, "first": queries.MAX_PAGE_SIZE, "after": after}
        body = await client.graphql(queries.OWN_COMMENTS_QUERY, variables, operation=op)
        nodes, page_info = _comment_nodes(client, body, op, identifier)
        for node in nodes:
            if (
                isinstance(node, dict)
                and isinstance(node.get("id"), str)
                and isinstance(node.get("body"), str)
                and has_marker(key, node["body"])
            ):
                return str(node["id"])
        after = next_cursor(page_info, f"Linear {op} page {number} of {identifier}", cursors)
        if after is None:
            return None


def _comment_nodes(
    client: LinearClient, body: dict[str, Any], op: str, identifier: str
) -> tuple[list[Any], Any]:
    issue = _issue(client, body, op, identifier)
    connection = issue.get("comments")
    nodes = connection.get("nodes") if isinstance(connection, dict) else None
    if not isinstance(nodes, list):
        raise TrackerError(
            TRACKER_RESPONSE, f"Linear answered {op} for {identifier} without comments"
        )
    return nodes, connection.get("pageInfo") if isinstance(connection, dict) else None


def _issue(client: LinearClient, body: dict[str, Any], op: str, identifier: str) -> dict[str, Any]:
    """``data.issue``; an issue Linear does not have is ``tracker_issue_not_found``."""
    data = body.get("data")
    issue = data.get("issue") if isinstance(data, dict) else None
    if isinstance(issue, dict):
        raise_graphql_errors(client, body, op)
        return issue
    messages = error_messages(body)
    if not messages or any("not found" in m.lower() for m in messages):
        raise TrackerError(
            TRACKER_ISSUE_NOT_FOUND,
            f"Linear has no issue {identifier} that this API key can see",
        )
    raise_graphql_errors(client, body, op)
    raise TrackerError(TRACKER_RESPONSE, f"Linear answered {op} without data.issue")


def _require_success(
    client: LinearClient, body: dict[str, Any], op: str, field: str, failure: str
) -> None:
    if any("not found" in m.lower() for m in error_messages(body)):
        raise TrackerError(
            TRACKER_ISSUE_NOT_FOUND, f"{failure}: {client.scrub(error_messages(body)[0])}"
        )
    raise_graphql_errors(client, body, op)
    data = body.get("data")
    payload = data.get(field) if isinstance(data, dict) else None
    if not isinstance(payload, dict) or payload.get("success") is not True:
        raise TrackerError(TRACKER_RESPONSE, failure)
