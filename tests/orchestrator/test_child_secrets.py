"""What no child process may inherit: adapter secrets plus the workflow's own secret variables."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from symphony.orchestrator.worker import child_secret_names
from symphony.trackers.resolve import resolve_tracker
from symphony.workflow.store import load_workflow_file
from tests.support.memory_tracker import MemoryProfile


def test_workflow_secret_variables_join_the_adapters(
    memory_tracker: MemoryProfile, write_workflow: Callable[..., Path]
) -> None:
    path = write_workflow("tracker:\n  kind: memory\nserver:\n  access_token: $DASH_TOKEN")
    workflow = load_workflow_file(
        path, environ={"DASH_TOKEN": "dash-token-123"}, resolver=resolve_tracker
    )
    names = child_secret_names(workflow, frozenset({"TRACKER_KEY"}))
    assert names == {"TRACKER_KEY", "DASH_TOKEN"}


def test_literal_secrets_add_no_names(
    memory_tracker: MemoryProfile, write_workflow: Callable[..., Path]
) -> None:
    path = write_workflow("tracker:\n  kind: memory\nserver:\n  access_token: literal-token-1")
    workflow = load_workflow_file(path, environ={}, resolver=resolve_tracker)
    assert child_secret_names(workflow, frozenset()) == frozenset()
