"""The pull requests of an issue for the proof of work (``LinkedChanges``): those that close it
(``closedByPullRequestsReferences``, closed and merged ones too) and those pushed from the
workspace's branch, with their review decision and the CI rollup of their head commit."""

from __future__ import annotations

from typing import Any

from symphony.issue import Issue
from symphony.trackers.base import TRACKER_RESPONSE, LinkedPullRequest, TrackerError
from symphony.trackers.github import queries
from symphony.trackers.github.client import GitHubClient
from symphony.trackers.github.settings import GitHubSettings

# A check run that ended like this, or a commit status in these states, is failing.
FAILED_CONCLUSIONS = frozenset(
    {"FAILURE", "TIMED_OUT", "CANCELLED", "ACTION_REQUIRED", "STARTUP_FAILURE"}
)
FAILED_STATUSES = frozenset({"FAILURE", "ERROR"})


async def linked_pull_requests(
    client: GitHubClient, settings: GitHubSettings, issue: Issue, branch: str | None
) -> list[LinkedPullRequest]:
    head = branch or issue.branch_name
    op = queries.LINKED_PULL_REQUESTS_OPERATION
    body = await client.graphql(
        queries.LINKED_PULL_REQUESTS_QUERY,
        {
            "id": issue.id,
            "owner": settings.owner,
            "name": settings.repo,
            "head": head or "",
            "withHead": bool(head),
            "first": queries.PULL_REQUEST_PAGE_SIZE,
            "checkFirst": queries.CHECK_PAGE_SIZE,
        },
        operation=op,
    )
    client.raise_errors(body, op)
    data = body.get("data")
    if not isinstance(data, dict):
        raise TrackerError(TRACKER_RESPONSE, f"GitHub answered {op} without data")
    found: dict[str, LinkedPullRequest] = {}
    for node in _nodes(data.get("node"), "closedByPullRequestsReferences") + _nodes(
        data.get("repository"), "pullRequests"
    ):
        pull = _pull_request(node)
        if pull is not None:
            found.setdefault(pull.url, pull)
    return list(found.values())


def _nodes(parent: Any, key: str) -> list[Any]:
    connection = parent.get(key) if isinstance(parent, dict) else None
    nodes = connection.get("nodes") if isinstance(connection, dict) else None
    return nodes if isinstance(nodes, list) else []


def _pull_request(node: Any) -> LinkedPullRequest | None:
    if not isinstance(node, dict):
        return None
    url, state = node.get("url"), node.get("state")
    if not isinstance(url, str) or not isinstance(state, str):
        return None
    decision = node.get("reviewDecision")
    rollup: Any = None
    for commit in _nodes(node, "commits"):
        inner = commit.get("commit") if isinstance(commit, dict) else None
        rollup = inner.get("statusCheckRollup") if isinstance(inner, dict) else None
    rollup_state = rollup.get("state") if isinstance(rollup, dict) else None
    return LinkedPullRequest(
        url=url,
        state=state,
        review_decision=decision if isinstance(decision, str) else None,
        checks_state=rollup_state if isinstance(rollup_state, str) else None,
        failing=tuple(_failing(_nodes(rollup, "contexts"))),
    )


def _failing(contexts: list[Any]) -> list[str]:
    names: list[str] = []
    for context in contexts:
        if not isinstance(context, dict):
            continue
        if context.get("__typename") == "CheckRun":
            name, failed = context.get("name"), context.get("conclusion") in FAILED_CONCLUSIONS
        else:
            name, failed = context.get("context"), context.get("state") in FAILED_STATUSES
        if failed and isinstance(name, str) and name not in names:
            names.append(name)
    return names
