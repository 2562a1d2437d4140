"""The base commit of a new workspace: recorded beside it, read back on reuse, gone with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from symphony.issue import Issue
from symphony.workspace import WorkspaceManager
from symphony.workspace.base import (
    BASES_DIR,
    base_record_path,
    read_base,
    remove_base,
    write_base,
)
from symphony.workspace.keys import is_workspace_key_shaped
from tests.workspace.support import make_hooks, make_issue

# A clone made by after_create, as a workflow would: one commit, identity set for the commit.
CLONE = (
    "git init -q -b main . && echo hi > a.txt && git add a.txt && "
    "git -c user.name=t -c user.email=t@example.com commit -q -m base && "
    "git rev-parse HEAD > ../head-at-create"
)


def test_the_bases_directory_can_never_be_a_workspace_key() -> None:
    assert not is_workspace_key_shaped(BASES_DIR)


def test_write_read_remove(tmp_path: Path) -> None:
    sha = "a" * 40
    assert read_base(tmp_path, "MT-1") is None
    write_base(tmp_path, "MT-1", sha)
    assert read_base(tmp_path, "MT-1") == sha
    assert base_record_path(tmp_path, "MT-1").read_text() == sha + "\n"
    remove_base(tmp_path, "MT-1")
    remove_base(tmp_path, "MT-1")
    assert read_base(tmp_path, "MT-1") is None
    with pytest.raises(ValueError):
        write_base(tmp_path, "MT-1", "not-a-sha")


def test_garbage_in_a_record_reads_as_no_base(tmp_path: Path) -> None:
    record = base_record_path(tmp_path, "MT-1")
    record.parent.mkdir()
    record.write_text("$(rm -rf /)\n")
    assert read_base(tmp_path, "MT-1") is None


async def test_base_is_recorded_after_create_and_read_on_reuse(
    manager: WorkspaceManager, root: Path, issue: Issue
) -> None:
    hooks = make_hooks(after_create=CLONE)
    ws = await manager.prepare(issue, root=root, hooks=hooks, attempt=None)
    expected = (root / "head-at-create").read_text().strip()
    assert ws.base_commit == expected
    # Outside the workspace, so the agent cannot rewrite it.
    record = base_record_path(root.resolve(), ws.key)
    assert ws.path not in record.parents
    assert record.read_text().strip() == expected

    again = await manager.prepare(issue, root=root, hooks=hooks, attempt=1)
    assert not again.created_now
    assert again.base_commit == expected


async def test_no_git_means_no_base(manager: WorkspaceManager, root: Path, issue: Issue) -> None:
    ws = await manager.prepare(issue, root=root, hooks=make_hooks(), attempt=None)
    assert ws.base_commit is None
    hooks = make_hooks(after_create="git init -q .")  # a repository without a commit
    other = await manager.prepare(
        make_issue("MT-2"),
        root=root,
        hooks=hooks,
        attempt=None,
    )
    assert other.base_commit is None
    assert not base_record_path(root.resolve(), other.key).exists()


async def test_a_stale_record_is_dropped_when_the_workspace_is_made_anew(
    manager: WorkspaceManager, root: Path, issue: Issue
) -> None:
    root.mkdir()
    write_base(root, "MT-1", "b" * 40)
    ws = await manager.prepare(issue, root=root, hooks=make_hooks(), attempt=None)
    assert ws.created_now and ws.base_commit is None
    assert read_base(root, "MT-1") is None


async def test_removing_the_workspace_removes_the_record(
    manager: WorkspaceManager, root: Path, issue: Issue
) -> None:
    hooks = make_hooks(after_create=CLONE)
    ws = await manager.prepare(issue, root=root, hooks=hooks, attempt=None)
    assert ws.base_commit is not None
    assert await manager.remove(issue.identifier, root=root, hooks=hooks)
    assert read_base(root.resolve(), ws.key) is None
    assert list((root.resolve() / BASES_DIR).iterdir()) == []
