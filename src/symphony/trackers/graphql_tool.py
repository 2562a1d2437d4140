"""What every raw-GraphQL agent tool shares (``linear_graphql``, ``github_graphql``).

The agent never sees the tracker's credentials: the call runs host-side and the result is the
tracker's own JSON body. One operation per call, checked before anything is sent, so a failure
names exactly one operation; an HTTP error returns the tracker's body too, since for a rejected
document that body is the only place the agent learns what to fix. Each tracker's module adds
its client call, its rate-limit reading and its wording.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from symphony.text import clip
from symphony.tools import ToolContext, ToolResult, ToolSpec
from symphony.trackers.base import TrackerError

if TYPE_CHECKING:
    from graphql import GraphQLSyntaxError
    from structlog.stdlib import BoundLogger

MAX_TEXT_BODY_CHARS = 20_000
TRUNCATED = "...<truncated>"
_ALLOWED_KEYS = ("query", "variables")

Scrub = Callable[[str], str]


def graphql_tool_spec(name: str, description: str) -> ToolSpec:
    return ToolSpec(
        name=name,
        description=description,
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

    @property
    def label(self) -> str:
        return self.operation_name or f"anonymous {self.operation_type}"


async def run_graphql_tool(
    arguments: Any,
    context: ToolContext,
    execute: Callable[[ToolRequest], Awaitable[ToolResult]],
    *,
    tool: str,
    tracker: str,
    log: BoundLogger,
) -> ToolResult:
    """Check the agent's arguments, ``execute`` the one operation, and log the call either way."""
    request = parse_arguments(arguments, tool=tool, tracker=tracker)
    if isinstance(request, ToolResult):
        log_tool_call(log, tool, context, None, request, reason="invalid_arguments")
        return request
    result = await execute(request)
    log_tool_call(log, tool, context, request, result)
    if result.success and request.operation_type == "mutation":
        result = replace(result, wrote=True)
    return result


def parse_arguments(arguments: Any, *, tool: str, tracker: str) -> ToolRequest | ToolResult:
    """Validate the agent's arguments; a ``ToolResult`` is the structured failure to return.
    ``tracker`` names the service for the agent ("Nothing was sent to Linear.")."""
    query: Any
    variables: Any
    if isinstance(arguments, str):
        query, variables = arguments, None
    elif isinstance(arguments, Mapping):
        unknown = sorted(str(k) for k in arguments if k not in _ALLOWED_KEYS)
        if unknown:
            return ToolResult.fail(
                f"`{tool}` got unknown argument(s) {', '.join(unknown)}; "
                "it accepts only `query` and optional `variables`."
            )
        query, variables = arguments.get("query"), arguments.get("variables")
    else:
        return ToolResult.fail(
            f"`{tool}` expects an object with a `query` string and optional `variables` object."
        )
    if not isinstance(query, str) or not query.strip():
        return ToolResult.fail(f"`{tool}` requires a non-empty `query` string.")
    if variables is None:
        variables = {}
    if not isinstance(variables, Mapping):
        return ToolResult.fail(f"`{tool}.variables` must be a JSON object when provided.")
    # graphql-core is imported on the first call: 150 modules the service need not hold in
    # memory until an agent uses such a tool.
    from graphql import GraphQLSyntaxError, OperationDefinitionNode, parse

    try:
        document = parse(query)
    except GraphQLSyntaxError as exc:
        return ToolResult.fail(
            f"`{tool}.query` is not valid GraphQL: {exc.message}{_where(exc)}. "
            f"Nothing was sent to {tracker}."
        )
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1:
        names = ", ".join(op.name.value if op.name else "(anonymous)" for op in operations)
        found = f"{len(operations)} ({names})" if operations else "none"
        return ToolResult.fail(
            f"`{tool}` runs exactly one operation per call; the document has {found}. "
            "Send each operation in its own call."
        )
    operation = operations[0]
    kind = operation.operation.value
    if kind not in ("query", "mutation"):
        return ToolResult.fail(f"`{tool}` supports queries and mutations, not {kind}s.")
    return ToolRequest(
        query=query.strip(),
        variables={str(k): v for k, v in variables.items()},
        operation_type=kind,
        operation_name=operation.name.value if operation.name else None,
    )


def _where(exc: GraphQLSyntaxError) -> str:
    locations = exc.locations or []
    if not locations:
        return ""
    return f" (line {locations[0].line}, column {locations[0].column})"


def request_failed(exc: TrackerError, scrub: Scrub) -> ToolResult:
    """The tracker could not be asked (network, timeout, a rate limit already known)."""
    detail: dict[str, Any] = {"category": exc.category}
    if exc.retry_after_ms is not None:
        detail["retryAfterMs"] = exc.retry_after_ms
    return ToolResult.fail(scrub(exc.message), **detail)


def response_body(payload: Any, text: str, scrub: Scrub) -> Any:
    """What the agent sees of an answer: the JSON with secrets scrubbed, else the text, bounded."""
    if payload is not None:
        return scrub_json(payload, scrub)
    return clip(scrub(text), MAX_TEXT_BODY_CHARS, marker=TRUNCATED, within=False)


def scrub_json(value: Any, scrub: Scrub) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, list):
        return [scrub_json(v, scrub) for v in value]
    if isinstance(value, dict):
        return {scrub(str(k)): scrub_json(v, scrub) for k, v in value.items()}
    return value


def rate_limited(tracker: str, status: int, body: Any, retry_after_ms: int | None) -> ToolResult:
    extra: dict[str, Any] = {"status": status, "body": body}
    if retry_after_ms is not None:
        extra["retryAfterMs"] = retry_after_ms
    return ToolResult.fail(
        f"{tracker} rate limit reached; wait before calling {tracker} again.", **extra
    )


def answer(tracker: str, status: int, payload: Any, body: Any) -> ToolResult:
    """An answer that was not rate limited: a failure unless HTTP 200 with a JSON object
    without ``errors`` (partial ``data`` with ``errors`` is still a failure)."""
    if status != 200:
        return ToolResult.fail(
            f"{tracker} GraphQL request failed with HTTP {status}.", status=status, body=body
        )
    if not isinstance(payload, dict):
        return ToolResult.fail(
            f"{tracker} returned a response that is not a JSON object.", status=status, body=body
        )
    errors = payload.get("errors")
    failed = isinstance(errors, list) and len(errors) > 0
    return ToolResult(success=not failed, output=body)


def log_tool_call(
    log: BoundLogger,
    tool: str,
    context: ToolContext,
    request: ToolRequest | None,
    result: ToolResult,
    *,
    reason: str | None = None,
) -> None:
    fields: dict[str, Any] = {
        "tool": tool,
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
