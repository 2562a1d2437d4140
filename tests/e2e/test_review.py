"""End to end: a human's review decisions on the local board (docs/review.md).

The real service runs on the local board with only ``Todo`` active, so no agent starts and the
board changes only through the decisions: one issue waiting in ``Human Review`` is sent back with
a comment from the CLI, another is approved through the API.
"""

from __future__ import annotations

import httpx

from tests.e2e.harness import Project, local_front_matter

PROMPT = "You are working on {{ issue.identifier }}."


def test_review_decisions_reach_the_board(project: Project) -> None:
    project.write_workflow(
        local_front_matter(codex_bin=project.codex_bin, tracker={"active_states": ["Todo"]}),
        PROMPT,
    )
    project.board("add", "Rework me", "-s", "Human Review")
    project.board("add", "Approve me", "-s", "Human Review")
    service = project.start()

    reworked = project.run(
        "review", "SYM-1", "--rework", "-m", "Split the migration out.", "--url", service.url
    )
    assert reworked.returncode == 0, reworked.stderr
    assert reworked.stdout == "SYM-1 moved to Rework, comment posted\n"
    shown = project.board("show", "SYM-1").json()
    assert shown["state"] == "Rework"
    (comment,) = shown["comments"]
    assert comment["body"] == "Split the migration out."
    move = shown["history"][-1]
    assert (move["from"], move["to"]) == ("Human Review", "Rework")
    # The comment is there first, so the run the move starts reads it.
    assert comment["created_at"] <= move["at"]

    approved = httpx.post(
        service.url.rstrip("/") + "/api/v1/SYM-2/review", json={"decision": "approve"}, timeout=10
    )
    assert approved.status_code == 202, approved.text
    assert approved.json() == {
        "issue_identifier": "SYM-2",
        "decision": "approve",
        "state": "Merging",
        "comment_posted": False,
    }
    shown = project.board("show", "SYM-2").json()
    assert shown["state"] == "Merging" and shown["comments"] == []

    refused = project.run("review", "SYM-1", "--approve", "--url", service.url)
    assert refused.returncode == 1 and "404 issue_not_found" in refused.stderr
    assert project.board("show", "SYM-1").json()["state"] == "Rework"
