"""The ``linear_graphql`` agent tool (SPEC §10.5, §17.5 provider-native tool bullets)."""

from __future__ import annotations

import json
import logging
import socket
from typing import Any

import pytest

from symphony.agents.codex.tools import dynamic_tool, tool_call_result
from symphony.issue import Issue
from symphony.tools import ToolContext, ToolResult
from symphony.trackers.linear import TOOL_NAME, LinearAdapter
from tests.support.fake_linear import Failure, FakeLinear
from tests.trackers.linear.conftest import MakeAdapter

MOVE = """
mutation MoveIssue($id: String!, $stateId: String!) {
  issueUpdate(id: $id, input: {stateId: $stateId}) {
    success
    issue { identifier state { name } }
  }
}
"""
TEAM_STATES = """
query TeamStates($id: String!) {
  issue(id: $id) { team { states { nodes { id name type } } } }
}
"""


@pytest.fixture
def context() -> ToolContext:
    issue = Issue(
        id="issue-1", identifier="SYM-1", title="Context", state="Todo", dispatchable=True
    )
    return ToolContext(issue=issue)


async def call(adapter: LinearAdapter, arguments: Any, context: ToolContext) -> ToolResult:
    result = await adapter.execute_agent_tool(TOOL_NAME, arguments, context)
    # Every result is JSON-safe and translatable to the app-server protocol.
    json.dumps(tool_call_result(result))
    return result


def error_message(result: ToolResult) -> str:
    assert result.success is False
    message: str = result.output["error"]["message"]
    return message


async def test_only_linear_graphql_is_advertised(make_adapter: MakeAdapter) -> None:
    [spec] = make_adapter().agent_tool_specs()
    assert spec.name == "linear_graphql"
    schema = spec.input_schema
    assert schema["required"] == ["query"]
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {"query", "variables"}
    assert dynamic_tool(spec)["inputSchema"]["properties"]["query"]["type"] == "string"
    assert "one" in spec.description.lower()


async def test_agent_moves_an_issue_host_side(
    linear: FakeLinear,
    make_adapter: MakeAdapter,
    context: ToolContext,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="symphony.trackers.linear")
    issue = linear.add_issue("Move me")
    adapter = make_adapter()
    states = await call(
        adapter, {"query": TEAM_STATES, "variables": {"id": issue.identifier}}, context
    )
    assert states.success is True and states.wrote is False  # a query reads
    nodes = states.output["data"]["issue"]["team"]["states"]["nodes"]
    review = next(n["id"] for n in nodes if n["name"] == "Human Review")
    moved = await call(
        adapter, {"query": MOVE, "variables": {"id": issue.id, "stateId": review}}, context
    )
    assert moved.success is True and moved.wrote is True  # progress for the no-progress check
    assert moved.output == {
        "data": {
            "issueUpdate": {
                "success": True,
                "issue": {"identifier": issue.identifier, "state": {"name": "Human Review"}},
            }
        }
    }
    assert linear.state_of(issue) == "Human Review"
    # Executed with the service's key, sent exactly as Linear expects it.
    assert linear.requests[-1].headers["authorization"] == linear.api_key
    # The session's issue is the call's context: every call is attributable to it in the logs.
    calls = [r.getMessage() for r in caplog.records if "agent tool call" in r.getMessage()]
    assert len(calls) == 2
    assert "issue_id=issue-1 issue_identifier=SYM-1" in calls[1]
    assert "operation_type=mutation operation=MoveIssue success=true" in calls[1]
    assert review not in calls[1] and str(linear.api_key) not in calls[1]


async def test_bare_string_and_null_variables_are_accepted(
    linear: FakeLinear, make_adapter: MakeAdapter, context: ToolContext
) -> None:
    adapter = make_adapter()
    by_string = await call(adapter, "  query Me { viewer { id } }  ", context)
    by_object = await call(adapter, {"query": "{ viewer { id } }", "variables": None}, context)
    assert by_string.output == by_object.output == {"data": {"viewer": {"id": linear.viewer.id}}}
    assert linear.requests[0].variables == {}


async def test_graphql_errors_make_the_call_fail_with_linear_body(
    linear: FakeLinear, make_adapter: MakeAdapter, context: ToolContext
) -> None:
    result = await call(
        make_adapter(),
        {"query": MOVE, "variables": {"id": "no-such-issue", "stateId": "x"}},
        context,
    )
    assert result.success is False
    assert result.output["data"] is None
    assert "Entity not found" in result.output["errors"][0]["message"]


async def test_http_error_returns_status_and_body(
    linear: FakeLinear, make_adapter: MakeAdapter, context: ToolContext
) -> None:
    linear.rejections_expected = True
    result = await call(
        make_adapter(), {"query": '{ issue(id: "SYM-1") { links { nodes { id } } } }'}, context
    )
    assert error_message(result) == "Linear GraphQL request failed with HTTP 400."
    assert result.output["error"]["status"] == 400
    body = result.output["error"]["body"]
    assert "Cannot query field 'links'" in body["errors"][0]["message"]


async def test_non_json_error_body_is_returned_as_text(
    linear: FakeLinear, make_adapter: MakeAdapter, context: ToolContext
) -> None:
    linear.inject(Failure(status=502, body="<html>Bad gateway</html>", content_type="text/html"))
    result = await call(make_adapter(), {"query": "{ viewer { id } }"}, context)
    assert result.output["error"]["status"] == 502
    assert result.output["error"]["body"] == "<html>Bad gateway</html>"


@pytest.mark.parametrize(
    ("arguments", "needle"),
    [
        (None, "expects an object"),
        (42, "expects an object"),
        (["query"], "expects an object"),
        ({}, "non-empty `query`"),
        ({"query": "   "}, "non-empty `query`"),
        ({"query": 7}, "non-empty `query`"),
        ({"query": "{ viewer { id } }", "variables": [1]}, "must be a JSON object"),
        ({"query": "{ viewer { id } }", "variables": "{}"}, "must be a JSON object"),
        ({"query": "{ viewer { id } }", "operationName": "X"}, "unknown argument(s) operationName"),
        ({"query": "{ viewer { id "}, "not valid GraphQL"),
        ({"query": "query A { viewer { id } } query B { viewer { id } }"}, "exactly one operation"),
        ({"query": "fragment F on User { id }"}, "exactly one operation"),
        ({"query": "subscription S { issueUpdates { id } }"}, "not subscriptions"),
    ],
)
async def test_invalid_arguments_fail_without_calling_linear(
    linear: FakeLinear, make_adapter: MakeAdapter, context: ToolContext, arguments: Any, needle: str
) -> None:
    result = await call(make_adapter(), arguments, context)
    assert needle in error_message(result)
    assert linear.requests == []


async def test_missing_key_is_a_structured_failure(
    linear: FakeLinear, make_adapter: MakeAdapter, context: ToolContext
) -> None:
    result = await call(
        make_adapter(api_key=None, environ={}), {"query": "{ viewer { id } }"}, context
    )
    assert "no Linear API key" in error_message(result)
    assert linear.requests == []


async def test_transport_failure_is_a_structured_failure(
    make_adapter: MakeAdapter, context: ToolContext
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    adapter = make_adapter(endpoint=f"http://127.0.0.1:{port}/graphql")
    result = await call(adapter, {"query": "{ viewer { id } }"}, context)
    assert "before a response arrived" in error_message(result)
    assert result.output["error"]["category"] == "tracker_request"


async def test_rate_limit_reports_retry_after(
    linear: FakeLinear, make_adapter: MakeAdapter, context: ToolContext
) -> None:
    linear.inject(Failure.rate_limited(retry_after="12"))
    adapter = make_adapter()
    result = await call(adapter, {"query": "{ viewer { id } }"}, context)
    assert "rate limit" in error_message(result)
    assert result.output["error"]["retryAfterMs"] == 12_000
    assert result.output["error"]["status"] == 429
    # The same key's budget is spent: the next call waits instead of hammering Linear.
    again = await call(adapter, {"query": "{ viewer { id } }"}, context)
    assert again.output["error"]["category"] == "tracker_rate_limited"
    assert len(linear.requests) == 1


async def test_key_never_appears_in_tool_output(
    linear: FakeLinear, make_adapter: MakeAdapter, context: ToolContext
) -> None:
    assert linear.api_key
    echo = {"errors": [{"message": f"bad token {linear.api_key}"}]}
    linear.inject(Failure.http_status(401, echo))
    linear.inject(Failure(body={"data": {"viewer": {"id": linear.api_key}}}))
    adapter = make_adapter()
    for _ in range(2):
        result = await call(adapter, {"query": "{ viewer { id } }"}, context)
        text = json.dumps(tool_call_result(result))
        assert linear.api_key not in text
        assert "[REDACTED]" in text
