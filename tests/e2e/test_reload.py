"""End to end: editing WORKFLOW.md while the service runs (SPEC §6.2).

A prompt edit reaches the next run; a broken file keeps the service up on the last good config,
shows ``workflow.error`` in the API and pauses dispatch; fixing the file clears the error and the
issue that waited is dispatched with the fixed file's prompt. The tracker is the local board; an
issue is added with ``symphony board --db`` while the workflow cannot be read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.harness import (
    Project,
    ServiceProcess,
    Snapshot,
    is_idle,
    issue_identifier_in,
    local_front_matter,
    per_issue_responder,
)
from tests.support.fake_model import FakeModelServer, RecordedRequest, Reply

pytestmark = pytest.mark.codex

POLL_MS = 500
IDENTIFIERS = ("SYM-1", "SYM-2", "SYM-3")
BROKEN = "---\ntracker: {kind: local\npolling: [\n---\nPROMPT-BROKEN {{ issue.identifier }}\n"


def prompt(version: str) -> str:
    return (
        f"PROMPT-{version}: you are working on {{{{ issue.identifier }}}}: {{{{ issue.title }}}}."
    )


def hand_off() -> list[Reply]:
    return [
        Reply.tool_call("board_move_issue", {"state": "Human Review"}),
        Reply.message("Handed off for review."),
    ]


def first_request(model: FakeModelServer, identifier: str) -> RecordedRequest:
    for request in model.requests:
        if issue_identifier_in(request, IDENTIFIERS) == identifier:
            return request
    raise AssertionError(f"the model never heard about {identifier}")


def prompt_versions(request: RecordedRequest) -> set[str]:
    text = "\n".join(request.user_texts())
    return {v for v in ("V1", "V2", "V3", "BROKEN") if f"PROMPT-{v}" in text}


def handed_off(
    project: Project, service: ServiceProcess, identifier: str
) -> Callable[[Snapshot], Any]:
    """The agent moved ``identifier`` to Human Review and the service let go of it."""

    def check(snapshot: Snapshot) -> bool:
        if not is_idle(snapshot, [identifier]):
            return False
        detail = service.issue(identifier)
        if detail is None or detail["status"] != "released":
            return False
        return bool(project.board("show", identifier).json()["state"] == "Human Review")

    return check


def distinct_ticks(service: ServiceProcess, count: int) -> Snapshot:
    """Wait until ``count`` more poll ticks have finished (each re-arms ``next_poll_at``)."""
    seen: set[str] = set()

    def ticked(snapshot: Snapshot) -> bool:
        if snapshot["polling"]["next_poll_at"] is not None:  # null while a tick runs
            seen.add(snapshot["polling"]["next_poll_at"])
        return len(seen) > count

    service.state()
    return service.wait_until(ticked, 15, what=f"{count} more poll ticks")


def test_prompt_edits_apply_to_the_next_run_and_a_broken_file_pauses_dispatch(
    project: Project, model: FakeModelServer
) -> None:
    model.responder = per_issue_responder({i: hand_off() for i in IDENTIFIERS})
    front = local_front_matter(codex_bin=project.codex_bin, polling={"interval_ms": POLL_MS})
    project.write_workflow(front, prompt("V1"))
    project.board("add", "Runs with the first prompt")
    service = project.start()
    version_1 = service.wait_until(
        handed_off(project, service, "SYM-1"), 60, what="SYM-1 to be handed off"
    )["workflow"]["version"]
    assert prompt_versions(first_request(model, "SYM-1")) == {"V1"}

    # 1. A prompt edit: the next run uses it.
    project.write_workflow(front, prompt("V2"))
    reloaded = service.wait_until(
        lambda s: s["workflow"]["version"] != version_1, 20, what="the prompt edit to load"
    )
    assert reloaded["workflow"]["error"] is None
    project.board("add", "Runs with the second prompt")
    service.wait_until(handed_off(project, service, "SYM-2"), 60, what="SYM-2 to be handed off")
    assert prompt_versions(first_request(model, "SYM-2")) == {"V2"}

    # 2. A broken file: the service stays up on the last good config, the error is visible.
    # Replaced in one step: an in-place write can be seen empty for an instant, and an empty
    # file is a different error (invalid_workflow_config) than the one this step is about.
    staged = project.workflow.with_name("WORKFLOW.md.new")
    staged.write_text(BROKEN, encoding="utf-8")
    staged.replace(project.workflow)
    broken = service.wait_until(
        lambda s: s["workflow"]["error"] is not None, 20, what="the parse error to show"
    )
    error = broken["workflow"]["error"]
    assert error["code"] == "workflow_parse_error", error
    assert "WORKFLOW.md" in error["message"] and error["at"]
    assert broken["workflow"]["version"] == reloaded["workflow"]["version"]
    assert broken["polling"]["interval_ms"] == POLL_MS

    # The board CLI cannot read the workflow either; the board file itself still works.
    refused = project.board("add", "Never added", check=False)
    assert refused.returncode != 0
    board_db = str(project.root / ".symphony" / "board.sqlite")
    added = project.run("board", "--db", board_db, "--json", "add", "Waits for a fix")
    assert added.returncode == 0, added.stdout + added.stderr
    assert added.json()["identifier"] == "SYM-3"

    # Dispatch is paused: polls keep ticking (a refresh forces one more), SYM-3 stays put.
    service.refresh()
    paused = distinct_ticks(service, 3)
    assert paused["workflow"]["error"] is not None and is_idle(paused)
    assert service.issue("SYM-3") is None
    assert all(issue_identifier_in(r, IDENTIFIERS) != "SYM-3" for r in model.requests)
    assert project.run("board", "--db", board_db, "--json", "show", "SYM-3").json()["state"] == (
        "Todo"
    )
    assert service.alive()

    # 3. The fix: the error clears and the waiting issue runs with the fixed file's prompt.
    project.write_workflow(front, prompt("V3"))
    fixed = service.wait_until(
        lambda s: s["workflow"]["error"] is None, 20, what="the error to clear"
    )
    assert fixed["workflow"]["version"] != reloaded["workflow"]["version"]
    service.wait_until(handed_off(project, service, "SYM-3"), 60, what="SYM-3 to be handed off")
    assert prompt_versions(first_request(model, "SYM-3")) == {"V3"}

    code, output = service.stop()
    assert code == 0, output
    log = (project.logs_root / "symphony.log").read_text(encoding="utf-8")
    assert "workflow reload failed" in log and "workflow error cleared" in log
