"""The shipped GitHub example passes ``symphony validate`` and only teaches the agent documents
GitHub accepts; its card moves work through ``github_graphql`` against the fake GitHub."""

from __future__ import annotations

import io
import re
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from graphql import GraphQLSchema, OperationDefinitionNode, parse, validate

from symphony.cli import main
from symphony.issue import Issue
from symphony.tools import ToolContext
from symphony.trackers.github import TOOL_NAME
from symphony.trackers.resolve import resolve_tracker
from symphony.workflow.store import load_workflow_file
from tests.support.fake_github import FakeGitHub
from tests.trackers.github.conftest import MakeAdapter

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "github" / "WORKFLOW.md"


def snippets() -> dict[str, str]:
    """The prompt's GraphQL documents by operation name."""
    found = re.findall(r"```graphql\n(.*?)```", EXAMPLE.read_text(), flags=re.DOTALL)
    named: dict[str, str] = {}
    for text in found:
        [operation] = [d for d in parse(text).definitions if isinstance(d, OperationDefinitionNode)]
        assert operation.name is not None
        named[operation.name.value] = text
    return named


def test_symphony_validate_accepts_the_example(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_example_token_1234567890")
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["validate", str(EXAMPLE), "--show-prompt"])
    assert code == 0, out.getvalue() + err.getvalue()
    assert "is valid" in out.getvalue() and "github" in out.getvalue()


def test_the_prompt_renders_for_a_github_issue() -> None:
    workflow = load_workflow_file(
        EXAMPLE, environ={"GITHUB_TOKEN": "ghp_example_token_1234567890"}, resolver=resolve_tracker
    )
    assert workflow.config.tracker.kind == "github"
    assert workflow.config.workspace.reset_states == ("Rework",)
    issue = Issue(
        id="I_kwDO1", identifier="app#42", title="Fix it", state="Todo", dispatchable=True
    )
    prompt = workflow.render_prompt(issue, 2)
    assert "follow-up attempt #2" in prompt and "github_graphql" in prompt
    assert "symphony/app-42" in prompt and "`I_kwDO1`" in prompt


def test_every_graphql_document_is_valid_against_github_s_schema(
    github_schema: GraphQLSchema,
) -> None:
    found = snippets()
    assert set(found) == {
        "IssueContext",
        "MoveCard",
        "OpenPullRequest",
        "Workpad",
        "UpdateWorkpad",
        "BranchPullRequests",
        "ClosePullRequest",
    }
    for name, text in found.items():
        errors = validate(github_schema, parse(text))
        assert errors == [], f"{name}\n{errors}"


async def test_the_agent_s_card_move_works_as_the_prompt_teaches(
    github: FakeGitHub, make_github_adapter: MakeAdapter
) -> None:
    board = github.add_project("acme", 1)
    issue = github.add_issue("Fix it")
    github.add_item(board, issue, status="Todo")
    adapter = make_github_adapter(board=True)
    context = ToolContext(
        issue=Issue(
            id=issue.id, identifier="app#1", title="Fix it", state="Todo", dispatchable=True
        )
    )
    documents = snippets()
    read = await adapter.execute_agent_tool(
        TOOL_NAME, {"query": documents["IssueContext"], "variables": {"id": issue.id}}, context
    )
    assert read.success, read.output
    [item] = read.output["data"]["node"]["projectItems"]["nodes"]
    assert item["fieldValueByName"] == {"name": "Todo"}
    field = item["project"]["field"]
    option = next(o["id"] for o in field["options"] if o["name"] == "Human Review")
    moved = await adapter.execute_agent_tool(
        TOOL_NAME,
        {
            "query": documents["MoveCard"],
            "variables": {
                "projectId": item["project"]["id"],
                "itemId": item["id"],
                "fieldId": field["id"],
                "optionId": option,
            },
        },
        context,
    )
    assert moved.success, moved.output
    assert github.status_of(board, issue) == "Human Review"
