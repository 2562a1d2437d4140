from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from symphony.workflow.errors import (
    MissingWorkflowFile,
    WorkflowFrontMatterNotAMap,
    WorkflowParseError,
)
from symphony.workflow.loader import load_workflow, resolve_workflow_path


def test_explicit_path_wins_over_cwd_default(tmp_path: Path) -> None:
    assert resolve_workflow_path("custom/FLOW.md", cwd=tmp_path) == tmp_path / "custom/FLOW.md"


def test_default_is_workflow_md_in_cwd(tmp_path: Path) -> None:
    assert resolve_workflow_path(None, cwd=tmp_path) == tmp_path / "WORKFLOW.md"


def test_missing_file_is_typed_error(tmp_path: Path) -> None:
    with pytest.raises(MissingWorkflowFile) as err:
        load_workflow(tmp_path / "nope.md")
    assert err.value.code == "missing_workflow_file"
    assert "nope.md" in err.value.message


def test_front_matter_and_trimmed_body(write_workflow: Callable[..., Path]) -> None:
    path = write_workflow("polling:\n  interval_ms: 5", body="\n\n  Hello {{ issue.title }}  \n\n")
    wf = load_workflow(path)
    assert wf.config == {"polling": {"interval_ms": 5}}
    assert wf.prompt_template == "Hello {{ issue.title }}"


def test_no_front_matter_means_whole_file_is_prompt(write_workflow: Callable[..., Path]) -> None:
    wf = load_workflow(write_workflow(None, body="just a prompt\n---\nmore"))
    assert wf.config == {}
    assert wf.prompt_template == "just a prompt\n---\nmore"


def test_unclosed_front_matter_is_all_yaml(tmp_path: Path) -> None:
    path = tmp_path / "WORKFLOW.md"
    path.write_text("---\npolling:\n  interval_ms: 7\n")
    wf = load_workflow(path)
    assert wf.config == {"polling": {"interval_ms": 7}}
    assert wf.prompt_template == ""


def test_empty_front_matter_is_empty_map(write_workflow: Callable[..., Path]) -> None:
    path = write_workflow("", body="x")
    path.write_text("---\n---\nx\n")
    assert load_workflow(path).config == {}


def test_bad_yaml_reports_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "WORKFLOW.md"
    path.write_text("---\ntracker:\n  kind: local\n  active_states: [Todo\n---\nbody\n")
    with pytest.raises(WorkflowParseError) as err:
        load_workflow(path)
    assert err.value.code == "workflow_parse_error"
    # The message names the file and a line:column inside the front matter.
    assert f"{path}:" in err.value.message
    location = err.value.message.split(f"{path}:")[1].split(":")[:2]
    assert all(part.isdigit() for part in location)
    assert int(location[0]) >= 4


@pytest.mark.parametrize("yaml_text", ["- a\n- b", "just a string", "42"])
def test_non_map_front_matter_is_typed_error(tmp_path: Path, yaml_text: str) -> None:
    path = tmp_path / "WORKFLOW.md"
    path.write_text(f"---\n{yaml_text}\n---\nbody\n")
    with pytest.raises(WorkflowFrontMatterNotAMap) as err:
        load_workflow(path)
    assert err.value.code == "workflow_front_matter_not_a_map"
