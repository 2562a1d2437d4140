"""The shipped Linear example must load, render, and only teach the agent queries Linear accepts."""

from __future__ import annotations

import re
from pathlib import Path

from graphql import GraphQLSchema, parse, validate

from symphony.trackers.resolve import resolve_tracker
from symphony.workflow.store import load_workflow_file
from symphony.workflow.template import sample_issue

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "linear" / "WORKFLOW.md"


def test_example_loads_and_renders() -> None:
    workflow = load_workflow_file(
        EXAMPLE,
        environ={"LINEAR_API_KEY": "lin_api_example_key_1234567890"},
        resolver=resolve_tracker,
    )
    assert workflow.config.tracker.kind == "linear"
    prompt = workflow.render_prompt(sample_issue(), 2)
    assert "follow-up attempt #2" in prompt
    assert "linear_graphql" in prompt


def test_every_graphql_snippet_is_valid_against_linears_schema(
    linear_schema: GraphQLSchema,
) -> None:
    snippets = re.findall(r"```graphql\n(.*?)```", EXAMPLE.read_text(), flags=re.DOTALL)
    assert len(snippets) == 4
    for snippet in snippets:
        errors = validate(linear_schema, parse(snippet))
        assert errors == [], f"{snippet}\n{errors}"
