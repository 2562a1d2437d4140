"""The ``github_graphql`` agent tool: GitHub's GraphQL API with the service's credentials.

The agent never sees the token (a personal token or the App's installation token). What every
such tool does (one operation per call, checked before sending; GitHub's body returned with a
failure, which tells the agent what to fix; nothing raises) is in ``trackers/graphql_tool.py``;
here is GitHub's client call, its rate-limit signals and its wording.
"""

from __future__ import annotations

import json
from typing import Any

from symphony.logs import get_logger
from symphony.tools import ToolContext, ToolResult
from symphony.trackers.base import TrackerError
from symphony.trackers.github.client import GitHubClient
from symphony.trackers.graphql_tool import (
    ToolRequest,
    answer,
    graphql_tool_spec,
    rate_limited,
    request_failed,
    response_body,
    run_graphql_tool,
)

log = get_logger("symphony.trackers.github")

TOOL_NAME = "github_graphql"
TRACKER = "GitHub"

TOOL_SPEC = graphql_tool_spec(
    TOOL_NAME,
    "Execute one GraphQL query or mutation against GitHub's GraphQL API (v4) using "
    "Symphony's configured credentials (you never need a GitHub token). Send exactly one "
    "operation per call. The output is GitHub's JSON response; a top-level `errors` array "
    "means the operation failed even if some `data` came back. Git itself (clone, push) "
    "does not go through this tool.",
)


async def run_github_graphql(
    client: GitHubClient, arguments: Any, context: ToolContext
) -> ToolResult:
    return await run_graphql_tool(
        arguments,
        context,
        lambda request: _execute(client, request),
        tool=TOOL_NAME,
        tracker=TRACKER,
        log=log,
    )


async def _execute(client: GitHubClient, request: ToolRequest) -> ToolResult:
    if not client.has_credentials:
        return ToolResult.fail(
            "Symphony has no GitHub credentials, so it cannot call GitHub. The operator must "
            "export GITHUB_TOKEN (or set `tracker.provider.api_key` or the GitHub App keys in "
            "WORKFLOW.md)."
        )
    try:
        response = await client.post(
            request.query,
            request.variables,
            operation=request.label,
            operation_name=request.operation_name or "",
        )
    except TrackerError as exc:
        return request_failed(exc, client.scrub)
    try:
        payload: Any = json.loads(response.text)
    except ValueError:
        payload = None
    status = response.status_code
    body = response_body(payload, response.text, client.scrub)
    limit = client.note_rate_limit(response, payload)
    if limit is not None:
        return rate_limited(TRACKER, status, body, limit.retry_after_ms)
    if isinstance(payload, dict):
        client.note_budget(payload)
    return answer(TRACKER, status, payload, body)
