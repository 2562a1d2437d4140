"""The ``github_graphql`` agent tool: GitHub's GraphQL API with the service's credentials.

The agent never sees the token (a personal token or the App's installation token): the call
runs here, host-side, and the result is GitHub's own JSON body. One operation per call, checked
before sending, so a failure names exactly one operation. GitHub's errors (a document it
refuses, a missing permission, a rate limit) come back as a failed tool result with GitHub's
body, which tells the agent what to fix; nothing here raises.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from symphony.logs import get_logger
from symphony.text import clip
from symphony.tools import ToolContext, ToolResult, ToolSpec
from symphony.trackers.base import TrackerError
from symphony.trackers.github.client import TRUNCATED, GitHubClient

if TYPE_CHECKING:
    from graphql import GraphQLSyntaxError

log = get_logger("symphony.trackers.github")

TOOL_NAME = "github_graphql"
MAX_TEXT_BODY_CHARS = 20_000
_ALLOWED_KEYS = ("query", "variables")

TOOL_SPEC = ToolSpec(
    name=TOOL_NAME,
    description=(
        "Execute one GraphQL query or mutation against GitHub's GraphQL API (v4) using "
        "Symphony's configured credentials (you never need a GitHub token). Send exactly one "
        "operation per call. The output is GitHub's JSON response; a top-level `errors` array "
        "means the operation failed even if some `data` came back. Git itself (clone, push) "
        "does not go through this tool."
    ),
    input_schema={
        "type": "object",
        "additionalProperties": False,
        "required": ["query"],
        "properties": {
            "query": {
                "type": "string",
                "description": "A GraphQL document with exactly one query or mutation.",
            },
            "variables": {
                "type": ["object", "null"],
                "description": "Optional GraphQL variables for the operation.",
                "additionalProperties": True,
            },
        },
    },
)


@dataclass(frozen=True, slots=True)
class ToolRequest:
    query: str
    variables: dict[str, Any]
    operation_type: str  # "query" or "mutation"
    operation_name: str | None


def parse_arguments(arguments: Any) -> ToolRequest | ToolResult:
    """Validate the agent's arguments; a ``ToolResult`` is the structured failure to return."""
    query: Any
    variables: Any
    if isinstance(arguments, str):
        query, variables = arguments, None
    elif isinstance(arguments, Mapping):
        unknown = sorted(str(k) for k in arguments if k not in _ALLOWED_KEYS)
        if unknown:
            return ToolResult.fail(
                f"`{TOOL_NAME}` got unknown argument(s) {', '.join(unknown)}; "
                "it accepts only `query` and optional `variables`."
            )
        query, variables = arguments.get("query"), arguments.get("variables")
    else:
        return ToolResult.fail(
            f"`{TOOL_NAME}` expects an object with a `query` string and optional `variables` "
            "object."
        )
    if not isinstance(query, str) or not query.strip():
        return ToolResult.fail(f"`{TOOL_NAME}` requires a non-empty `query` string.")
    if variables is None:
        variables = {}
    if not isinstance(variables, Mapping):
        return ToolResult.fail(f"`{TOOL_NAME}.variables` must be a JSON object when provided.")
    # graphql-core is imported on the first call, as for linear_graphql.
    from graphql import GraphQLSyntaxError, OperationDefinitionNode, parse

    try:
        document = parse(query)
    except GraphQLSyntaxError as exc:
        return ToolResult.fail(
            f"`{TOOL_NAME}.query` is not valid GraphQL: {exc.message}{_where(exc)}. "
            "Nothing was sent to GitHub."
        )
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1:
        names = ", ".join(op.name.value if op.name else "(anonymous)" for op in operations)
        found = f"{len(operations)} ({names})" if operations else "none"
        return ToolResult.fail(
            f"`{TOOL_NAME}` runs exactly one operation per call; the document has {found}. "
            "Send each operation in its own call."
        )
    operation = operations[0]
    kind = operation.operation.value
    if kind not in ("query", "mutation"):
        return ToolResult.fail(f"`{TOOL_NAME}` supports queries and mutations, not {kind}s.")
    return ToolRequest(
        query=query.strip(),
        variables={str(k): v for k, v in variables.items()},
        operation_type=kind,
        operation_name=operation.name.value if operation.name else None,
    )


async def run_github_graphql(
    client: GitHubClient, arguments: Any, context: ToolContext
) -> ToolResult:
    request = parse_arguments(arguments)
    if isinstance(request, ToolResult):
        _log(context, None, request, reason="invalid_arguments")
        return request
    result = await _execute(client, request)
    _log(context, request, result)
    return result


async def _execute(client: GitHubClient, request: ToolRequest) -> ToolResult:
    if not client.has_credentials:
        return ToolResult.fail(
            "Symphony has no GitHub credentials, so it cannot call GitHub. The operator must "
            "export GITHUB_TOKEN (or set `tracker.provider.api_key` or the GitHub App keys in "
            "WORKFLOW.md)."
        )
    label = request.operation_name or f"anonymous {request.operation_type}"
    try:
        response = await client.post(
            request.query,
            request.variables,
            operation=label,
            operation_name=request.operation_name or "",
        )
    except TrackerError as exc:
        detail: dict[str, Any] = {"category": exc.category}
        if exc.retry_after_ms is not None:
            detail["retryAfterMs"] = exc.retry_after_ms
        return ToolResult.fail(client.scrub(exc.message), **detail)
    try:
        payload: Any = json.loads(response.text)
    except ValueError:
        payload = None
    status = response.status_code
    body = _scrub(payload, client) if payload is not None else _text_body(client, response.text)
    limit = client.note_rate_limit(response, payload)
    if limit is not None:
        return ToolResult.fail(
            "GitHub rate limit reached; wait before calling GitHub again.",
            status=status,
            body=body,
            retryAfterMs=limit.retry_after_ms,
        )
    if status != 200:
        return ToolResult.fail(
            f"GitHub GraphQL request failed with HTTP {status}.", status=status, body=body
        )
    if not isinstance(payload, dict):
        return ToolResult.fail(
            "GitHub returned a response that is not a JSON object.", status=status, body=body
        )
    client.note_budget(payload)
    errors = payload.get("errors")
    failed = isinstance(errors, list) and len(errors) > 0
    return ToolResult(success=not failed, output=body)


def _scrub(value: Any, client: GitHubClient) -> Any:
    if isinstance(value, str):
        return client.scrub(value)
    if isinstance(value, list):
        return [_scrub(v, client) for v in value]
    if isinstance(value, dict):
        return {client.scrub(str(k)): _scrub(v, client) for k, v in value.items()}
    return value


def _text_body(client: GitHubClient, text: str) -> str:
    return clip(client.scrub(text), MAX_TEXT_BODY_CHARS, marker=TRUNCATED, within=False)


def _where(exc: GraphQLSyntaxError) -> str:
    locations = exc.locations or []
    if not locations:
        return ""
    return f" (line {locations[0].line}, column {locations[0].column})"


def _log(
    context: ToolContext,
    request: ToolRequest | None,
    result: ToolResult,
    *,
    reason: str | None = None,
) -> None:
    fields: dict[str, Any] = {
        "tool": TOOL_NAME,
        "issue_id": context.issue.id,
        "issue_identifier": context.issue.identifier,
    }
    if request is not None:
        fields["operation_type"] = request.operation_type
        fields["operation"] = request.operation_name
    fields["success"] = result.success
    if reason is not None:
        fields["reason"] = reason
    output = result.output
    if not result.success and isinstance(output, dict) and isinstance(output.get("error"), dict):
        status = output["error"].get("status")
        if status is not None:
            fields["status"] = status
    log.info("agent tool call", **fields)
