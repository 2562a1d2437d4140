"""The review loop's writes to GitHub (``IssueWrites``) and the prompt's comments.

A move sets the issue's status option on the board, or swaps its state labels; ``Closed``
closes the issue, and any other state reopens a closed one. Writes go out as the token's user.
"""

from __future__ import annotations

from typing import Any

from symphony.issue import IssueComment, normalize_state
from symphony.trackers.base import (
    MAX_PROMPT_COMMENTS,
    TRACKER_ISSUE_NOT_FOUND,
    TRACKER_PAGINATION,
    TRACKER_RESPONSE,
    TrackerError,
    UnknownState,
    has_marker,
    with_marker,
)
from symphony.trackers.github import queries
from symphony.trackers.github.client import GitHubClient, error_types
from symphony.trackers.github.normalize import is_closed
from symphony.trackers.github.project import ProjectInfo
from symphony.trackers.github.settings import BACKLOG_STATE, CLOSED_STATE, GitHubSettings
from symphony.trackers.graphql_http import comments_from_nodes

# Who a comment is by when GitHub shows no author (a deleted account).
UNKNOWN_AUTHOR = "ghost"


def _match(state: str, names: list[str]) -> str | None:
    """The exact spelling first, then the trimmed, any-case match every state name gets."""
    if state in names:
        return state
    wanted = normalize_state(state)
    return next((n for n in names if normalize_state(n) == wanted), None)


async def move_on_board(
    client: GitHubClient,
    project: ProjectInfo,
    settings: GitHubSettings,
    issue_id: str,
    identifier: str,
    state: str,
) -> str:
    op = queries.ISSUE_ITEMS_OPERATION
    body = await client.graphql(
        queries.ISSUE_ITEMS_QUERY,
        {"id": issue_id, "itemFirst": queries.ITEM_PAGE_SIZE, "statusField": settings.status_field},
        operation=op,
    )
    issue = _issue(client, body, op, identifier)
    names = [name for _, name in project.status_options]
    target = _match(state, [*names, CLOSED_STATE])
    if target is None:
        raise UnknownState(identifier, state, [*names, CLOSED_STATE])
    closed = is_closed(issue)
    if target == CLOSED_STATE:
        if not closed:
            await _mutate(
                client, queries.CLOSE_MUTATION, queries.CLOSE_OPERATION, issue_id, identifier
            )
        return CLOSED_STATE
    item = _item(issue, project.id)
    if item is None:
        raise TrackerError(
            TRACKER_ISSUE_NOT_FOUND,
            f"{identifier} is not on board {settings.project_owner}/{settings.project_number}",
        )
    option = next(option_id for option_id, name in project.status_options if name == target)
    status = item.get("status")
    current = status.get("optionId") if isinstance(status, dict) else None
    if current != option:
        answer = await client.graphql(
            queries.SET_STATUS_MUTATION,
            {
                "project": project.id,
                "item": item["id"],
                "field": project.status_field_id,
                "option": option,
            },
            operation=queries.SET_STATUS_OPERATION,
        )
        _require(client, answer, queries.SET_STATUS_OPERATION, identifier)
    if closed:
        await _mutate(
            client, queries.REOPEN_MUTATION, queries.REOPEN_OPERATION, issue_id, identifier
        )
    return target


async def move_by_labels(
    client: GitHubClient, settings: GitHubSettings, issue_id: str, identifier: str, state: str
) -> str:
    op = queries.ISSUE_STATE_LABELS_OPERATION
    prefix = settings.state_label_prefix
    body = await client.graphql(
        queries.ISSUE_STATE_LABELS_QUERY,
        {"id": issue_id, "first": queries.MAX_PAGE_SIZE, "prefix": prefix.strip()},
        operation=op,
    )
    issue = _issue(client, body, op, identifier)
    repo = issue.get("repository")
    state_labels = {
        name[len(prefix) :].strip(): label_id
        for label_id, name in _labels(repo.get("labels") if isinstance(repo, dict) else None)
        if name.lower().startswith(prefix.lower()) and name[len(prefix) :].strip()
    }
    available = [BACKLOG_STATE, *state_labels, CLOSED_STATE]
    target = _match(state, available)
    if target is None:
        raise UnknownState(identifier, state, available)
    closed = is_closed(issue)
    if target == CLOSED_STATE:
        if not closed:
            await _mutate(
                client, queries.CLOSE_MUTATION, queries.CLOSE_OPERATION, issue_id, identifier
            )
        return CLOSED_STATE
    wanted = state_labels.get(target)
    current = [
        label_id
        for label_id, name in _labels(issue.get("labels"))
        if name.lower().startswith(prefix.lower())
    ]
    stale = [label_id for label_id in current if label_id != wanted]
    if stale:
        answer = await client.graphql(
            queries.REMOVE_LABELS_MUTATION,
            {"id": issue_id, "labels": stale},
            operation=queries.REMOVE_LABELS_OPERATION,
        )
        _require(client, answer, queries.REMOVE_LABELS_OPERATION, identifier)
    if wanted is not None and wanted not in current:
        answer = await client.graphql(
            queries.ADD_LABELS_MUTATION,
            {"id": issue_id, "labels": [wanted]},
            operation=queries.ADD_LABELS_OPERATION,
        )
        _require(client, answer, queries.ADD_LABELS_OPERATION, identifier)
    if closed:
        await _mutate(
            client, queries.REOPEN_MUTATION, queries.REOPEN_OPERATION, issue_id, identifier
        )
    return target


async def add_comment(client: GitHubClient, issue_id: str, identifier: str, body: str) -> None:
    op = queries.COMMENT_OPERATION
    answer = await client.graphql(
        queries.COMMENT_MUTATION, {"id": issue_id, "body": body}, operation=op
    )
    _require(client, answer, op, identifier)


async def upsert_own_comment(
    client: GitHubClient, issue_id: str, identifier: str, key: str, body: str
) -> bool:
    stored = with_marker(key, body)
    existing = await _find_marked(client, issue_id, identifier, key)
    if existing is None:
        await add_comment(client, issue_id, identifier, stored)
        return True
    op = queries.COMMENT_UPDATE_OPERATION
    answer = await client.graphql(
        queries.COMMENT_UPDATE_MUTATION, {"id": existing, "body": stored}, operation=op
    )
    _require(client, answer, op, identifier)
    return False


async def prompt_comments(
    client: GitHubClient, issue_id: str, identifier: str
) -> list[IssueComment]:
    op = queries.PROMPT_COMMENTS_OPERATION
    body = await client.graphql(
        queries.PROMPT_COMMENTS_QUERY, {"id": issue_id, "last": MAX_PROMPT_COMMENTS}, operation=op
    )
    return conversation(_issue(client, body, op, identifier), op, identifier)


def conversation(issue: dict[str, Any], op: str, identifier: str) -> list[IssueComment]:
    """The prompt's comments in an issue node answered to ``op``, oldest first. A node without
    its comments raises ``tracker_response``: the prompt must not silently lose them."""
    nodes = _comment_nodes(issue, op, identifier)[0]
    return comments_from_nodes(nodes, author="author", name="login", unknown=UNKNOWN_AUTHOR)


async def _find_marked(
    client: GitHubClient, issue_id: str, identifier: str, key: str
) -> str | None:
    """The id of the token user's own comment of kind ``key`` on the issue, or None."""
    op = queries.OWN_COMMENTS_OPERATION
    seen: set[str] = set()
    after: str | None = None
    while True:
        variables = {"id": issue_id, "first": queries.MAX_PAGE_SIZE, "after": after}
        body = await client.graphql(queries.OWN_COMMENTS_QUERY, variables, operation=op)
        nodes, page_info = _comment_nodes(_issue(client, body, op, identifier), op, identifier)
        for node in nodes:
            if (
                isinstance(node, dict)
                and node.get("viewerDidAuthor") is True
                and isinstance(node.get("id"), str)
                and isinstance(node.get("body"), str)
                and has_marker(key, node["body"])
            ):
                return str(node["id"])
        if not isinstance(page_info, dict) or page_info.get("hasNextPage") is not True:
            return None
        after = page_info.get("endCursor")
        if not isinstance(after, str) or after in seen:
            raise TrackerError(
                TRACKER_PAGINATION, f"GitHub {op} of {identifier} gives no usable endCursor"
            )
        seen.add(after)


def _comment_nodes(issue: dict[str, Any], op: str, identifier: str) -> tuple[list[Any], Any]:
    connection = issue.get("comments")
    nodes = connection.get("nodes") if isinstance(connection, dict) else None
    if not isinstance(nodes, list):
        raise TrackerError(
            TRACKER_RESPONSE, f"GitHub answered {op} for {identifier} without comments"
        )
    return nodes, connection.get("pageInfo") if isinstance(connection, dict) else None


def _issue(client: GitHubClient, body: dict[str, Any], op: str, identifier: str) -> dict[str, Any]:
    """``data.node`` as an issue; an id GitHub cannot resolve is ``tracker_issue_not_found``."""
    data = body.get("data")
    node = data.get("node") if isinstance(data, dict) else None
    if isinstance(node, dict) and node:
        client.raise_errors(body, op)
        return node
    if not error_types(body) or "NOT_FOUND" in error_types(body) or isinstance(node, dict):
        raise TrackerError(
            TRACKER_ISSUE_NOT_FOUND, f"GitHub has no issue {identifier} that this token can see"
        )
    client.raise_errors(body, op)
    raise TrackerError(TRACKER_RESPONSE, f"GitHub answered {op} without data.node")


def _item(issue: dict[str, Any], project_id: str) -> dict[str, Any] | None:
    items = issue.get("projectItems")
    nodes = items.get("nodes") if isinstance(items, dict) else None
    for item in nodes if isinstance(nodes, list) else ():
        if not isinstance(item, dict) or item.get("isArchived") is True:
            continue
        project = item.get("project")
        if (
            isinstance(project, dict)
            and project.get("id") == project_id
            and isinstance(item.get("id"), str)
        ):
            return item
    return None


def _labels(connection: Any) -> list[tuple[str, str]]:
    nodes = connection.get("nodes") if isinstance(connection, dict) else None
    return [
        (n["id"], n["name"])
        for n in (nodes if isinstance(nodes, list) else ())
        if isinstance(n, dict) and isinstance(n.get("id"), str) and isinstance(n.get("name"), str)
    ]


async def _mutate(
    client: GitHubClient, mutation: str, op: str, issue_id: str, identifier: str
) -> None:
    answer = await client.graphql(mutation, {"id": issue_id}, operation=op)
    _require(client, answer, op, identifier)


def _require(client: GitHubClient, body: dict[str, Any], op: str, identifier: str) -> None:
    if "NOT_FOUND" in error_types(body):
        raise TrackerError(
            TRACKER_ISSUE_NOT_FOUND, f"GitHub has no issue {identifier} that this token can see"
        )
    client.raise_errors(body, op)
    data = body.get("data")
    if not isinstance(data, dict) or not any(isinstance(v, dict) for v in data.values()):
        raise TrackerError(TRACKER_RESPONSE, f"GitHub did not apply {op} to {identifier}")
