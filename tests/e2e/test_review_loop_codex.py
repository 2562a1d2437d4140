"""End to end with the real codex: the whole review loop (docs/review.md).

The agent commits a change and hands off; Symphony collects the proof of work, runs
``hooks.verify`` and posts one proof comment. A human sends the issue back with a comment: the next
run starts in a fresh workspace (``before_remove`` once, ``after_create`` twice, the old file gone)
on a new thread, with the comment in its prompt; its hand-off updates the same proof comment; the
human approves and the issue moves to Merging.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import Project, is_idle, local_front_matter
from tests.support.fake_model import FakeModelServer, RecordedRequest, Reply

pytestmark = pytest.mark.codex

PROMPT = """Work on {{ issue.identifier }}: {{ issue.title }}.
{% for comment in issue.comments %}Reviewer said: {{ comment.body }}
{% endfor %}"""
REWORK = "Rename it: the file must be called second.txt."
MARKER = "<!-- symphony:proof -->"


def commit(name: str) -> str:
    return f"printf 'hello\\n' > {name} && git add {name} && git commit -qm 'Add {name}'"


def respond(request: RecordedRequest) -> Reply:
    """First round writes first.txt, the rework round second.txt; each commits, then hands off."""
    name = "second.txt" if REWORK in request.text() else "first.txt"
    outputs = request.function_call_outputs()
    if not outputs:
        return Reply.exec_command(commit(name), call_id=f"commit-{name}")
    if f"move-{name}" not in outputs:
        return Reply.tool_call(
            "board_move_issue", {"state": "Human Review"}, call_id=f"move-{name}"
        )
    return Reply.message(f"Committed {name}; handing off for review.")


def proof_comments(project: Project) -> list[dict[str, str]]:
    shown = project.board("show", "SYM-1").json()
    return [c for c in shown["comments"] if "## Proof of work" in c["body"]]


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_the_review_loop_with_the_real_codex(project: Project, model: FakeModelServer) -> None:
    model.responder = respond
    project.write_workflow(
        local_front_matter(
            codex_bin=project.codex_bin,
            tracker={"active_states": ["Todo", "In Progress", "Rework"]},
            workspace={"reset_states": ["Rework"]},
            hooks={
                "after_create": (
                    "git init -q && git config user.name agent && "
                    "git config user.email agent@example.invalid && "
                    "printf 'start\\n' > README.md && git add README.md && "
                    "git commit -qm start && echo created >> ../after_create.log"
                ),
                "before_remove": "echo removed >> ../before_remove.log",
                "verify": "test -f first.txt || test -f second.txt; echo verified $?",
            },
        ),
        PROMPT,
    )
    project.board("add", "Add a greeting file")
    service = project.start()
    workspaces = project.root / "workspaces"

    service.wait_until(
        lambda s: is_idle(s) and len(proof_comments(project)) == 1,
        60,
        what="the first hand-off and its proof comment",
    )
    assert project.board("show", "SYM-1").json()["state"] == "Human Review"
    (comment,) = proof_comments(project)
    assert "first.txt" in comment["body"] and "passed" in comment["body"].lower()
    detail = service.issue("SYM-1")
    assert detail is not None
    proof = detail["proof"]
    assert [f["path"] for f in proof["files"]] == ["first.txt"]
    assert proof["files"][0]["uncommitted"] is False
    assert [c["subject"] for c in proof["commits"]] == ["Add first.txt"]
    assert proof["verify"]["passed"] is True and "verified 0" in proof["verify"]["output_tail"]
    assert proof["final_message"] == "Committed first.txt; handing off for review."
    assert any("first.txt" in c["command"] and c["exit_code"] == 0 for c in proof["commands"])
    diff = service.get("/api/v1/SYM-1/diff")
    assert diff.status_code == 200 and diff.headers["content-type"].startswith("text/x-diff")
    assert "+++ b/first.txt" in diff.text
    first_thread = {r.headers.get("thread-id") for r in model.requests}
    assert len(first_thread) == 1

    reworked = httpx.post(
        service.url.rstrip("/") + "/api/v1/SYM-1/review",
        json={"decision": "rework", "comment": REWORK},
        timeout=10,
    )
    assert reworked.status_code == 202, reworked.text

    service.wait_until(
        lambda s: is_idle(s) and any("second.txt" in c["body"] for c in proof_comments(project)),
        60,
        what="the rework round's hand-off",
    )
    # The hooks run in the workspace: ``..`` is the workspace root.
    assert lines(workspaces / "after_create.log") == ["created", "created"]
    assert lines(workspaces / "before_remove.log") == ["removed"]
    workspace = workspaces / "SYM-1"
    assert (workspace / "second.txt").exists() and not (workspace / "first.txt").exists()
    rework_requests = [r for r in model.requests if REWORK in r.text()]
    assert rework_requests, "the reviewer's comment never reached the prompt"
    assert {r.headers.get("thread-id") for r in rework_requests}.isdisjoint(first_thread)
    # One proof comment, updated in place.
    (updated,) = proof_comments(project)
    assert updated["id"] == comment["id"] and "first.txt" not in updated["body"]
    detail = service.issue("SYM-1")
    assert detail is not None
    assert [f["path"] for f in detail["proof"]["files"]] == ["second.txt"]

    approved = httpx.post(
        service.url.rstrip("/") + "/api/v1/SYM-1/review", json={"decision": "approve"}, timeout=10
    )
    assert approved.status_code == 202, approved.text
    assert project.board("show", "SYM-1").json()["state"] == "Merging"
    code, output = service.stop()
    assert code == 0, output
