"""The front-matter JSON Schema (`symphony schema`): generated, committed, and strict on keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from symphony.cli import main
from symphony.onboard.schema import render_schema, workflow_schema
from symphony.workflow.config import SECTIONS

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "examples" / "workflow.schema.json"
WORKFLOWS = [
    *sorted((REPO / "examples").glob("*/WORKFLOW.md")),
    REPO.parent / "shared" / "fixtures" / "reference-WORKFLOW.md",
]


def front_matter(path: Path) -> dict[str, Any]:
    _, yaml_text, _ = path.read_text(encoding="utf-8").split("---\n", 2)
    data = yaml.safe_load(yaml_text)
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = workflow_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def problems(validator: Draft202012Validator, data: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (".".join(str(p) for p in error.absolute_path), error.message)
        for error in validator.iter_errors(data)
    ]


def test_the_committed_copy_is_current() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == render_schema(), (
        "examples/workflow.schema.json is stale: run "
        "`symphony schema --output examples/workflow.schema.json` and commit it"
    )


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_example_and_the_reference_workflow_are_valid(
    validator: Draft202012Validator, path: Path
) -> None:
    assert problems(validator, front_matter(path)) == []


def test_the_examples_point_editors_at_the_schema() -> None:
    for path in WORKFLOWS[:-1]:
        assert "# yaml-language-server: $schema=../workflow.schema.json" in path.read_text()


def test_every_section_of_the_models_is_described() -> None:
    schema = workflow_schema()
    assert set(SECTIONS) <= set(schema["properties"])
    agent = schema["$defs"]["AgentConfig"]["properties"]
    assert {"max_concurrent_agents", "max_turns", "prices"} <= set(agent)


@pytest.mark.parametrize(
    ("data", "where", "named"),
    [
        ({"trackr": {"kind": "local"}}, "", "'trackr'"),
        ({"polling": {"intervl_ms": 5000}}, "polling", "'intervl_ms'"),
        ({"agent": {"max_turn": 3}}, "agent", "'max_turn'"),
        (
            {"tracker": {"kind": "linear", "provider": {"project_slug": "x", "apikey": "$K"}}},
            "tracker.provider",
            "'apikey'",
        ),
        (
            {"tracker": {"kind": "local", "provider": {"prefx": "SYM"}}},
            "tracker.provider",
            "'prefx'",
        ),
    ],
)
def test_a_typo_in_a_key_is_rejected_naming_the_key(
    validator: Draft202012Validator, data: dict[str, Any], where: str, named: str
) -> None:
    found = problems(validator, data)
    assert any(path == where and named in message for path, message in found), found


def test_values_are_checked_and_null_means_the_default(validator: Draft202012Validator) -> None:
    assert problems(validator, {"agent": {"max_turns": 0}}) == [
        ("agent.max_turns", "0 is less than or equal to the minimum of 0")
    ]
    assert problems(validator, {"logs": {"format": "xml"}})[0][0] == "logs.format"
    assert problems(validator, {"tracker": {"active_states": "Todo"}})[0][0] == (
        "tracker.active_states"
    )
    assert problems(validator, {"polling": None, "agent": {"max_turns": None}}) == []


def test_a_provider_of_an_unknown_kind_stays_open(validator: Draft202012Validator) -> None:
    assert problems(validator, {"tracker": {"kind": "jira", "provider": {"site": "x"}}}) == []


def test_the_command_prints_or_writes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schema"]) == 0
    printed = capsys.readouterr().out
    assert json.loads(printed)["title"] == "Symphony WORKFLOW.md front matter"
    target = tmp_path / "editor" / "workflow.schema.json"
    assert main(["schema", "--output", str(target)]) == 0
    assert target.read_text() == printed
    assert main(["schema", "--output", str(tmp_path)]) == 1
    assert "cannot write" in capsys.readouterr().err
