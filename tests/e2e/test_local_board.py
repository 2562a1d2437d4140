"""End to end on the local board: two issues, two concurrent agents, hand-off, cleanup.

The real ``symphony`` service runs the real codex against a fake model that plays both agents:
each runs a shell command that writes a file in its own workspace and then hands its issue to
Human Review with the board tool. The service lets go of both, keeps their workspaces, and counts
their tokens. A human then moves one issue to Done with the CLI; the next service start sweeps
that workspace (after ``before_remove``) and keeps the other (SPEC §8.6).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.harness import (
    Project,
    is_idle,
    local_front_matter,
    per_issue_responder,
    running_row,
)
from tests.support.fake_model import FakeModelServer, Reply

pytestmark = pytest.mark.codex

PROMPT = "You are working on {{ issue.identifier }}: {{ issue.title }}."


def agent_script(identifier: str) -> list[Reply]:
    return [
        Reply.exec_command(f"printf 'made by {identifier}' > proof.txt && echo wrote"),
        Reply.tool_call("board_move_issue", {"state": "Human Review"}),
        Reply.message(f"{identifier} is ready for review."),
    ]


def test_two_agents_work_hand_off_and_a_done_workspace_is_swept(
    project: Project, model: FakeModelServer
) -> None:
    model.responder = per_issue_responder(
        {"SYM-1": agent_script("SYM-1"), "SYM-2": agent_script("SYM-2")}
    )
    removed_log = project.root / "removed.log"
    project.write_workflow(
        local_front_matter(
            codex_bin=project.codex_bin,
            hooks={"before_remove": f'echo "$SYMPHONY_ISSUE_IDENTIFIER $PWD" >> {removed_log}'},
        ),
        PROMPT,
    )
    first = project.board("add", "Write the first proof").json()
    second = project.board("add", "Write the second proof").json()
    assert (first["identifier"], second["identifier"]) == ("SYM-1", "SYM-2")

    service = project.start()
    # Both are dispatched by the same poll: two slots, two active issues.
    busy = service.wait_until(
        lambda s: running_row(s, "SYM-1") and running_row(s, "SYM-2"),
        30,
        what="both issues to be running",
    )
    assert busy["counts"]["running"] == 2
    assert running_row(busy, "SYM-1") != running_row(busy, "SYM-2")

    idle = service.wait_until(
        lambda s: is_idle(s) and s["codex_totals"]["total_tokens"] > 0,
        60,
        what="both agents to hand off and the service to go idle",
    )
    totals = idle["codex_totals"]
    assert totals["input_tokens"] > 0 and totals["output_tokens"] > 0
    assert totals["total_tokens"] >= totals["input_tokens"] + totals["output_tokens"] - 1

    workspaces = project.root / "workspaces"
    for identifier in ("SYM-1", "SYM-2"):
        proof = workspaces / identifier / "proof.txt"
        assert proof.read_text(encoding="utf-8") == f"made by {identifier}"
        shown = project.board("show", identifier).json()
        assert shown["state"] == "Human Review", json.dumps(shown)
        assert [(h["to"], h["actor"]) for h in shown["history"]][-1] == ("Human Review", "agent")
        detail = service.issue(identifier)
        assert detail is not None and detail["status"] == "released", detail
    assert not removed_log.exists()

    project.board("move", "SYM-1", "Done")
    code, output = service.stop()
    assert code == 0, output

    # A restart's startup sweep removes the Done issue's workspace, never the other one.
    restarted = project.start()
    assert restarted.wait_for_output("symphony started")
    removed = _read_when_present(removed_log)
    assert removed.split() == ["SYM-1", str((workspaces / "SYM-1").resolve())]
    assert not (workspaces / "SYM-1").exists()
    assert (workspaces / "SYM-2" / "proof.txt").read_text(encoding="utf-8") == "made by SYM-2"
    code, output = restarted.stop()
    assert code == 0, output


def _read_when_present(path: Path) -> str:
    from tests.e2e.harness import poll_until

    return poll_until(
        lambda: path.read_text(encoding="utf-8") if path.exists() else "",
        20,
        what=f"{path.name} to be written",
    )
