"""The ``linear_graphql`` agent tool (SPEC §10.5, §11.5): raw GraphQL with the service's key.

The agent never sees the key: the call runs here, host-side, and the result is Linear's own JSON
body. One operation per call, checked before sending, so a failure names exactly one operation.
Unlike the reference, an HTTP error returns Linear's response body too: for a rejected query (HTTP
400) that body is the only place the agent can learn what to fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from symphony.logs import get_logger
from symphony.text import clip
from symphony.tools import ToolContext, ToolResult, ToolSpec
from symphony.trackers.base import TrackerError
from symphony.trackers.linear.client import TRUNCATED, LinearClient

log = get_logger("symphony.trackers.linear")

if TYPE_CHECKING:
    from graphql import GraphQLSyntaxError

TOOL_NAME = "linear_graphql"
MAX_TEXT_BODY_CHARS = 20_000
_ALLOWED_KEYS = ("query", "variables")

TOOL_SPEC = ToolSpec(
    name=TOOL_NAME,
    description=(
        "Execute one GraphQL query or mutation against Linear's API using Symphony's configured "
        "credentials (you never need a Linear token). Send exactly one operation per call. "
        "The output is Linear's JSON response; a top-level `errors` array means the operation "
        "failed even if some `data` came back."
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
    # graphql-core is imported on the first call: 150 modules the service need not hold in
    # memory until an agent uses this tool.
    from graphql import GraphQLSyntaxError, OperationDefinitionNode, parse

    try:
        document = parse(query)
    except GraphQLSyntaxError as exc:
        return ToolResult.fail(
            f"`{TOOL_NAME}.query` is not valid GraphQL: {exc.message}{_where(exc)}. "
            "Nothing was sent to Linear."
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


async def run_linear_graphql(
    client: LinearClient, arguments: Any, context: ToolContext
) -> ToolResult:
    request = parse_arguments(arguments)
    if isinstance(request, ToolResult):
        _log(context, None, request, reason="invalid_arguments")
        return request
    result = await _execute(client, request)
    _log(context, request, result)
    return result


async def _execute(client: LinearClient, request: ToolRequest) -> ToolResult:
    if not client.has_key:
        return ToolResult.fail(
            "Symphony has no Linear API key, so it cannot call Linear. The operator must set "
            "`tracker.provider.api_key` in WORKFLOW.md or export LINEAR_API_KEY."
        )
    label = request.operation_name or f"anonymous {request.operation_type}"
    try:
        raw = await client.post(request.query, request.variables, operation=label)
    except TrackerError as exc:
        detail: dict[str, Any] = {"category": exc.category}
        if exc.retry_after_ms is not None:
            detail["retryAfterMs"] = exc.retry_after_ms
        return ToolResult.fail(client.scrub(exc.message), **detail)
    body = _scrub(raw.payload, client) if raw.is_json else _text_body(client.scrub(raw.text))
    limit = client.note_rate_limit(raw)
    if limit is not None:
        extra: dict[str, Any] = {"status": raw.status, "body": body}
        if limit.retry_after_ms is not None:
            extra["retryAfterMs"] = limit.retry_after_ms
        return ToolResult.fail(
            "Linear rate limit reached; wait before calling Linear again.", **extra
        )
    if raw.status != 200:
        return ToolResult.fail(
            f"Linear GraphQL request failed with HTTP {raw.status}.", status=raw.status, body=body
        )
    if not raw.is_json or not isinstance(raw.payload, dict):
        return ToolResult.fail(
            "Linear returned a response that is not a JSON object.", status=raw.status, body=body
        )
    errors = raw.payload.get("errors")
    failed = isinstance(errors, list) and len(errors) > 0
    return ToolResult(success=not failed, output=body)


def _scrub(value: Any, client: LinearClient) -> Any:
    if isinstance(value, str):
        return client.scrub(value)
    if isinstance(value, list):
        return [_scrub(v, client) for v in value]
    if isinstance(value, dict):
        return {client.scrub(str(k)): _scrub(v, client) for k, v in value.items()}
    return value


def _text_body(text: str) -> str:
    return clip(text, MAX_TEXT_BODY_CHARS, marker=TRUNCATED, within=False)


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
