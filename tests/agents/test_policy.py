"""Default posture and verbatim pass-through of codex.* values (SPEC §5.3.6, §10.5)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from symphony.agents.codex.policy import SessionPolicy, thread_title
from symphony.agents.continuation import continuation_guidance
from symphony.workflow.config import CodexConfig
from tests.agents.conftest import make_issue

WS = Path("/srv/ws/SYM-1")


def test_defaults_are_never_workspace_write_and_a_workspace_and_its_git_sandbox() -> None:
    policy = SessionPolicy.from_config(CodexConfig(), WS)
    assert policy.approval_policy == "never"
    assert policy.thread_sandbox == "workspace-write"
    assert policy.turn_sandbox_policy == {
        "type": "workspaceWrite",
        "writableRoots": [str(WS), str(WS / ".git")],
        "networkAccess": False,
    }
    assert policy.turn_start_params("thr", "x", WS)["sandboxPolicy"] == policy.turn_sandbox_policy
    assert policy.auto_approve


def test_workspace_git_writable_off_restores_the_workspace_only_sandbox() -> None:
    policy = SessionPolicy.from_config(CodexConfig(workspace_git_writable=False), WS)
    assert policy.turn_sandbox_policy == {
        "type": "workspaceWrite",
        "writableRoots": [str(WS)],
        "networkAccess": False,
    }


def test_configured_values_pass_through_unchanged() -> None:
    granular = {"granular": {"sandbox_approval": True, "rules": False, "mcp_elicitations": True}}
    turn = {"type": "workspaceWrite", "networkAccess": True}
    codex = CodexConfig(
        approval_policy=granular,
        thread_sandbox="read-only",
        turn_sandbox_policy=turn,
        workspace_git_writable=False,
    )
    policy = SessionPolicy.from_config(codex, WS)
    start = policy.thread_start_params(WS, [])
    assert start["approvalPolicy"] == granular and start["sandbox"] == "read-only"
    # An explicit turn policy is used as given, never merged with the default.
    assert policy.turn_start_params("thr", "x", WS)["sandboxPolicy"] == turn
    assert not policy.auto_approve


def test_an_explicit_workspace_write_policy_gets_only_the_workspace_git() -> None:
    turn = {"type": "workspaceWrite", "networkAccess": True}
    policy = SessionPolicy.from_config(CodexConfig(turn_sandbox_policy=turn), WS)
    # Codex always lets the turn's cwd (the workspace) be written; only .git needs naming.
    assert policy.turn_start_params("thr", "x", WS)["sandboxPolicy"] == {
        "type": "workspaceWrite",
        "networkAccess": True,
        "writableRoots": [str(WS / ".git")],
    }
    assert turn == {"type": "workspaceWrite", "networkAccess": True}  # the config is not mutated

    listed = {"type": "workspaceWrite", "writableRoots": ["/srv/cache", str(WS / ".git")]}
    policy = SessionPolicy.from_config(CodexConfig(turn_sandbox_policy=listed), WS)
    assert policy.turn_sandbox_policy == listed


@pytest.mark.parametrize(
    "turn",
    [
        {"type": "dangerFullAccess"},
        {"type": "readOnly", "networkAccess": False},
        {"type": "externalSandbox"},
        {"type": "workspaceWrite", "writableRoots": "/not/a/list"},
    ],
)
def test_other_policies_are_never_given_the_workspace_git(turn: dict[str, Any]) -> None:
    policy = SessionPolicy.from_config(CodexConfig(turn_sandbox_policy=turn), WS)
    assert policy.turn_sandbox_policy == turn


def test_thread_title_names_the_issue() -> None:
    assert thread_title(make_issue(title="  Fix\nthe   bug ")) == "SYM-1: Fix the bug"
    assert thread_title(make_issue(title=" ")) == "SYM-1"


def test_continuation_guidance_is_short_and_numbered() -> None:
    text = continuation_guidance(3, 20, issue_identifier="SYM-1")
    assert text.startswith("Continuation guidance:")
    assert "turn 3 of at most 20" in text and "SYM-1" in text
    assert "do not repeat the task description" in text
