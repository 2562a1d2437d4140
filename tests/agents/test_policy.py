"""Default posture and verbatim pass-through of codex.* values (SPEC §5.3.6, §10.5)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from symphony.agents.codex.policy import SessionPolicy, thread_title
from symphony.agents.continuation import continuation_guidance
from symphony.workflow.config import CodexConfig
from tests.agents.conftest import make_issue


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A workspace whose .git is a real directory."""
    workspace = tmp_path / "SYM-1"
    (workspace / ".git").mkdir(parents=True)
    return workspace


def test_defaults_are_never_workspace_write_and_a_workspace_and_its_git_sandbox(
    repo: Path,
) -> None:
    policy = SessionPolicy.from_config(CodexConfig(), repo)
    assert policy.approval_policy == "never"
    assert policy.thread_sandbox == "workspace-write"
    assert policy.turn_sandbox_policy == {
        "type": "workspaceWrite",
        "writableRoots": [str(repo), str(repo / ".git")],
        "networkAccess": False,
    }
    assert policy.turn_start_params("thr", "x", repo)["sandboxPolicy"] == policy.turn_sandbox_policy
    assert policy.auto_approve


def test_workspace_git_writable_off_restores_the_workspace_only_sandbox(repo: Path) -> None:
    policy = SessionPolicy.from_config(CodexConfig(workspace_git_writable=False), repo)
    assert policy.turn_sandbox_policy == {
        "type": "workspaceWrite",
        "writableRoots": [str(repo)],
        "networkAccess": False,
    }


def test_only_a_real_git_directory_is_made_writable(tmp_path: Path) -> None:
    # Codex binds a writable root through a symlink: a .git symlink would open its target.
    workspace = tmp_path / "SYM-1"
    workspace.mkdir()
    only_workspace = [str(workspace)]

    def roots() -> Any:
        return SessionPolicy.from_config(CodexConfig(), workspace).turn_sandbox_policy[
            "writableRoots"
        ]

    assert roots() == only_workspace  # no .git yet
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (workspace / ".git").symlink_to(elsewhere)
    assert roots() == only_workspace
    (workspace / ".git").unlink()
    (workspace / ".git").write_text(f"gitdir: {elsewhere}\n")  # a linked worktree
    assert roots() == only_workspace
    (workspace / ".git").unlink()
    (workspace / ".git").mkdir()
    assert roots() == [str(workspace), str(workspace / ".git")]


def test_configured_values_pass_through_unchanged(repo: Path) -> None:
    granular = {"granular": {"sandbox_approval": True, "rules": False, "mcp_elicitations": True}}
    turn = {"type": "workspaceWrite", "networkAccess": True}
    codex = CodexConfig(
        approval_policy=granular,
        thread_sandbox="read-only",
        turn_sandbox_policy=turn,
        workspace_git_writable=False,
    )
    policy = SessionPolicy.from_config(codex, repo)
    start = policy.thread_start_params(repo, [])
    assert start["approvalPolicy"] == granular and start["sandbox"] == "read-only"
    # An explicit turn policy is used as given, never merged with the default.
    assert policy.turn_start_params("thr", "x", repo)["sandboxPolicy"] == turn
    assert not policy.auto_approve


def test_an_explicit_workspace_write_policy_gets_only_the_workspace_git(repo: Path) -> None:
    turn = {"type": "workspaceWrite", "networkAccess": True}
    policy = SessionPolicy.from_config(CodexConfig(turn_sandbox_policy=turn), repo)
    # Codex always lets the turn's cwd (the workspace) be written; only .git needs naming.
    assert policy.turn_start_params("thr", "x", repo)["sandboxPolicy"] == {
        "type": "workspaceWrite",
        "networkAccess": True,
        "writableRoots": [str(repo / ".git")],
    }
    assert turn == {"type": "workspaceWrite", "networkAccess": True}  # the config is not mutated

    listed = {"type": "workspaceWrite", "writableRoots": ["/srv/cache", str(repo / ".git")]}
    policy = SessionPolicy.from_config(CodexConfig(turn_sandbox_policy=listed), repo)
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
def test_other_policies_are_never_given_the_workspace_git(repo: Path, turn: dict[str, Any]) -> None:
    policy = SessionPolicy.from_config(CodexConfig(turn_sandbox_policy=turn), repo)
    assert policy.turn_sandbox_policy == turn


def test_thread_title_names_the_issue() -> None:
    assert thread_title(make_issue(title="  Fix\nthe   bug ")) == "SYM-1: Fix the bug"
    assert thread_title(make_issue(title=" ")) == "SYM-1"


def test_continuation_guidance_is_short_and_numbered() -> None:
    text = continuation_guidance(3, 20, issue_identifier="SYM-1")
    assert text.startswith("Continuation guidance:")
    assert "turn 3 of at most 20" in text and "SYM-1" in text
    assert "do not repeat the task description" in text
