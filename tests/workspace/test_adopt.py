"""A chosen best-of candidate's workspace becomes the issue's (docs/best-of.md)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from symphony.workspace import WorkspaceManager
from symphony.workspace.base import read_base
from symphony.workspace.errors import WorkspaceError
from tests.workspace.support import make_hooks, make_issue

CLONE = (
    "git init -q -b main . && echo hi > a.txt && git add a.txt && "
    "git -c user.name=t -c user.email=t@example.com commit -q -m base"
)


async def test_the_candidates_workspace_and_base_move_to_the_issues_key(
    manager: WorkspaceManager, root: Path
) -> None:
    hooks = make_hooks(after_create=CLONE)
    ws = await manager.prepare(make_issue("MT-1.b"), root=root, hooks=hooks, attempt=None)
    (ws.path / "b.txt").write_text("b's work")
    adopted = await manager.adopt("MT-1.b", "MT-1", root=root, hooks=hooks)
    assert adopted == root.resolve() / "MT-1"
    assert (adopted / "b.txt").read_text() == "b's work"
    assert not (root / "MT-1.b").exists()
    assert read_base(root.resolve(), "MT-1") == ws.base_commit
    assert read_base(root.resolve(), "MT-1.b") is None
    # The next run of the issue finds it, with its base, and creates nothing.
    again = await manager.prepare(make_issue("MT-1"), root=root, hooks=hooks, attempt=None)
    assert not again.created_now and again.base_commit == ws.base_commit


async def test_an_existing_target_is_refused(manager: WorkspaceManager, root: Path) -> None:
    hooks = make_hooks()
    await manager.prepare(make_issue("MT-1.a"), root=root, hooks=hooks, attempt=None)
    await manager.prepare(make_issue("MT-1"), root=root, hooks=hooks, attempt=None)
    with pytest.raises(WorkspaceError, match="exists; remove it first"):
        await manager.adopt("MT-1.a", "MT-1", root=root, hooks=hooks)
    assert (root / "MT-1.a").is_dir()


async def test_a_git_worktree_keeps_working_after_the_move(
    manager: WorkspaceManager, root: Path, tmp_path: Path
) -> None:
    origin = tmp_path / "origin"
    origin.mkdir()
    subprocess.run(["bash", "-c", CLONE], cwd=origin, check=True)
    worktree = f'git -C {origin} worktree add -q --detach "$PWD"'
    hooks = make_hooks(after_create=f'rmdir "$PWD" 2>/dev/null; {worktree}')
    await manager.prepare(make_issue("MT-1.a"), root=root, hooks=hooks, attempt=None)
    adopted = await manager.adopt("MT-1.a", "MT-1", root=root, hooks=hooks)
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=adopted, capture_output=True, text=True, timeout=30
    )
    assert status.returncode == 0, status.stderr
    listed = subprocess.run(
        ["git", "worktree", "list"], cwd=origin, capture_output=True, text=True, timeout=30
    ).stdout
    assert str(adopted) in listed
