"""End to end: the example workflow, the real codex binary and a fake model on 127.0.0.1.

The scripted model does what the example prompt asks: it reads the issue, moves it to In
Progress, writes the workpad and hands the issue to Human Review through the board's tools. The
service then stops working on the issue: no further turn, no new dispatch on later polls.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from symphony.orchestrator.runtime import OrchestratorRuntime
from symphony.service import create_adapter, select_backend
from symphony.trackers.local import BoardStore
from symphony.trackers.local.cli import board_main
from symphony.trackers.local.locate import settings_for_workflow
from symphony.trackers.resolve import resolve_tracker
from symphony.workflow.store import WorkflowStore
from symphony.workspace.manager import WorkspaceManager
from tests.support.fake_model import FAKE_API_KEY_ENV, FakeModelServer, Reply, write_codex_home
from tests.support.waiting import wait_until

pytestmark = pytest.mark.codex

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "examples" / "local" / "WORKFLOW.md"
CODEX_BIN = Path(
    os.environ.get("SYMPHONY_CODEX_BIN")
    or REPO / ".tools" / "codex" / "node_modules" / ".bin" / "codex"
)
WORKPAD = "## Codex Workpad\n\n- [x] read the issue\n- [x] hand off for review"


@pytest.fixture
def model() -> Iterator[FakeModelServer]:
    with FakeModelServer() as server:
        yield server


async def test_agent_hands_its_issue_to_human_review_and_the_service_lets_go(
    tmp_path: Path, model: FakeModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not CODEX_BIN.exists():
        pytest.skip(f"codex binary not installed at {CODEX_BIN} (run scripts/setup)")
    project = tmp_path / "project"
    project.mkdir()
    workflow = project / "WORKFLOW.md"
    # The shipped example, with a faster poll so the test does not wait 5 s per tick.
    text = EXAMPLE.read_text(encoding="utf-8")
    assert "interval_ms: 5000" in text
    workflow.write_text(text.replace("interval_ms: 5000", "interval_ms: 200"), encoding="utf-8")

    home = tmp_path / "home"
    home.mkdir()
    codex_home = write_codex_home(tmp_path / "codex-home", base_url=model.base_url)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("CODEX_HOME", str(codex_home))
    monkeypatch.setenv(FAKE_API_KEY_ENV, "fake-key")
    monkeypatch.setenv("SYMPHONY_CODEX_BIN", str(CODEX_BIN))

    out = io.StringIO()
    code = board_main(
        [
            "add",
            "Say hello",
            "--description",
            "Add hello.txt",
            "--workflow",
            str(workflow),
            "--json",
        ],
        stdout=out,
    )
    assert code == 0
    issue = json.loads(out.getvalue())

    model.script(
        Reply.tool_call("board_get_issue", {}),
        Reply.tool_call("board_move_issue", {"state": "In Progress"}),
        Reply.tool_call("board_upsert_workpad", {"body": WORKPAD}),
        Reply.tool_call("board_move_issue", {"state": "Human Review"}),
        Reply.message("SYM-1 is ready for review."),
    )

    store = WorkflowStore.open(workflow, resolver=resolve_tracker)
    runtime = OrchestratorRuntime(
        store,
        workspaces=WorkspaceManager(),
        agents=select_backend,
        adapter_factory=create_adapter,
    )
    await runtime.start()
    try:
        state = runtime.state
        await wait_until(
            lambda: issue["id"] in state.running, "the issue to be dispatched", timeout=30
        )
        await wait_until(
            lambda: not state.is_claimed(issue["id"]),
            "the service to release the issue",
            timeout=90,
        )
        # Later polls see the issue in Human Review and leave it alone: no new turn, no new run.
        ticks = state.tick_id
        await wait_until(lambda: state.tick_id >= ticks + 3, "three more polls", timeout=30)
        assert not state.is_claimed(issue["id"])
        assert state.running == {}
    finally:
        await runtime.stop()

    requests = model.requests
    # The turn either finishes (5 requests) or reconciliation stops it first, because the issue
    # left the active states while the model was still answering the last tool result.
    assert len(requests) in (4, 5), [r.text() for r in requests]
    first = requests[0]
    assert {"board_get_issue", "board_move_issue", "board_upsert_workpad"} <= set(
        first.tool_names()
    )
    assert "SYM-1" in first.text() and "Say hello" in first.text()
    # Each request carries the whole conversation; the 4th has the first three tool outputs.
    outputs = list(requests[3].function_call_outputs().values())
    read, started, workpad = (json.loads(o) for o in outputs)
    assert read["issue"]["identifier"] == "SYM-1" and read["issue"]["state"] == "Todo"
    assert (started["from"], started["state"]) == ("Todo", "In Progress")
    assert workpad["created"] is True
    if len(requests) == 5:
        # Still the same turn (it carries the hand-off result), not a continuation turn.
        last = list(requests[4].function_call_outputs().values())
        assert len(last) == 4
        handed_off = json.loads(last[3])
        assert handed_off["state"] == "Human Review" and handed_off["stillActive"] is False

    board = BoardStore(settings_for_workflow(workflow))
    try:
        detail = board.detail("SYM-1")
    finally:
        board.close()
    assert detail.issue.state == "Human Review"
    assert [c.body for c in detail.comments if c.is_workpad] == [WORKPAD]
    assert [(h.to_state, h.actor) for h in detail.history][1:] == [
        ("In Progress", "agent"),
        ("Human Review", "agent"),
    ]
    workspace = project / ".symphony" / "workspaces" / "SYM-1"
    assert (workspace / ".git").is_dir()  # the example's after_create hook ran
    assert "Say hello" in (workspace / "README.md").read_text(encoding="utf-8")
