"""Removal and startup terminal cleanup (SPEC §8.6, §9.4, §15.2, §17.2)."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from symphony.issue import Issue
from symphony.workspace import WorkspaceError, WorkspaceManager, workspace_key
from symphony.workspace.fs import make_directories_writable
from tests.workspace.support import make_hooks, make_issue


async def test_remove_runs_before_remove_then_deletes(
    manager: WorkspaceManager, root: Path, issue: Issue, tmp_path: Path
) -> None:
    seen = tmp_path / "seen"
    ws = await manager.prepare(issue, root=root, hooks=make_hooks(), attempt=None)
    (ws.path / "file.txt").write_text("x")
    hooks = make_hooks(before_remove=f'ls > {seen}; echo "$SYMPHONY_HOOK $PWD" >> {seen}')
    assert await manager.remove("MT-1", root=root, hooks=hooks, issue=issue) is True
    assert not ws.path.exists()
    assert seen.read_text().splitlines() == ["file.txt", f"before_remove {ws.path}"]


async def test_remove_of_missing_workspace_returns_false_and_runs_no_hook(
    manager: WorkspaceManager, root: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    hooks = make_hooks(before_remove=f"touch {marker}")
    assert await manager.remove("MT-404", root=root, hooks=hooks) is False
    root.mkdir()
    assert await manager.remove("MT-404", root=root, hooks=hooks) is False
    assert not marker.exists()


@pytest.mark.parametrize(
    "script",
    ["exit 1", "sleep 30", "head -c 100000 /dev/zero | tr '\\0' y; exit 2"],
    ids=["fails", "times-out", "large-output"],
)
async def test_removal_proceeds_when_before_remove_fails(
    manager: WorkspaceManager,
    root: Path,
    issue: Issue,
    script: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ws = await manager.prepare(issue, root=root, hooks=make_hooks(), attempt=None)
    hooks = make_hooks(before_remove=script, timeout_ms=300)
    with caplog.at_level(logging.WARNING, logger="symphony.workspace"):
        assert await manager.remove("MT-1", root=root, hooks=hooks, issue=issue) is True
    assert not ws.path.exists()
    assert "hook=before_remove" in caplog.text


async def test_removal_does_not_follow_a_symlinked_workspace(
    manager: WorkspaceManager, root: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep me")
    root.mkdir()
    (root / "MT-1").symlink_to(outside)
    marker = tmp_path / "hook-ran"
    hooks = make_hooks(before_remove=f"touch {marker}; rm -f precious.txt")
    with pytest.raises(WorkspaceError) as err:
        await manager.remove("MT-1", root=root, hooks=hooks)
    assert err.value.code == "workspace_symlink_escape"
    assert not marker.exists()  # refused before any hook ran
    assert (outside / "precious.txt").read_text() == "keep me"
    assert (root / "MT-1").is_symlink()


async def test_removal_does_not_follow_symlinks_inside_the_workspace(
    manager: WorkspaceManager, root: Path, issue: Issue, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    (outside / "sub").mkdir(parents=True)
    (outside / "precious.txt").write_text("keep me")
    (outside / "sub" / "deep.txt").write_text("keep me too")
    ws = await manager.prepare(issue, root=root, hooks=make_hooks(), attempt=None)
    (ws.path / "nested").mkdir()
    (ws.path / "link-to-dir").symlink_to(outside)
    (ws.path / "nested" / "link-to-sub").symlink_to(outside / "sub")
    (ws.path / "link-to-file").symlink_to(outside / "precious.txt")
    assert await manager.remove("MT-1", root=root, hooks=make_hooks()) is True
    assert not ws.path.exists()
    assert (outside / "precious.txt").read_text() == "keep me"
    assert (outside / "sub" / "deep.txt").read_text() == "keep me too"


async def test_workspace_swapped_for_a_symlink_by_before_remove_is_not_followed(
    manager: WorkspaceManager, root: Path, issue: Issue, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep me")
    ws = await manager.prepare(issue, root=root, hooks=make_hooks(), attempt=None)
    hooks = make_hooks(before_remove=f'cd /; rm -rf "{ws.path}"; ln -s {outside} "{ws.path}"')
    with pytest.raises(WorkspaceError) as err:
        await manager.remove("MT-1", root=root, hooks=hooks)
    assert err.value.code == "workspace_symlink_escape"
    assert (outside / "precious.txt").read_text() == "keep me"


async def test_stale_file_at_workspace_path_is_removed_without_hook(
    manager: WorkspaceManager, root: Path, tmp_path: Path
) -> None:
    root.mkdir()
    (root / "MT-1").write_text("stale")
    marker = tmp_path / "marker"
    assert await manager.remove(
        "MT-1", root=root, hooks=make_hooks(before_remove=f"touch {marker}")
    )
    assert not (root / "MT-1").exists()
    assert not marker.exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
async def test_read_only_directories_inside_the_workspace_are_removed(
    manager: WorkspaceManager, root: Path, issue: Issue
) -> None:
    ws = await manager.prepare(issue, root=root, hooks=make_hooks(), attempt=None)
    locked = ws.path / "pkg" / "mod"
    locked.mkdir(parents=True)
    (locked / "file.go").write_text("package mod")
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    (ws.path / "pkg").chmod(stat.S_IRUSR | stat.S_IXUSR)
    assert await manager.remove("MT-1", root=root, hooks=make_hooks()) is True
    assert not ws.path.exists()


def test_permission_repair_never_chmods_through_a_symlink(tmp_path: Path) -> None:
    top = tmp_path / "ws"
    (top / "ro").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    outside.chmod(0o500)
    (top / "link").symlink_to(outside)
    (top / "ro").chmod(0o500)
    top.chmod(0o500)
    make_directories_writable(top)
    assert stat.S_IMODE(top.stat().st_mode) == 0o700
    assert stat.S_IMODE((top / "ro").stat().st_mode) == 0o700
    assert stat.S_IMODE(outside.stat().st_mode) == 0o500


async def test_sanitize_collisions_are_removed_independently(
    manager: WorkspaceManager, root: Path
) -> None:
    a, b = make_issue("team/a-1"), make_issue("team a-1")
    ws_a = await manager.prepare(a, root=root, hooks=make_hooks(), attempt=None)
    ws_b = await manager.prepare(b, root=root, hooks=make_hooks(), attempt=None)
    assert ws_a.path != ws_b.path
    assert await manager.remove("team/a-1", root=root, hooks=make_hooks())
    assert not ws_a.path.exists()
    assert ws_b.path.is_dir()


async def test_removing_several_is_best_effort(
    manager: WorkspaceManager, root: Path, tmp_path: Path
) -> None:
    """A startup sweep removes one workspace after another: a refused one stops nothing."""
    for ident in ("S-1", "S-2", "S-3"):
        await manager.prepare(make_issue(ident), root=root, hooks=make_hooks(), attempt=None)
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "EVIL-1").symlink_to(outside)
    log = tmp_path / "removed.log"
    hooks = make_hooks(before_remove=f'echo "$SYMPHONY_ISSUE_IDENTIFIER" >> {log}')
    removed: list[str] = []
    refused: dict[str, str] = {}
    for ident in ("S-1", "EVIL-1", "S-404", "S-3", "S-1"):
        try:
            if await manager.remove(ident, root=root, hooks=hooks):
                removed.append(ident)
        except WorkspaceError as exc:
            refused[ident] = exc.code
    assert removed == ["S-1", "S-3"]
    assert refused == {"EVIL-1": "workspace_symlink_escape"}
    assert sorted(p.name for p in root.iterdir()) == ["EVIL-1", "S-2"]
    assert log.read_text().splitlines() == ["S-1", "S-3"]
    assert outside.is_dir()


async def test_remove_path_works_after_the_root_changed(
    manager: WorkspaceManager, root: Path, issue: Issue, tmp_path: Path
) -> None:
    ws = await manager.prepare(issue, root=root, hooks=make_hooks(), attempt=None)
    new_root = tmp_path / "new-root"
    assert await manager.remove_path(ws.path, root=new_root, hooks=make_hooks(), issue=issue)
    assert not ws.path.exists()
    assert root.is_dir()


async def test_remove_path_tells_before_remove_the_identifier_it_is_given(
    manager: WorkspaceManager, root: Path, tmp_path: Path
) -> None:
    # A GitHub identifier's key differs from it; a removal by path without the issue (a
    # terminal issue seen by a poll) still gives the hook the identifier the tracker uses.
    ws = await manager.prepare(make_issue("app#1"), root=root, hooks=make_hooks(), attempt=None)
    assert ws.path.name != "app#1"
    log = tmp_path / "removed.log"
    hooks = make_hooks(before_remove=f'echo "$SYMPHONY_ISSUE_IDENTIFIER" >> {log}')
    assert await manager.remove_path(ws.path, root=root, hooks=hooks, identifier="app#1")
    assert log.read_text().splitlines() == ["app#1"]


async def test_remove_path_refuses_the_root_itself(
    manager: WorkspaceManager, root: Path, tmp_path: Path
) -> None:
    root.mkdir()
    (root / "keep").write_text("x")
    with pytest.raises(WorkspaceError) as err:
        await manager.remove_path(root, root=root, hooks=make_hooks())
    assert err.value.code == "workspace_equals_root"
    with pytest.raises(WorkspaceError) as err:
        await manager.remove_path(tmp_path, root=root, hooks=make_hooks())
    assert err.value.code == "workspace_equals_root"
    assert (root / "keep").exists()


async def test_remove_path_refuses_names_that_are_not_keys(
    manager: WorkspaceManager, root: Path, tmp_path: Path
) -> None:
    odd = tmp_path / "has space"
    odd.mkdir()
    with pytest.raises(WorkspaceError) as err:
        await manager.remove_path(odd, root=root, hooks=make_hooks())
    assert err.value.code == "workspace_outside_root"
    assert odd.is_dir()


async def test_remove_uses_the_hashed_key(manager: WorkspaceManager, root: Path) -> None:
    issue = make_issue("MT/Det")
    ws = await manager.prepare(issue, root=root, hooks=make_hooks(), attempt=None)
    assert ws.key == workspace_key("MT/Det")
    assert await manager.remove("MT/Det", root=root, hooks=make_hooks())
    assert not ws.path.exists()
