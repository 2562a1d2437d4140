"""End to end on the local board: two issues, two concurrent agents, hand-off, cleanup.

The real ``symphony`` service runs the real codex against a fake model that plays both agents:
each runs a shell command that writes a file in its own workspace and then hands its issue to
Human Review with the board tool. The service lets go of both, keeps their workspaces, and counts
their tokens. A human then moves one issue to Done with the CLI while the service keeps running:
the service still watches released issues (docs/orchestrator.md, "Released issues", beyond
SPEC §8.5), so within a few polls ``before_remove`` runs and that workspace goes, while the other
stays. An issue moved to Done while its agent runs is stopped and cleaned up at once, by
reconciliation (second test).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from tests.e2e.harness import (
    Project,
    is_idle,
    issue_identifier_in,
    local_front_matter,
    per_issue_responder,
    running_row,
)
from tests.support.fake_model import FakeModelServer, Reply
from tests.support.waiting import wait_until_sync

pytestmark = pytest.mark.codex

PROMPT = "You are working on {{ issue.identifier }}: {{ issue.title }}."
POLL_MS = 500


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def agent_script(identifier: str) -> list[Reply]:
    return [
        Reply.exec_command(f"printf 'made by {identifier}' > proof.txt && echo wrote"),
        Reply.tool_call("board_move_issue", {"state": "Human Review"}),
        Reply.message(f"{identifier} is ready for review."),
    ]


def test_two_agents_work_hand_off_and_a_workspace_closed_later_is_removed_live(
    project: Project, model: FakeModelServer
) -> None:
    model.responder = per_issue_responder(
        {"SYM-1": agent_script("SYM-1"), "SYM-2": agent_script("SYM-2")}
    )
    removed_log = project.root / "removed.log"
    project.write_workflow(
        local_front_matter(
            codex_bin=project.codex_bin,
            polling={"interval_ms": POLL_MS},
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
    one, two = running_row(busy, "SYM-1"), running_row(busy, "SYM-2")
    assert one is not None and two is not None
    apart = abs(parse_time(one["started_at"]) - parse_time(two["started_at"]))
    assert apart.total_seconds() < POLL_MS / 1000, (one["started_at"], two["started_at"])

    idle = service.wait_until(
        lambda s: is_idle(s) and s["codex_totals"]["total_tokens"] > 0,
        60,
        what="both agents to hand off and the service to go idle",
    )
    totals = idle["codex_totals"]
    assert totals["input_tokens"] > 0 and totals["output_tokens"] > 0
    assert totals["total_tokens"] >= totals["input_tokens"] + totals["output_tokens"] - 1

    for identifier in ("SYM-1", "SYM-2"):
        # The command's output went back to this agent's conversation only.
        outputs = [
            out
            for r in model.requests
            if issue_identifier_in(r, ["SYM-1", "SYM-2"]) == identifier
            for out in r.function_call_outputs().values()
        ]
        assert any("wrote" in out for out in outputs), outputs

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

    # A human finishes SYM-1 while the service keeps running.
    project.board("move", "SYM-1", "Done")
    swept = workspaces / "SYM-1"

    def hook_ran_and_workspace_gone() -> str | None:
        # The hook writes its line before the directory is deleted: wait for both.
        if swept.exists() or not removed_log.exists():
            return None
        return removed_log.read_text(encoding="utf-8")

    removed = wait_until_sync(
        hook_ran_and_workspace_gone,
        "before_remove to run for SYM-1 and its workspace to be deleted, service running",
        timeout=20,  # normally one or two polls (POLL_MS); the bound only guards a loaded machine
    )
    assert removed.split() == ["SYM-1", str(swept.resolve())]
    assert service.alive()

    # Over the next polls nothing happens to SYM-2: not removed, not dispatched again.
    requests_before = len(model.requests)
    polls: set[str] = set()

    def three_more_polls(snapshot: dict[str, object]) -> bool:
        tracker = snapshot["tracker"]
        assert isinstance(tracker, dict)
        if tracker["last_poll_at"] is not None:
            polls.add(tracker["last_poll_at"])
        return len(polls) >= 3

    quiet = service.wait_until(three_more_polls, 20, what="three more candidate polls")
    assert is_idle(quiet) and quiet["tracker"]["error"] is None
    assert len(model.requests) == requests_before
    assert removed_log.read_text(encoding="utf-8") == removed
    assert (workspaces / "SYM-2" / "proof.txt").read_text(encoding="utf-8") == "made by SYM-2"
    for identifier in ("SYM-1", "SYM-2"):
        detail = service.issue(identifier)
        assert detail is not None and detail["status"] == "released", detail
        assert detail["workspace"]["path"] == str((workspaces / identifier).resolve()), detail
    code, output = service.stop()
    assert code == 0, output


def test_moving_a_running_issue_to_done_stops_its_agent_and_removes_its_workspace(
    project: Project, model: FakeModelServer
) -> None:
    long_command = Reply.function_call("exec_command", {"cmd": "sleep 60", "yield_time_ms": 30000})
    model.responder = per_issue_responder({"SYM-1": [long_command], "SYM-2": [long_command]})
    removed_log = project.root / "removed.log"
    project.write_workflow(
        local_front_matter(
            codex_bin=project.codex_bin,
            hooks={"before_remove": f'echo "$SYMPHONY_ISSUE_IDENTIFIER" >> {removed_log}'},
        ),
        PROMPT,
    )
    project.board("add", "Stopped by a human")
    project.board("add", "Keeps going")
    service = project.start()
    busy = service.wait_until(
        lambda s: all(
            (row := running_row(s, i)) and row["turn_count"] >= 1 for i in ("SYM-1", "SYM-2")
        ),
        30,
        what="both agents to be in a turn",
    )
    first = running_row(busy, "SYM-1")
    assert first is not None
    workspace = Path(first["workspace_path"])
    assert workspace.is_dir()

    project.board("move", "SYM-1", "Done")
    after = service.wait_until(
        lambda s: running_row(s, "SYM-1") is None and not workspace.exists(),
        30,
        what="SYM-1's agent to stop and its workspace to be removed",
    )
    assert _read_when_present(removed_log).split() == ["SYM-1"]
    second = running_row(after, "SYM-2")
    assert second is not None and Path(second["workspace_path"]).is_dir()
    assert after["retrying"] == []  # a terminal issue is released, not retried
    detail = service.issue("SYM-1")
    assert detail is not None and detail["status"] == "released"
    code, output = service.stop()
    assert code == 0, output


def _read_when_present(path: Path) -> str:
    return wait_until_sync(
        lambda: path.read_text(encoding="utf-8") if path.exists() else "",
        f"{path.name} to be written",
        timeout=20,
    )
