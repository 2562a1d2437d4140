"""End to end: proof of work and the verify gate on the local board (docs/review.md).

The real service runs the real codex against a fake model. The agent writes a draft and hands its
issue to Human Review; ``hooks.verify`` fails on the draft, so Symphony moves the issue back,
updates its proof comment and sends the agent the failing output in one more turn. The agent fixes
the file and hands off again; verify passes and the issue stays in Human Review with one proof
comment, its proof in the API and its diff at ``/diff``.
"""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.harness import Project, is_idle, local_front_matter, per_issue_responder
from tests.support.fake_model import FakeModelServer, RecordedRequest, Reply

pytestmark = pytest.mark.codex

PROMPT = "You are working on {{ issue.identifier }}: {{ issue.title }}."
FAILURE = "work.txt is not fixed"
VERIFY = f'grep -q fixed work.txt || {{ echo "{FAILURE}"; exit 1; }}'
BASE = (
    "git init -q && git -c user.name=base -c user.email=base@example.com "
    "commit -q --allow-empty -m base"
)


def after_handing_off(request: RecordedRequest) -> Reply:
    # The same step answers the end of the first turn and the start of the verify retry.
    if any(FAILURE in text for text in request.user_texts()):
        return Reply.exec_command("echo fixed > work.txt")
    return Reply.message("SYM-1 is ready for review.")


def test_a_failing_verify_sends_the_work_back_and_a_pass_reaches_review(
    project: Project, model: FakeModelServer
) -> None:
    model.responder = per_issue_responder(
        {
            "SYM-1": [
                Reply.exec_command("printf 'draft\\n' > work.txt"),
                Reply.tool_call("board_move_issue", {"state": "Human Review"}),
                after_handing_off,
                Reply.tool_call("board_move_issue", {"state": "Human Review"}),
            ]
        },
        done=Reply.message("Fixed; verify passes now."),
    )
    project.write_workflow(
        local_front_matter(
            codex_bin=project.codex_bin,
            hooks={"after_create": BASE, "verify": VERIFY},
        ),
        PROMPT,
    )
    project.board("add", "Write the work file")
    service = project.start()
    service.wait_until(
        lambda s: (
            is_idle(s)
            and s["codex_totals"]["total_tokens"] > 0
            and project.board("show", "SYM-1").json()["state"] == "Human Review"
        ),
        90,
        what="the agent to hand off twice and the service to go idle",
    )

    shown = project.board("show", "SYM-1").json()
    moves = [(h["from"], h["to"], h["actor"]) for h in shown["history"]][-3:]
    assert moves == [
        ("Todo", "Human Review", "agent"),
        ("Human Review", "Todo", "symphony"),
        ("Todo", "Human Review", "agent"),
    ]
    # The retry turn's input carried the failing output.
    assert any(
        any(FAILURE in text and "verify" in text for text in r.user_texts()) for r in model.requests
    )
    proof_comments = [c for c in shown["comments"] if "## Proof of work" in c["body"]]
    assert len(proof_comments) == 1, shown["comments"]  # updated in place
    assert "**Verify: passed**" in proof_comments[0]["body"]
    assert "work.txt" in proof_comments[0]["body"]

    detail = service.issue("SYM-1")
    assert detail is not None
    proof = detail["proof"]
    assert proof["verify"]["passed"] is True and proof["verify_failures"] == 0
    assert proof["turns"] == 2 and proof["base"] and proof["cost_usd"] is None
    assert [f["path"] for f in proof["files"]] == ["work.txt"]
    assert proof["files"][0]["uncommitted"] is True
    assert any("work.txt" in c["command"] for c in proof["commands"]), proof["commands"]
    assert proof["final_message"] == "Fixed; verify passes now."

    diff = httpx.get(service.url.rstrip("/") + "/api/v1/SYM-1/diff", timeout=10)
    assert diff.status_code == 200
    assert diff.headers["content-type"] == "text/x-diff; charset=utf-8"
    assert "+fixed" in diff.text
    missing = httpx.get(service.url.rstrip("/") + "/api/v1/SYM-9/diff", timeout=10)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "no_proof"
