"""End to end: an agent under ``approval_policy: untrusted`` waits for an operator.

The real service runs the real codex on the local board. Codex asks before the agent's command;
the request shows up in the API (``pending_request_count``, ``pending_requests``), the operator
lists it and approves it with the CLI, the command runs, and the agent hands the issue over.
Guidance sent with ``symphony steer`` meanwhile reaches the model within the same turn.
See docs/human-requests.md.
"""

from __future__ import annotations

import pytest

from tests.e2e.harness import Project, local_front_matter, per_issue_responder, running_row
from tests.support.fake_model import FakeModelServer, Reply
from tests.support.waiting import wait_until_sync

pytestmark = pytest.mark.codex

PROMPT = "You are working on {{ issue.identifier }}: {{ issue.title }}."


def test_an_operator_approves_a_parked_command_from_the_cli(
    project: Project, model: FakeModelServer
) -> None:
    model.responder = per_issue_responder(
        {
            "SYM-1": [
                Reply.exec_command("printf approved > approved.txt"),
                Reply.tool_call("board_move_issue", {"state": "Human Review"}),
                Reply.message("Done."),
            ]
        }
    )
    project.write_workflow(
        local_front_matter(codex_bin=project.codex_bin, codex={"approval_policy": "untrusted"}),
        PROMPT,
    )
    project.board("add", "Write a file, with permission")
    service = project.start()

    def waiting(snapshot: dict[str, object]) -> bool:
        row = running_row(snapshot, "SYM-1")  # type: ignore[arg-type]
        return row is not None and row["pending_request_count"] == 1

    service.wait_until(waiting, 60, what="the agent to wait for an approval")
    detail = service.issue("SYM-1")
    assert detail is not None
    (request,) = detail["pending_requests"]
    assert request["kind"] == "command_approval"
    assert "approved.txt" in request["command"]
    workspace = project.root / "workspaces" / "SYM-1"
    assert request["cwd"] == str(workspace)
    assert not (workspace / "approved.txt").exists()

    # The turn is running (the agent waits inside it): guidance goes into this very turn.
    steered = project.run("steer", "SYM-1", "-m", "Mention the steer d41c.", "--url", service.url)
    assert steered.returncode == 0, steered.stderr
    assert "running turn" in steered.stdout

    listed = project.run("requests", "--url", service.url)
    assert listed.returncode == 0, listed.stderr
    assert request["id"] in listed.stdout
    answered = project.run("answer", "SYM-1", request["id"], "--approve", "--url", service.url)
    assert answered.returncode == 0, answered.stderr
    again = project.run("answer", "SYM-1", request["id"], "--deny", "--url", service.url)
    assert again.returncode == 1 and "request_already_answered" in again.stderr

    wait_until_sync(
        lambda: (workspace / "approved.txt").exists(), "the approved command ran", timeout=60
    )
    assert (workspace / "approved.txt").read_text() == "approved"
    service.wait_until(
        lambda s: running_row(s, "SYM-1") is None, 60, what="the agent to hand the issue over"
    )
    shown = project.board("show", "SYM-1").json()
    assert shown["state"] == "Human Review"
    after_command = model.requests[1]
    assert any("steer d41c" in text for text in after_command.user_texts())
    assert "steer d41c" not in model.requests[0].text()
