"""The ``github_graphql`` agent tool against the schema-checked fake GitHub."""

from __future__ import annotations

import json
from typing import Any

import pytest

from symphony.agents.codex.tools import dynamic_tool, tool_call_result
from symphony.issue import Issue
from symphony.tools import ToolContext, ToolResult
from symphony.trackers.github import TOOL_NAME, GitHubAdapter
from tests.support.fake_github import Failure, FakeGitHub
from tests.trackers.github.conftest import MakeAdapter

BOARD = """
query BoardFields($owner: String!, $number: Int!) {
  organization(login: $owner) {
    projectV2(number: $number) {
      id
      field(name: "Status") {
        ... on ProjectV2SingleSelectField { id options { id name } }
      }
    }
  }
}
"""
ITEM = """
query IssueItem($id: ID!) {
  node(id: $id) {
    ... on Issue { projectItems(first: 10) { nodes { id project { id } } } }
  }
}
"""
MOVE = """
mutation MoveCard($project: ID!, $item: ID!, $field: ID!, $option: String!) {
  updateProjectV2ItemFieldValue(
    input: {
      projectId: $project, itemId: $item, fieldId: $field,
      value: {singleSelectOptionId: $option}
    }
  ) { projectV2Item { id } }
}
"""


@pytest.fixture
def context() -> ToolContext:
    issue = Issue(id="I_1", identifier="app#1", title="Context", state="Todo", dispatchable=True)
    return ToolContext(issue=issue)


async def call(adapter: GitHubAdapter, arguments: Any, context: ToolContext) -> ToolResult:
    result = await adapter.execute_agent_tool(TOOL_NAME, arguments, context)
    # Every result is JSON-safe and translatable to the app-server protocol.
    json.dumps(tool_call_result(result))
    return result


def error_message(result: ToolResult) -> str:
    assert result.success is False
    message: str = result.output["error"]["message"]
    return message


async def test_only_github_graphql_is_advertised(make_github_adapter: MakeAdapter) -> None:
    [spec] = make_github_adapter().agent_tool_specs()
    assert spec.name == "github_graphql"
    assert spec.input_schema["required"] == ["query"]
    assert spec.input_schema["additionalProperties"] is False
    assert set(spec.input_schema["properties"]) == {"query", "variables"}
    assert dynamic_tool(spec)["inputSchema"]["properties"]["query"]["type"] == "string"


async def test_an_agent_moves_its_card_host_side(
    github: FakeGitHub, make_github_adapter: MakeAdapter, context: ToolContext
) -> None:
    board = github.add_project("acme", 1)
    issue = github.add_issue("Move me")
    github.add_item(board, issue, status="In Progress")
    adapter = make_github_adapter(board=True)

    fields = await call(
        adapter, {"query": BOARD, "variables": {"owner": "acme", "number": 1}}, context
    )
    assert fields.success is True, fields.output
    project = fields.output["data"]["organization"]["projectV2"]
    status = project["field"]
    review = next(o["id"] for o in status["options"] if o["name"] == "Human Review")
    item = await call(adapter, {"query": ITEM, "variables": {"id": issue.id}}, context)
    [node] = item.output["data"]["node"]["projectItems"]["nodes"]
    moved = await call(
        adapter,
        {
            "query": MOVE,
            "variables": {
                "project": project["id"],
                "item": node["id"],
                "field": status["id"],
                "option": review,
            },
        },
        context,
    )
    assert moved.success is True, moved.output
    assert github.status_of(board, issue) == "Human Review"
    # The token went in the header, never into what the agent sees.
    assert github.token is not None and github.token not in json.dumps(
        [fields.output, item.output, moved.output]
    )


@pytest.mark.parametrize(
    ("arguments", "needle"),
    [
        ({"query": ""}, "non-empty `query`"),
        ({"query": "query { viewer { login } }", "extra": 1}, "unknown argument(s) extra"),
        ({"query": "query { viewer { login } }", "variables": [1]}, "must be a JSON object"),
        ({"query": "query {"}, "not valid GraphQL"),
        ({"query": "query A { viewer { login } } query B { viewer { id } }"}, "exactly one"),
        ({"query": "subscription S { viewer { login } }"}, "not subscriptions"),
        (42, "expects an object"),
    ],
)
async def test_bad_arguments_are_refused_without_a_request(
    github: FakeGitHub,
    make_github_adapter: MakeAdapter,
    context: ToolContext,
    arguments: Any,
    needle: str,
) -> None:
    adapter = make_github_adapter()
    assert needle in error_message(await call(adapter, arguments, context))
    assert github.requests == []


async def test_github_s_errors_come_back_as_failed_results(
    github: FakeGitHub, make_github_adapter: MakeAdapter, context: ToolContext
) -> None:
    adapter = make_github_adapter()
    github.rejections_expected = True
    # A document GitHub refuses: its errors reach the agent, the call does not raise.
    result = await call(adapter, {"query": "query Bad { viewer { nope } }"}, context)
    assert result.success is False
    assert "nope" in json.dumps(result.output["errors"])
    # An anonymous operation is sent without an operationName, and runs.
    viewer = await call(adapter, "{ viewer { login } }", context)
    assert viewer.success is True and viewer.output["data"]["viewer"]["login"]

    github.inject(Failure.bad_gateway())
    failed = await call(adapter, {"query": "query V { viewer { login } }"}, context)
    assert "HTTP 502" in error_message(failed) and failed.output["error"]["status"] == 502

    github.inject(Failure.secondary_rate_limit(retry_after="30"))
    limited = await call(adapter, {"query": "query V { viewer { login } }"}, context)
    assert "rate limit" in error_message(limited)
    assert limited.output["error"]["retryAfterMs"] == 30_000
    # The cooldown holds the next call back without a request.
    sent = len(github.requests)
    held = await call(adapter, {"query": "query V { viewer { login } }"}, context)
    assert held.output["error"]["category"] == "tracker_rate_limited"
    assert len(github.requests) == sent


async def test_without_credentials_the_tool_says_what_the_operator_must_do(
    github: FakeGitHub, make_github_adapter: MakeAdapter, context: ToolContext
) -> None:
    adapter = make_github_adapter(environ={})
    message = error_message(await call(adapter, "{ viewer { login } }", context))
    assert "GITHUB_TOKEN" in message
    assert github.requests == []
    other = await adapter.execute_agent_tool("linear_graphql", {}, context)
    assert other.success is False
