"""Default posture and verbatim pass-through of codex.* values (SPEC §5.3.6, §10.5)."""

from __future__ import annotations

from pathlib import Path

from symphony.agents.codex.policy import SessionPolicy, thread_title
from symphony.agents.continuation import continuation_guidance
from symphony.workflow.config import CodexConfig
from tests.agents.conftest import make_issue

WS = Path("/srv/ws/SYM-1")


def test_defaults_are_never_workspace_write_and_a_workspace_only_sandbox() -> None:
    policy = SessionPolicy.from_config(CodexConfig(), WS)
    assert policy.approval_policy == "never"
    assert policy.thread_sandbox == "workspace-write"
    assert policy.turn_sandbox_policy == {
        "type": "workspaceWrite",
        "writableRoots": [str(WS)],
        "networkAccess": False,
    }
    assert policy.auto_approve


def test_configured_values_pass_through_unchanged() -> None:
    granular = {"granular": {"sandbox_approval": True, "rules": False, "mcp_elicitations": True}}
    turn = {"type": "workspaceWrite", "networkAccess": True}
    codex = CodexConfig(
        approval_policy=granular, thread_sandbox="read-only", turn_sandbox_policy=turn
    )
    policy = SessionPolicy.from_config(codex, WS)
    start = policy.thread_start_params(WS, [])
    assert start["approvalPolicy"] == granular and start["sandbox"] == "read-only"
    # An explicit turn policy is used as given, never merged with the default.
    assert policy.turn_start_params("thr", "x", WS)["sandboxPolicy"] == turn
    assert not policy.auto_approve


def test_thread_title_names_the_issue() -> None:
    assert thread_title(make_issue(title="  Fix\nthe   bug ")) == "SYM-1: Fix the bug"
    assert thread_title(make_issue(title=" ")) == "SYM-1"


def test_continuation_guidance_is_short_and_numbered() -> None:
    text = continuation_guidance(3, 20, issue_identifier="SYM-1")
    assert text.startswith("Continuation guidance:")
    assert "turn 3 of at most 20" in text and "SYM-1" in text
    assert "do not repeat the task description" in text
