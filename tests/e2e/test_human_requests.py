"""End to end: agents that wait for an operator (docs/human-requests.md).

The real service runs the real codex on the local board. Under ``approval_policy: untrusted``
codex asks before the agent's command; the request shows up in the API
(``pending_request_count``, ``pending_requests``), the operator lists it and approves it with the
CLI, the command runs, and the agent hands the issue over. Guidance sent with ``symphony steer``
meanwhile reaches the model within the same turn. A question the agent asks is answered through
the API, and the answer reaches the model.
"""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.harness import Project, local_front_matter, per_issue_responder, running_row
from tests.support.fake_model import FakeModelServer, Reply, write_codex_home
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


def test_a_question_is_answered_through_the_api_and_reaches_the_model(
    project: Project, model: FakeModelServer
) -> None:
    # codex offers its question tool outside Plan mode only with this feature.
    write_codex_home(
        project.codex_home,
        base_url=model.base_url,
        extra_toml="default_mode_request_user_input = true\n",
    )
    question = {
        "id": "branch",
        "header": "Branch",
        "question": "Which branch should the fix go to?",
        "options": [
            {"label": "main", "description": "The next release."},
            {"label": "stable", "description": "A patch release."},
        ],
    }
    model.responder = per_issue_responder(
        {
            "SYM-1": [
                Reply.function_call("request_user_input", {"questions": [question]}),
                Reply.tool_call("board_move_issue", {"state": "Human Review"}),
                Reply.message("Done."),
            ]
        }
    )
    project.write_workflow(local_front_matter(codex_bin=project.codex_bin), PROMPT)
    project.board("add", "Ask before choosing a branch")
    service = project.start()

    def asking(snapshot: dict[str, object]) -> bool:
        row = running_row(snapshot, "SYM-1")  # type: ignore[arg-type]
        return row is not None and row["pending_request_count"] == 1

    service.wait_until(asking, 60, what="the agent to ask its question")
    detail = service.issue("SYM-1")
    assert detail is not None
    (request,) = detail["pending_requests"]
    assert request["kind"] == "question"
    assert request["questions"][0]["options"] == ["main", "stable"]
    url = f"{service.url}api/v1/SYM-1/requests/{request['id']}"
    bad = httpx.post(url, json={"decision": "approve"}, timeout=10)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_answer"
    answered = httpx.post(url, json={"answers": {"branch": "stable, please"}}, timeout=10)
    assert answered.status_code == 202, answered.text

    service.wait_until(
        lambda s: running_row(s, "SYM-1") is None, 60, what="the agent to hand the issue over"
    )
    outputs = model.requests[1].function_call_outputs()
    assert any("stable, please" in output for output in outputs.values())
