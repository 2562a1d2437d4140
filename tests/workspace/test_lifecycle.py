"""Create / reuse / after_create / before_run / after_run (SPEC §9.1-9.4, §17.2)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from symphony.issue import Issue
from symphony.logs import issue_context
from symphony.workspace import WorkspaceError, WorkspaceManager, workspace_key
from tests.workspace.support import make_hooks, make_issue


async def test_missing_workspace_is_created(
    manager: WorkspaceManager, root: Path, issue: Issue
) -> None:
    ws = await manager.prepare(issue, root=root, hooks=make_hooks(), attempt=None)
    assert ws.created_now is True
    assert ws.key == "MT-1"
    assert ws.path == root.resolve() / "MT-1"
    assert ws.path.is_dir() and not ws.path.is_symlink()
    assert list(ws.path.iterdir()) == []  # no hook: an empty directory


async def test_existing_workspace_is_reused_with_its_files(
    manager: WorkspaceManager, root: Path, issue: Issue
) -> None:
    first = await manager.prepare(issue, root=root, hooks=make_hooks(), attempt=None)
    (first.path / "work.txt").write_text("progress")
    second = await manager.prepare(issue, root=root, hooks=make_hooks(), attempt=1)
    assert second.created_now is False
    assert second.path == first.path
    assert (second.path / "work.txt").read_text() == "progress"


async def test_stale_file_at_workspace_path_is_replaced(
    manager: WorkspaceManager, root: Path, issue: Issue, caplog: pytest.LogCaptureFixture
) -> None:
    root.mkdir()
    (root / "MT-1").write_text("stale")
    hooks = make_hooks(after_create="touch created-by-hook")
    with caplog.at_level(logging.WARNING, logger="symphony.workspace"):
        ws = await manager.prepare(issue, root=root, hooks=hooks, attempt=None)
    assert ws.created_now is True
    assert ws.path.is_dir()
    assert (ws.path / "created-by-hook").exists()
    assert 'found="regular file"' in caplog.text


async def test_symlink_to_outside_at_workspace_path_is_refused_and_untouched(
    manager: WorkspaceManager, root: Path, issue: Issue, tmp_path: Path
) -> None:
    root.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    (root / "MT-1").symlink_to(outside)
    hooks = make_hooks(after_create="rm -f keep.txt")
    with pytest.raises(WorkspaceError) as err:
        await manager.prepare(issue, root=root, hooks=hooks, attempt=None)
    assert err.value.code == "workspace_symlink_escape"
    assert (root / "MT-1").is_symlink()
    assert (outside / "keep.txt").read_text() == "keep"


async def test_dangling_symlink_at_workspace_path_is_refused(
    manager: WorkspaceManager, root: Path, issue: Issue, tmp_path: Path
) -> None:
    root.mkdir()
    target = tmp_path / "not-yet"
    (root / "MT-1").symlink_to(target)
    with pytest.raises(WorkspaceError) as err:
        await manager.prepare(issue, root=root, hooks=make_hooks(), attempt=None)
    assert err.value.code == "workspace_symlink_escape"
    assert not target.exists()


async def test_root_that_is_a_file_gives_a_clear_error(
    manager: WorkspaceManager, tmp_path: Path, issue: Issue
) -> None:
    root = tmp_path / "root-file"
    root.write_text("")
    with pytest.raises(WorkspaceError) as err:
        await manager.prepare(issue, root=root, hooks=make_hooks(), attempt=None)
    assert err.value.code == "workspace_not_directory"
    assert str(root) in err.value.message


async def test_sanitized_identifier_lands_in_its_hashed_directory(
    manager: WorkspaceManager, root: Path
) -> None:
    issue = make_issue("../../escape")
    ws = await manager.prepare(issue, root=root, hooks=make_hooks(), attempt=None)
    assert ws.path.parent == root.resolve()
    assert ws.path.name == workspace_key("../../escape")


async def test_after_create_runs_only_when_created(
    manager: WorkspaceManager, root: Path, issue: Issue, tmp_path: Path
) -> None:
    log = tmp_path / "after_create.log"
    hooks = make_hooks(after_create=f'echo "$SYMPHONY_HOOK" >> {log}\necho second-line >> {log}')
    await manager.prepare(issue, root=root, hooks=hooks, attempt=None)
    await manager.prepare(issue, root=root, hooks=hooks, attempt=1)
    await manager.prepare(issue, root=root, hooks=hooks, attempt=2)
    assert log.read_text().splitlines() == ["after_create", "second-line"]


async def test_after_create_can_populate_the_workspace(
    manager: WorkspaceManager, root: Path, issue: Issue, tmp_path: Path
) -> None:
    template = tmp_path / "template"
    template.mkdir()
    (template / "README").write_text("hello")
    hooks = make_hooks(after_create=f"cp -R {template}/. .")
    ws = await manager.prepare(issue, root=root, hooks=hooks, attempt=None)
    assert (ws.path / "README").read_text() == "hello"


async def test_after_create_failure_is_fatal_and_removes_the_new_directory(
    manager: WorkspaceManager, root: Path, issue: Issue, tmp_path: Path
) -> None:
    log = tmp_path / "attempts.log"
    hooks = make_hooks(after_create=f"echo try >> {log}; echo boom >&2; exit 17")
    for _ in range(2):
        with pytest.raises(WorkspaceError) as err:
            await manager.prepare(issue, root=root, hooks=hooks, attempt=None)
        assert err.value.code == "workspace_hook_failed"
        assert err.value.hook == "after_create"
        assert "status 17" in err.value.message
        assert "boom" in err.value.message
        assert not (root / "MT-1").exists()
    # The hook ran again on the second attempt because the partial directory was removed.
    assert log.read_text().splitlines() == ["try", "try"]


async def test_after_create_timeout_is_fatal(
    manager: WorkspaceManager, root: Path, issue: Issue
) -> None:
    hooks = make_hooks(after_create="sleep 30", timeout_ms=200)
    with pytest.raises(WorkspaceError) as err:
        await manager.prepare(issue, root=root, hooks=hooks, attempt=None)
    assert err.value.code == "workspace_hook_timeout"
    assert "200 ms" in err.value.message
    assert not (root / "MT-1").exists()


async def test_before_run_runs_before_each_attempt(
    manager: WorkspaceManager, root: Path, issue: Issue
) -> None:
    hooks = make_hooks(before_run='echo "run ${SYMPHONY_ATTEMPT:-first}" >> runs.log')
    ws = await manager.prepare(issue, root=root, hooks=hooks, attempt=None)
    await manager.before_run(ws, issue, hooks=hooks, attempt=None)
    await manager.before_run(ws, issue, hooks=hooks, attempt=2)
    assert (ws.path / "runs.log").read_text().splitlines() == ["run first", "run 2"]


async def test_before_run_failure_aborts_the_attempt(
    manager: WorkspaceManager, root: Path, issue: Issue
) -> None:
    ws = await manager.prepare(issue, root=root, hooks=make_hooks(), attempt=None)
    hooks = make_hooks(before_run="git-sync-that-fails 2>/dev/null; exit 3")
    with pytest.raises(WorkspaceError) as err:
        await manager.before_run(ws, issue, hooks=hooks, attempt=None)
    assert err.value.code == "workspace_hook_failed"
    assert err.value.hook == "before_run"
    assert "MT-1" in err.value.message
    assert ws.path.is_dir()  # a reused workspace is never reset on failure


async def test_before_run_timeout_aborts_the_attempt(
    manager: WorkspaceManager, root: Path, issue: Issue
) -> None:
    ws = await manager.prepare(issue, root=root, hooks=make_hooks(), attempt=None)
    hooks = make_hooks(before_run="sleep 30", timeout_ms=200)
    with pytest.raises(WorkspaceError) as err:
        await manager.before_run(ws, issue, hooks=hooks, attempt=None)
    assert err.value.code == "workspace_hook_timeout"


async def test_before_run_in_a_vanished_workspace_fails_clearly(
    manager: WorkspaceManager, root: Path, issue: Issue
) -> None:
    ws = await manager.prepare(issue, root=root, hooks=make_hooks(), attempt=None)
    ws.path.rmdir()
    with pytest.raises(WorkspaceError) as err:
        await manager.before_run(ws, issue, hooks=make_hooks(before_run="true"), attempt=None)
    assert err.value.code == "workspace_not_directory"


async def test_after_run_runs_and_its_failure_is_logged_and_ignored(
    manager: WorkspaceManager, root: Path, issue: Issue, caplog: pytest.LogCaptureFixture
) -> None:
    ws = await manager.prepare(issue, root=root, hooks=make_hooks(), attempt=None)
    hooks = make_hooks(after_run="echo ran > after.txt; echo after-run-broke; exit 9")
    # The worker's log context (as in an attempt) gives the hook's lines the issue fields.
    with (
        caplog.at_level(logging.INFO, logger="symphony.workspace"),
        issue_context(issue.id, issue.identifier),
    ):
        await manager.after_run(ws, issue, hooks=hooks, attempt=None)
    assert (ws.path / "after.txt").read_text() == "ran\n"
    failed = [r for r in caplog.records if r.getMessage().startswith("workspace hook failed")]
    assert len(failed) == 1
    text = failed[0].getMessage()
    assert "hook=after_run" in text and "issue_identifier=MT-1" in text
    assert "issue_id=id-MT-1" in text and "after-run-broke" in text


async def test_after_run_timeout_is_logged_and_ignored(
    manager: WorkspaceManager, root: Path, issue: Issue, caplog: pytest.LogCaptureFixture
) -> None:
    ws = await manager.prepare(issue, root=root, hooks=make_hooks(), attempt=None)
    hooks = make_hooks(after_run="sleep 30", timeout_ms=200)
    with caplog.at_level(logging.WARNING, logger="symphony.workspace"):
        await manager.after_run(ws, issue, hooks=hooks, attempt=3)
    assert "workspace hook timed out" in caplog.text
    assert "timeout_ms=200" in caplog.text


async def test_after_run_is_skipped_when_the_workspace_is_gone(
    manager: WorkspaceManager, root: Path, issue: Issue, tmp_path: Path
) -> None:
    ws = await manager.prepare(issue, root=root, hooks=make_hooks(), attempt=None)
    ws.path.rmdir()
    marker = tmp_path / "marker"
    await manager.after_run(ws, issue, hooks=make_hooks(after_run=f"touch {marker}"), attempt=None)
    assert not marker.exists()
