from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

from symphony.process import (
    child_environment,
    descendant_sessions,
    kill_sessions,
    spawn_login_shell,
    terminate_group,
    watch_children_with_pidfds,
)
from tests.support.processes import alive
from tests.support.waiting import wait_until


async def test_terminate_group_kills_grandchildren(tmp_path: Path) -> None:
    env = child_environment((), extra={"HOME": str(tmp_path)})
    proc = await spawn_login_shell(
        "sleep 1000 & echo $!; sleep 1000", cwd=tmp_path, env=env, stderr=None
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), timeout=10)
    grandchild = int(line)
    assert alive(grandchild)
    await terminate_group(proc, grace_s=1.0)
    assert proc.returncode is not None
    # Init reaps the orphan shortly after the kill.
    await wait_until(lambda: not alive(grandchild), "the grandchild to be gone", timeout=2.0)


async def test_stripped_secret_cannot_come_back_from_login_profile(tmp_path: Path) -> None:
    (tmp_path / ".bash_profile").write_text("export TRACKER_TOKEN=from-profile\n")
    env = child_environment(
        ["TRACKER_TOKEN"],
        base={"TRACKER_TOKEN": "s3cret", "PATH": os.environ["PATH"], "HOME": str(tmp_path)},
    )
    assert "TRACKER_TOKEN" not in env
    proc = await spawn_login_shell(
        'echo "token=${TRACKER_TOKEN:-unset}"', cwd=tmp_path, env=env, strip=["TRACKER_TOKEN"]
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=10)
    assert out.decode().strip() == "token=unset"


async def test_children_are_awaited_through_pidfds_without_a_thread_each(tmp_path: Path) -> None:
    previous = asyncio.get_child_watcher()
    try:
        assert watch_children_with_pidfds()
        threads = threading.active_count()
        children = [
            await spawn_login_shell(f"exit {n}", cwd=tmp_path, env={"HOME": str(tmp_path)})
            for n in range(5)
        ]
        # The default 3.11 watcher would be waiting in five threads now.
        assert threading.active_count() == threads
        codes = await asyncio.wait_for(asyncio.gather(*(c.wait() for c in children)), 10)
        assert codes == [0, 1, 2, 3, 4]
    finally:
        asyncio.set_child_watcher(previous)


async def test_the_sessions_of_setsid_descendants_are_found_and_killed(tmp_path: Path) -> None:
    """What Claude Code's Bash tool does: a command in a session of its own, out of reach of
    the group; its session is read from /proc while it still descends from the agent."""
    env = child_environment((), extra={"HOME": str(tmp_path)})
    proc = await spawn_login_shell(
        "setsid sleep 1000 & echo $!; sleep 1000", cwd=tmp_path, env=env, stderr=None
    )
    assert proc.stdout is not None
    escaped = int(await asyncio.wait_for(proc.stdout.readline(), timeout=10))
    await wait_until(lambda: os.getsid(escaped) == escaped, "setsid to run", timeout=5.0)
    sessions = descendant_sessions(proc.pid)
    assert sessions == {escaped}
    await terminate_group(proc, grace_s=1.0)
    assert alive(escaped)  # the group's SIGKILL did not reach it
    assert kill_sessions(sessions) == 1
    await wait_until(lambda: not alive(escaped), "the escaped command to be gone", timeout=2.0)
    assert kill_sessions({os.getsid(0)}) == 0  # never this process's own session
