"""The real codex (0.169.0): under the example workflow's posture an agent commits in its workspace.

Codex's ``workspaceWrite`` sandbox keeps every writable root's ``.git`` read-only; Symphony's
default turn policy lists the workspace's ``.git`` as a writable root of its own, which codex
honours (docs/codex.md, "What an agent can write"), but only when that ``.git`` is a real
directory, since codex binds a writable root through a symlink. Everything else stays as codex's
sandbox makes it: read-only outside the workspace and ``/tmp``, ``.codex`` and ``.agents``
read-only, no network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from symphony.agents import AgentError
from symphony.workflow.store import load_workflow_file
from tests.agents.test_codex_real import CODEX_BIN, ISSUE, PROMPT, REPO, Harness, harness
from tests.support.fake_model import Reply
from tests.support.git import git

# The real-codex harness fixture, shared with test_codex_real.
__all__ = ["harness"]

EXAMPLE = REPO / "examples" / "local" / "WORKFLOW.md"

pytestmark = [
    pytest.mark.codex,
    pytest.mark.skipif(not CODEX_BIN.exists(), reason=f"real codex not found at {CODEX_BIN}"),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="codex's Linux sandbox"),
    pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed"),
]

COMMIT = (
    "printf 'hello, world\\n' > hello.txt && git add -A && git commit -q -m 'Add hello.txt'"
    " && git log --format=%s -1"
)


def example_posture() -> dict[str, Any]:
    """The example workflow's codex sandbox settings (its own or the defaults it relies on)."""
    codex = load_workflow_file(EXAMPLE, environ={}).config.codex
    return {
        "approval_policy": codex.approval_policy,
        "thread_sandbox": codex.thread_sandbox,
        "turn_sandbox_policy": codex.turn_sandbox_policy,
        "workspace_git_writable": codex.workspace_git_writable,
    }


def run_after_create(workspace: Path) -> None:
    """The example's own after_create hook: a git repository with one commit."""
    script = load_workflow_file(EXAMPLE, environ={}).config.hooks.after_create
    assert script is not None
    subprocess.run(["bash", "-c", script], cwd=workspace, check=True, timeout=30)


def git_log(workspace: Path) -> list[str]:
    return git(workspace, "log", "--format=%s").splitlines()


def is_not_a_repository(workspace: Path) -> bool:
    result = subprocess.run(
        ["git", "-C", str(workspace), "rev-parse", "--git-dir"],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "GIT_CEILING_DIRECTORIES": str(workspace.parent)},
    )
    return result.returncode != 0


async def run_command(harness: Harness, command: str, **posture: Any) -> str:
    """One turn in which the model runs ``command``; returns what codex told the model."""
    harness.model.script(Reply.exec_command(command), Reply.message("Done."))
    session = await harness.start(**posture)
    try:
        result = await session.run_turn(PROMPT, issue=ISSUE)
    finally:
        await session.stop()
    assert result.status == "completed"
    (output,) = harness.model.requests[1].function_call_outputs().values()
    return output


@pytest.fixture
def outside() -> Iterator[Path]:
    """A directory outside the workspace that codex does not make writable (unlike /tmp)."""
    path = Path(tempfile.mkdtemp(prefix="symphony-outside-", dir="/var/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


async def test_agent_commits_under_the_example_workflow_posture(harness: Harness) -> None:
    posture = example_posture()
    assert posture["turn_sandbox_policy"] is None  # the example relies on the default
    run_after_create(harness.workspace)
    assert git_log(harness.workspace) == ["Start workspace"]

    output = await run_command(harness, COMMIT, **posture)

    assert "exited with code 0" in output, f"the agent could not commit; codex said: {output}"
    assert git_log(harness.workspace) == ["Add hello.txt", "Start workspace"]
    status = subprocess.run(
        ["git", "status", "--porcelain"],
        cwd=harness.workspace,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert status.stdout == ""


async def test_the_default_posture_keeps_everything_else_read_only(
    harness: Harness, outside: Path
) -> None:
    run_after_create(harness.workspace)
    (harness.workspace / ".codex").mkdir()
    (harness.workspace / ".agents").mkdir()
    port = urlsplit(harness.model.base_url).port
    probes = {
        "workspace": "touch planted",
        "git": "touch .git/planted",
        # A listed .git is a mount point: it cannot be swapped for a symlink mid-session.
        "rename": "mv .git moved",
        "outside": f"touch {outside}/planted",
        "codex": "touch .codex/planted",
        "agents": "touch .agents/planted",
        # The fake model's loopback port: reachable from the test, not from the sandbox.
        "network": f"(exec 3<>/dev/tcp/127.0.0.1/{port})",
    }
    command = "; ".join(f"{probe} && echo {name}-done" for name, probe in probes.items())

    output = await run_command(harness, command, **example_posture())

    assert "workspace-done" in output and "git-done" in output, output
    assert "mv: cannot move '.git' to 'moved': Device or resource busy" in output
    for refused in ("rename", "outside", "codex", "agents", "network"):
        assert f"{refused}-done" not in output, output
    assert not (outside / "planted").exists()
    assert f"touch: cannot touch '{outside}/planted': Read-only file system" in output
    assert "touch: cannot touch '.codex/planted': Read-only file system" in output
    assert "touch: cannot touch '.agents/planted': Read-only file system" in output


async def test_without_workspace_git_writable_codex_keeps_git_read_only(harness: Harness) -> None:
    # Pins the codex behaviour the default works around: if a codex release stops protecting
    # .git, this fails and docs/codex.md needs updating.
    run_after_create(harness.workspace)

    output = await run_command(
        harness, COMMIT, **{**example_posture(), "workspace_git_writable": False}
    )

    lock = harness.workspace / ".git" / "index.lock"
    assert f"fatal: Unable to create '{lock}': Read-only file system" in output
    assert git_log(harness.workspace) == ["Start workspace"]
    assert (harness.workspace / "hello.txt").exists()  # the workspace itself is writable


async def test_without_a_repository_at_session_start_the_agent_cannot_make_one(
    harness: Harness, outside: Path
) -> None:
    # Nothing is listed, and codex keeps a missing .git read-only too: no `git init`, and no
    # .git symlink that a later session's writable root could follow.
    output = await run_command(harness, f"git init -q; ln -s {outside} .git", **example_posture())

    assert "Read-only file system" in output, output
    assert "ln: failed to create symbolic link" in output
    assert not (harness.workspace / ".git").is_symlink()
    assert is_not_a_repository(harness.workspace)


async def test_a_git_symlink_in_the_workspace_opens_nothing_outside(
    harness: Harness, outside: Path
) -> None:
    # Codex binds a writable root through a symlink, so listing this .git would open `outside`.
    # Symphony lists .git only when it is a real directory; unlisted, codex refuses to build
    # the sandbox at all (every command fails) rather than leave it writable.
    (harness.workspace / ".git").symlink_to(outside)

    output = await run_command(harness, "touch .git/planted", **example_posture())

    assert "cannot enforce sandbox read-only path" in output, output
    assert "because it crosses writable symlink" in output
    assert list(outside.iterdir()) == []


async def test_a_linked_worktree_keeps_its_git_dir_read_only(
    harness: Harness, outside: Path
) -> None:
    # The workspace's .git is a file naming a git directory outside the workspace, which no
    # writable root covers.
    main = outside / "main"
    main.mkdir()
    harness.workspace.rmdir()
    identity = ["-c", "user.name=A", "-c", "user.email=a@example.invalid"]
    for args in (
        ["init", "-q"],
        [*identity, "commit", "-q", "--allow-empty", "-m", "Start workspace"],
        ["worktree", "add", "-q", str(harness.workspace)],
    ):
        subprocess.run(["git", *args], cwd=main, check=True, timeout=30, capture_output=True)

    output = await run_command(harness, COMMIT, **example_posture())

    git_dir = main / ".git" / "worktrees" / harness.workspace.name
    assert f"fatal: Unable to create '{git_dir}/index.lock': Read-only file system" in output
    assert git_log(harness.workspace) == ["Start workspace"]


async def test_codex_refuses_a_relative_writable_root(harness: Harness) -> None:
    # Why workspace_git_writable exists: a workflow cannot name the per-issue .git itself.
    policy = {"type": "workspaceWrite", "writableRoots": [".git"]}
    session = await harness.start(turn_sandbox_policy=policy, workspace_git_writable=False)
    try:
        with pytest.raises(AgentError, match="AbsolutePathBuf deserialized without a base path"):
            await session.run_turn(PROMPT, issue=ISSUE)
    finally:
        await session.stop()
