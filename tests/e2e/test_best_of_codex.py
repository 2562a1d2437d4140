"""End to end with the real codex: best of two (docs/best-of.md).

Two candidates of one issue run at once, each in its own workspace; each commits its own file
and calls ``symphony_hand_off``; candidate a first tries to move the issue and is refused. Once
both handed off, Symphony runs ``hooks.verify`` in both, moves the issue once to Human Review and
posts one comparison comment. A human approves candidate b: the issue moves to Merging, b's
workspace becomes the issue's (a's is removed, ``before_remove`` runs), and the Merging run works
in it, as the issue's one run.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import Project, is_idle, local_front_matter, per_issue_responder
from tests.support.fake_model import FakeModelServer, Reply

pytestmark = pytest.mark.codex

PROMPT = (
    "Work on {{ issue.identifier }}"
    "{% if candidate %} as cand-{{ candidate.name }}{% else %} in state-{{ issue.state }}"
    "{% endif %}."
)
MARKER = "<!-- symphony:best-of -->"


def commit(name: str) -> str:
    return f"printf '{name}\\n' > {name}.txt && git add {name}.txt && git commit -qm 'Add {name}'"


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_two_candidates_are_judged_once_and_the_chosen_one_is_merged(
    project: Project, model: FakeModelServer
) -> None:
    model.responder = per_issue_responder(
        {
            "cand-a": [
                Reply.exec_command(commit("a")),
                Reply.tool_call("board_move_issue", {"state": "Human Review"}),
                Reply.tool_call("symphony_hand_off", {"summary": "Added a.txt"}),
            ],
            "cand-b": [
                Reply.exec_command(commit("b")),
                Reply.tool_call("symphony_hand_off", {"summary": "Added b.txt"}),
            ],
            "state-Merging": [
                Reply.exec_command("pwd > ../merging.log && ls >> ../merging.log"),
                Reply.tool_call("board_move_issue", {"state": "Done"}),
            ],
        },
        done=Reply.message("Done."),
    )
    project.write_workflow(
        local_front_matter(
            codex_bin=project.codex_bin,
            tracker={"active_states": ["Todo", "In Progress", "Merging"]},
            agent={"best_of": 2, "max_concurrent_agents": 2, "max_turns": 3},
            hooks={
                "after_create": (
                    "git init -q && git config user.name agent && "
                    "git config user.email agent@example.invalid && "
                    "git commit -q --allow-empty -m start"
                ),
                "before_remove": 'echo "$SYMPHONY_ISSUE_IDENTIFIER" >> ../before_remove.log',
                "verify": 'echo "$SYMPHONY_ISSUE_IDENTIFIER" >> ../verify.log',
            },
        ),
        PROMPT,
    )
    project.board("add", "Add a file")
    service = project.start()
    workspaces = project.root / "workspaces"

    def comparison() -> list[str]:
        shown = project.board("show", "SYM-1").json()
        return [c["body"] for c in shown["comments"] if MARKER in c["body"]]

    service.wait_until(
        lambda s: is_idle(s) and len(comparison()) == 1,
        90,
        what="both candidates judged and the comparison comment",
    )
    shown = project.board("show", "SYM-1").json()
    assert shown["state"] == "Human Review"
    # The state changed exactly once since the issue was added: Symphony's move to review.
    moves = [h for h in shown["history"] if h["from"] is not None]
    assert [(h["from"], h["to"]) for h in moves] == [("Todo", "Human Review")], moves
    assert sorted(lines(workspaces / "verify.log")) == ["SYM-1.a", "SYM-1.b"]
    (body,) = comparison()
    assert "Best of 2" in body and "Added a.txt" in body and "Added b.txt" in body
    refusals = [
        output
        for r in model.requests
        for output in r.function_call_outputs().values()
        if "symphony_hand_off" in output and "may not change the state" in output
    ]
    assert refusals, "candidate a's move was not refused"
    detail = service.issue("SYM-1")
    assert detail is not None
    rows = {c["name"]: c for c in detail["candidates"]}
    assert rows["a"]["files"] == ["a.txt"] and rows["b"]["files"] == ["b.txt"]
    assert rows["a"]["verify"] == rows["b"]["verify"] == "passed"

    approved = httpx.post(
        service.url.rstrip("/") + "/api/v1/SYM-1/review",
        json={"decision": "approve", "candidate": "b"},
        timeout=10,
    )
    assert approved.status_code == 202, approved.text
    service.wait_until(
        lambda s: project.board("show", "SYM-1").json()["state"] == "Done",
        90,
        what="the Merging run in b's workspace",
    )
    cwd, *files = lines(workspaces / "merging.log")
    assert Path(cwd).name == "SYM-1" and "b.txt" in files and "a.txt" not in files
    assert lines(workspaces / "before_remove.log")[:1] == ["SYM-1.a"]
    assert not (workspaces / "SYM-1.a").exists() and not (workspaces / "SYM-1.b").exists()
    code, output = service.stop()
    assert code == 0, output
