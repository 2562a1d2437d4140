"""End to end with ``agent.kind: claude_code``: the real service runs the real ``claude`` (its
sandbox on) against a fake Anthropic Messages API on the local board.

The agent writes a file with its Bash tool and hands its issue to Human Review with the board
tool, which reaches it through Symphony's per-session MCP server. The running row says which
agent runs; Claude's tokens land in ``codex_totals``; the proof of work carries the cost claude
reported.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Project, is_idle, local_front_matter, running_row
from tests.support.fake_anthropic import FakeAnthropicServer, Reply, claude_env

REPO = Path(__file__).resolve().parents[2]
CLAUDE_BIN = Path(
    os.environ.get("SYMPHONY_CLAUDE_BIN") or REPO / ".tools/claude/node_modules/.bin/claude"
)
pytestmark = [
    pytest.mark.claude,
    pytest.mark.skipif(
        not CLAUDE_BIN.exists(),
        reason=f"real claude binary not found at {CLAUDE_BIN} (run scripts/setup, or set "
        "SYMPHONY_CLAUDE_BIN)",
    ),
]

PROMPT = "You are working on {{ issue.identifier }}: {{ issue.title }}."
BASE = (
    "git init -q && git -c user.name=base -c user.email=base@example.com "
    "commit -q --allow-empty -m base"
)


@pytest.fixture
def api() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer(default=Reply.message("Done.")) as server:
        yield server


@pytest.fixture
def project(tmp_path: Path, api: FakeAnthropicServer) -> Iterator[Project]:
    env = claude_env(api, tmp_path / "claude-config")
    proj = Project(tmp_path / "project", model_base_url=api.base_url, extra_env=env)
    try:
        yield proj
    finally:
        proj.close()


def test_claude_code_hands_the_issue_to_human_review_through_the_board_tool(
    project: Project, api: FakeAnthropicServer
) -> None:
    api.script(
        # Held back a little so the running row is seen while the agent works.
        Reply.bash("printf 'made by SYM-1' > proof.txt && echo wrote", delay_s=0.5),
        Reply.tool("mcp__symphony__board_move_issue", {"state": "Human Review"}),
        Reply.message("SYM-1 is ready for review."),
    )
    project.write_workflow(
        local_front_matter(
            agent={"kind": "claude_code", "max_concurrent_agents": 1},
            hooks={"after_create": BASE},
            claude_code={
                "command": str(CLAUDE_BIN),
                "read_timeout_ms": 20000,
                "turn_timeout_ms": 60000,
                "sandbox": bool(shutil.which("bwrap") and shutil.which("socat")),
            },
        ),
        PROMPT,
    )
    validated = project.run("validate", str(project.workflow))
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert "claude_code" in validated.stdout

    project.board("add", "Write the proof")
    service = project.start()
    busy = service.wait_until(lambda s: running_row(s, "SYM-1"), 30, what="SYM-1 to be running")
    row = running_row(busy, "SYM-1")
    assert row is not None and row["agent_kind"] == "claude_code"

    idle = service.wait_until(
        lambda s: (
            is_idle(s)
            and s["codex_totals"]["total_tokens"] > 0
            and project.board("show", "SYM-1").json()["state"] == "Human Review"
        ),
        60,
        what="the agent to hand off and the service to go idle",
    )
    shown = project.board("show", "SYM-1").json()
    assert [(h["to"], h["actor"]) for h in shown["history"]][-1] == ("Human Review", "agent")
    workspace = project.root / "workspaces" / "SYM-1"
    assert (workspace / "proof.txt").read_text(encoding="utf-8") == "made by SYM-1"

    # 3 model requests of the default fake usage (100 in, 20 out), counted once.
    totals = idle["codex_totals"]
    assert (totals["input_tokens"], totals["output_tokens"]) == (300, 60), json.dumps(totals)
    detail = service.issue("SYM-1")
    assert detail is not None
    proof = detail["proof"]
    assert proof["cost_usd"] is not None and proof["cost_usd"] > 0
    assert proof["final_message"] == "SYM-1 is ready for review."
    assert any("proof.txt" in c["command"] for c in proof["commands"]), proof["commands"]
    assert len(api.requests) == 3
