"""The ``linear_graphql`` agent tool (SPEC §10.5, §11.5): raw GraphQL with the service's key.

What every such tool does (one operation per call, checked before sending; the tracker's body
returned also on an HTTP error) is in ``trackers/graphql_tool.py``; here is Linear's client call,
its rate-limit signals and its wording.
"""

from __future__ import annotations

from typing import Any

from symphony.logs import get_logger
from symphony.tools import ToolContext, ToolResult
from symphony.trackers.base import TrackerError
from symphony.trackers.graphql_tool import (
    ToolRequest,
    answer,
    graphql_tool_spec,
    rate_limited,
    request_failed,
    response_body,
    run_graphql_tool,
)
from symphony.trackers.linear.client import LinearClient

log = get_logger("symphony.trackers.linear")

TOOL_NAME = "linear_graphql"
TRACKER = "Linear"

TOOL_SPEC = graphql_tool_spec(
    TOOL_NAME,
    "Execute one GraphQL query or mutation against Linear's API using Symphony's configured "
    "credentials (you never need a Linear token). Send exactly one operation per call. "
    "The output is Linear's JSON response; a top-level `errors` array means the operation "
    "failed even if some `data` came back.",
)


async def run_linear_graphql(
    client: LinearClient, arguments: Any, context: ToolContext
) -> ToolResult:
    return await run_graphql_tool(
        arguments,
        context,
        lambda request: _execute(client, request),
        tool=TOOL_NAME,
        tracker=TRACKER,
        log=log,
    )


async def _execute(client: LinearClient, request: ToolRequest) -> ToolResult:
    if not client.has_key:
        return ToolResult.fail(
            "Symphony has no Linear API key, so it cannot call Linear. The operator must set "
            "`tracker.provider.api_key` in WORKFLOW.md or export LINEAR_API_KEY."
        )
    try:
        raw = await client.post(request.query, request.variables, operation=request.label)
    except TrackerError as exc:
        return request_failed(exc, client.scrub)
    payload = raw.payload if raw.is_json else None
    body = response_body(payload, raw.text, client.scrub)
    limit = client.note_rate_limit(raw)
    if limit is not None:
        return rate_limited(TRACKER, raw.status, body, limit.retry_after_ms)
    return answer(TRACKER, raw.status, payload, body)
