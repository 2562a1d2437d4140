"""Hook execution: environment, secrets, process groups, output limits (SPEC §9.4, §15.4)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from pathlib import Path

import pytest

from symphony.issue import Issue
from symphony.workspace import WorkspaceError, WorkspaceManager
from symphony.workspace.hooks import OUTPUT_TAIL_BYTES, run_hook
from tests.support.processes import alive
from tests.support.waiting import wait_until
from tests.workspace.support import (
    SECRET_NAME,
    SECRET_VALUE,
    make_hooks,
    make_issue,
)


def read_env(path: Path) -> dict[str, str]:
    pairs = (entry.split("=", 1) for entry in path.read_bytes().decode().split("\0") if entry)
    return {name: value for name, value in pairs}


async def test_hooks_get_the_documented_environment(manager: WorkspaceManager, root: Path) -> None:
    issue = make_issue("MT-7", title="Fix it", state="Todo", url="https://t.invalid/MT-7")
    hooks = make_hooks(
        after_create="env -0 > after_create.env",
        before_run="env -0 > before_run.env; pwd -P > before_run.pwd",
    )
    ws = await manager.prepare(issue, root=root, hooks=hooks, attempt=None)
    await manager.before_run(ws, issue, hooks=hooks, attempt=2)
    created = read_env(ws.path / "after_create.env")
    expected = {
        "SYMPHONY_HOOK": "after_create",
        "SYMPHONY_ISSUE_ID": "id-MT-7",
        "SYMPHONY_ISSUE_IDENTIFIER": "MT-7",
        "SYMPHONY_ISSUE_TITLE": "Fix it",
        "SYMPHONY_ISSUE_STATE": "Todo",
        "SYMPHONY_ISSUE_URL": "https://t.invalid/MT-7",
        "SYMPHONY_WORKSPACE": str(ws.path),
        "SYMPHONY_WORKSPACE_ROOT": str(root.resolve()),
        "SYMPHONY_ATTEMPT": "",
    }
    assert {k: created.get(k) for k in expected} == expected
    before = read_env(ws.path / "before_run.env")
    assert before["SYMPHONY_HOOK"] == "before_run"
    assert before["SYMPHONY_ATTEMPT"] == "2"
    assert (ws.path / "before_run.pwd").read_text().strip() == str(ws.path)


async def test_nul_bytes_in_issue_fields_do_not_break_hooks(
    manager: WorkspaceManager, root: Path
) -> None:
    issue = make_issue("MT-8", title="a\0b")
    hooks = make_hooks(after_create='printf %s "$SYMPHONY_ISSUE_TITLE" > title.txt')
    ws = await manager.prepare(issue, root=root, hooks=hooks, attempt=None)
    assert (ws.path / "title.txt").read_text() == "ab"


async def test_tracker_secret_is_stripped_even_if_the_login_profile_exports_it(
    manager: WorkspaceManager, root: Path, issue: Issue, home: Path
) -> None:
    (home / ".bash_profile").write_text(f"export {SECRET_NAME}=from-profile\n")
    hooks = make_hooks(after_create=f'echo "token=${{{SECRET_NAME}:-unset}}" > token.txt')
    ws = await manager.prepare(issue, root=root, hooks=hooks, attempt=None)
    assert (ws.path / "token.txt").read_text().strip() == "token=unset"


async def test_strip_env_can_be_overridden_per_call(
    manager: WorkspaceManager, root: Path, issue: Issue
) -> None:
    ws = await manager.prepare(issue, root=root, hooks=make_hooks(), attempt=None)
    hooks = make_hooks(before_run=f'echo "${{{SECRET_NAME}:-unset}}" > token.txt')
    await manager.before_run(ws, issue, hooks=hooks, attempt=None, strip_env=frozenset())
    assert (ws.path / "token.txt").read_text().strip() == SECRET_VALUE
    await manager.before_run(
        ws, issue, hooks=hooks, attempt=None, strip_env=frozenset({SECRET_NAME})
    )
    assert (ws.path / "token.txt").read_text().strip() == "unset"


async def test_timed_out_hook_leaves_no_grandchildren(
    manager: WorkspaceManager, root: Path, issue: Issue, tmp_path: Path
) -> None:
    pids = tmp_path / "pids"
    script = f"sleep 1000 & echo $! >> {pids}\n(sleep 1000 & echo $! >> {pids}; wait) &\nwait"
    ws = await manager.prepare(issue, root=root, hooks=make_hooks(), attempt=None)
    hooks = make_hooks(before_run=script, timeout_ms=1500)
    with pytest.raises(WorkspaceError) as err:
        await manager.before_run(ws, issue, hooks=hooks, attempt=None)
    assert err.value.code == "workspace_hook_timeout"
    started = [int(p) for p in pids.read_text().split()]
    assert len(started) == 2
    await wait_until(lambda: not any(alive(pid) for pid in started), timeout=10)


async def test_finished_hook_does_not_wait_for_a_background_child_holding_its_output(
    home: Path, tmp_path: Path
) -> None:
    pid_file = tmp_path / "pid"
    started = time.monotonic()
    result = await run_hook(
        "before_run",
        f"sleep 1000 & echo $! > {pid_file}; echo done",
        cwd=tmp_path,
        timeout_ms=30_000,
        env_extra={},
        base_env={"PATH": os.environ["PATH"], "HOME": str(home)},
    )
    assert result.ok
    assert result.output == "done\n"
    assert time.monotonic() - started < 10
    # What the hook left running in its group is gone with it.
    child = int(pid_file.read_text())
    await wait_until(lambda: not alive(child), timeout=10)


async def test_detached_child_holding_the_pipe_delays_a_hook_only_briefly(
    home: Path, tmp_path: Path
) -> None:
    pid_file = tmp_path / "pid"
    started = time.monotonic()
    try:
        result = await run_hook(
            "after_run",
            f"setsid sleep 1000 & echo $! > {pid_file}; echo done",
            cwd=tmp_path,
            timeout_ms=30_000,
            env_extra={},
            base_env={"PATH": os.environ["PATH"], "HOME": str(home)},
        )
        assert result.ok
        assert "done" in result.output
        assert time.monotonic() - started < 10
    finally:
        if pid_file.exists():
            os.kill(int(pid_file.read_text()), signal.SIGKILL)


async def test_cancelled_hook_is_killed_with_its_group(
    manager: WorkspaceManager, root: Path, issue: Issue, tmp_path: Path
) -> None:
    pid_file = tmp_path / "pid"
    hooks = make_hooks(after_create=f"sleep 1000 & echo $! > {pid_file}; wait")
    task = asyncio.create_task(manager.prepare(issue, root=root, hooks=hooks, attempt=None))
    await wait_until(lambda: pid_file.exists() and pid_file.read_text().strip() != "", timeout=10)
    child = int(pid_file.read_text())
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await wait_until(lambda: not alive(child), timeout=10)
    # The half-prepared workspace is gone, so the next attempt runs after_create again.
    assert not (root / "MT-1").exists()
    again = await manager.prepare(issue, root=root, hooks=make_hooks(), attempt=1)
    assert again.created_now is True


async def test_a_hook_cancelled_before_its_output_is_connected_is_killed_too(
    manager: WorkspaceManager,
    root: Path,
    issue: Issue,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Under load the cancellation can land while the output pipe is still being connected: the
    # group already runs the script then, and must die with the cancellation all the same.
    loop = asyncio.get_running_loop()
    connecting = asyncio.Event()

    async def never_connects(*_args: object, **_kwargs: object) -> None:
        connecting.set()
        await asyncio.Event().wait()

    monkeypatch.setattr(loop, "connect_read_pipe", never_connects)
    pid_file = tmp_path / "pid"
    hooks = make_hooks(after_create=f"sleep 1000 & echo $! > {pid_file}; wait")
    task = asyncio.create_task(manager.prepare(issue, root=root, hooks=hooks, attempt=None))
    # The script may write its pid before the parent reaches the pipe: wait for both.
    await wait_until(
        lambda: connecting.is_set() and pid_file.exists() and pid_file.read_text().strip() != "",
        timeout=10,
    )
    child = int(pid_file.read_text())
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await wait_until(lambda: not alive(child), timeout=10)


async def test_large_output_is_truncated_to_its_tail_in_logs(
    manager: WorkspaceManager, root: Path, issue: Issue, caplog: pytest.LogCaptureFixture
) -> None:
    ws = await manager.prepare(issue, root=root, hooks=make_hooks(), attempt=None)
    script = "head -c 200000 /dev/zero | tr '\\0' x; echo; echo THE-END; exit 4"
    with caplog.at_level(logging.WARNING, logger="symphony.workspace"):
        await manager.after_run(ws, issue, hooks=make_hooks(after_run=script), attempt=None)
    [record] = [r for r in caplog.records if r.getMessage().startswith("workspace hook failed")]
    text = record.getMessage()
    assert "THE-END" in text
    assert "earlier bytes omitted" in text
    assert "output_bytes=200009" in text
    assert len(text) < OUTPUT_TAIL_BYTES + 1000


async def test_hook_that_cannot_start_is_reported(home: Path, tmp_path: Path) -> None:
    result = await run_hook(
        "before_run",
        "true",
        cwd=tmp_path / "missing",
        timeout_ms=1000,
        env_extra={},
        base_env={"PATH": os.environ["PATH"], "HOME": str(home)},
    )
    assert not result.ok
    assert result.spawn_error is not None
    assert "could not start" in result.describe()


async def test_multiline_hook_runs_every_line(
    manager: WorkspaceManager, root: Path, issue: Issue
) -> None:
    hooks = make_hooks(after_create="set -e\necho one > a.txt\necho two >> a.txt\n")
    ws = await manager.prepare(issue, root=root, hooks=hooks, attempt=None)
    assert (ws.path / "a.txt").read_text() == "one\ntwo\n"


async def test_hook_killed_by_a_signal_is_described(home: Path, tmp_path: Path) -> None:
    result = await run_hook(
        "before_run",
        "kill -KILL $$",
        cwd=tmp_path,
        timeout_ms=5000,
        env_extra={},
        base_env={"PATH": os.environ["PATH"], "HOME": str(home)},
    )
    assert not result.ok
    assert result.describe() == "killed by SIGKILL"
