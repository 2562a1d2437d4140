"""SSH worker hosts end to end (docs/workers.md): the runtime with real OpenSSH servers.

Two "hosts" (``tests/support/sshd.py``): real ``sshd`` processes on 127.0.0.1, each with its own
``HOME``, reached through ``SYMPHONY_SSH_CONFIG``. Workspaces are created there under
``~/workspaces``, hooks run there, and the agent (the fake app-server; ``tests/agents`` runs the
real codex over SSH) runs there with its stdio as the protocol stream. A host is then killed or
frozen mid-turn, and the issue moves to the other host.
"""

from __future__ import annotations

import asyncio
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from symphony.issue import Issue
from symphony.observability.transcript import AgentLogs
from symphony.orchestrator.runtime import OrchestratorRuntime
from symphony.service import select_backend
from symphony.trackers.resolve import resolve_tracker
from symphony.workflow.store import WorkflowStore
from symphony.workspace import WorkspaceManager
from tests.support.loop_clock import FakeLoopClock
from tests.support.memory_tracker import MemoryAdapter, MemoryBoard
from tests.support.processes import alive
from tests.support.sshd import SshCluster, ssh_cluster, ssh_cluster_session
from tests.support.waiting import wait_until

__all__ = ["ssh_cluster", "ssh_cluster_session"]  # fixtures

FAKE = Path(__file__).with_name("fake_app_server.py")
SECRET_ENV = "MEMORY_TRACKER_KEY"
SECRET = "tracker-secret-never-sent"
# A killed host resets its connections; a frozen one is given up by SSH keep-alive.
DETECT_S = 15.0


# The hook's view of where it runs: its variables, the host's HOME and the real workspace path.
CREATED = 'echo "$SYMPHONY_ISSUE_IDENTIFIER $SYMPHONY_HOOK $HOME $(pwd -P)" > created.txt'


def agent(*args: str, tag: str) -> str:
    # ``tag`` makes this test's agents findable in /proc (``--log`` names a file per test).
    return shlex.join(["exec", sys.executable, "-S", str(FAKE), "--log", tag, *args])


def todo(n: int) -> Issue:
    return Issue(
        id=f"id-{n}", identifier=f"MT-{n}", title="Make it work", state="Todo", dispatchable=True
    )


def workflow(
    write_workflow: Callable[..., Path],
    command: str,
    extra: str = "",
    *,
    after_create: str = CREATED,
    agent_settings: str = "",
) -> WorkflowStore:
    front = f"""
tracker:
  kind: memory
workspace:
  root: ~/workspaces
polling:
  interval_ms: 600000
agent:
  max_retry_backoff_ms: 1000
{agent_settings}worker:
  ssh_hosts: [worker-a, worker-b]
  max_concurrent_agents_per_host: 1
  host_cooldown_ms: 600000
hooks:
  timeout_ms: 20000
  after_create: |
    {after_create}
  after_run: echo ran >> after_run.txt
  before_remove: echo "$SYMPHONY_ISSUE_IDENTIFIER" >> "$HOME/removed.txt"
codex:
  command: {command!r}
  read_timeout_ms: 15000
{extra}
"""
    path = write_workflow(front, "Work on {{ issue.identifier }}")
    return WorkflowStore.open(path, resolver=resolve_tracker)


def runtime_for(
    store: WorkflowStore, board: MemoryBoard, logs: Path, clock: FakeLoopClock
) -> OrchestratorRuntime:
    return OrchestratorRuntime(
        store,
        workspaces=WorkspaceManager(),
        agents=select_backend,
        adapter_factory=lambda _wf: MemoryAdapter(board, frozenset({SECRET_ENV})),
        agent_logs=AgentLogs(logs),
        clock=clock,
    )


def agents_of(tag: str) -> list[int]:
    """Live fake app-servers started with ``--log tag`` (on any host: all are this machine)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if str(FAKE).encode() in argv and tag.encode() in argv and alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def on_hosts(runtime: OrchestratorRuntime) -> dict[str, str | None]:
    return {row.issue_identifier: row.worker_host for row in runtime.snapshot().running}


def with_pids(runtime: OrchestratorRuntime, count: int) -> bool:
    running = runtime.snapshot().running
    return len(running) == count and all(row.pid is not None for row in running)


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    return SECRET


async def test_agents_spread_over_two_hosts_under_the_per_host_cap(
    ssh_cluster: SshCluster,
    board: MemoryBoard,
    write_workflow: Callable[..., Path],
    tmp_path: Path,
    loop_clock: FakeLoopClock,
    secret: str,
) -> None:
    tag = str(tmp_path / "spread.log")
    for n in (1, 2, 3):
        board.put(todo(n))
    # MT-1 has an old workspace on worker-b: terminal cleanup must reach it there too.
    stale = ssh_cluster["worker-b"].home / "workspaces" / "MT-1"
    stale.mkdir(parents=True)
    # --linger: an agent that outlives its closed stdin, so only killing its group on the host
    # ends it.
    command = agent("--rate", "5", "--turn-seconds", "60", "--linger", tag=tag)
    store = workflow(write_workflow, command)
    runtime = runtime_for(store, board, tmp_path / "logs", loop_clock)
    try:
        await runtime.start()
        await wait_until(lambda: with_pids(runtime, 2), timeout=30)
        hosts = on_hosts(runtime)
        # Least loaded first, ties by config order; the cap of one per host holds MT-3 back.
        assert hosts == {"MT-1": "worker-a", "MT-2": "worker-b"}
        snapshot = runtime.snapshot()
        assert [(w.host, w.running, w.capacity, w.status) for w in snapshot.workers] == [
            ("worker-a", 1, 1, "up"),
            ("worker-b", 1, 1, "up"),
        ]
        assert "id-3" not in runtime.state.claimed
        # The hook ran on the host, in the workspace under the host's ~, with its variables.
        home_a = ssh_cluster["worker-a"].home
        created = (home_a / "workspaces" / "MT-1" / "created.txt").read_text().split()
        assert created == ["MT-1", "after_create", str(home_a), str(home_a / "workspaces/MT-1")]
        row = next(r for r in snapshot.running if r.issue_identifier == "MT-1")
        assert row.workspace_path == str(home_a / "workspaces" / "MT-1")
        # The agent runs in the remote workspace, without the tracker's key.
        pids = agents_of(tag)
        assert len(pids) == 2
        for pid in pids:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
            assert secret.encode() not in environ
            assert f"{SECRET_ENV}=".encode() not in environ
        cwds = {str(Path(f"/proc/{pid}/cwd").resolve()) for pid in pids}
        assert cwds == {
            str(home_a / "workspaces" / "MT-1"),
            str(ssh_cluster["worker-b"].home / "workspaces" / "MT-2"),
        }

        board.move("id-1", "Done")
        runtime.request_refresh()
        await wait_until(lambda: not (home_a / "workspaces" / "MT-1").exists(), timeout=30)
        await wait_until(lambda: not stale.exists(), timeout=30)
        # MT-1's slot on worker-a went to MT-3.
        await wait_until(lambda: on_hosts(runtime).get("MT-3") == "worker-a", timeout=30)
        assert (home_a / "removed.txt").read_text() == "MT-1\n"
        assert (ssh_cluster["worker-b"].home / "removed.txt").read_text() == "MT-1\n"
        assert (home_a / "workspaces" / "MT-3" / "created.txt").exists()
    finally:
        await asyncio.wait_for(runtime.stop(), timeout=30)
    # Stopping killed the agents on the hosts, not only the local ssh clients.
    await wait_until(lambda: not agents_of(tag), timeout=10)
    assert (ssh_cluster["worker-b"].home / "workspaces" / "MT-2" / "after_run.txt").exists()


@pytest.mark.parametrize("failure", ["killed", "frozen"])
async def test_a_failed_host_is_marked_down_and_the_issue_moves(
    ssh_cluster: SshCluster,
    board: MemoryBoard,
    write_workflow: Callable[..., Path],
    tmp_path: Path,
    loop_clock: FakeLoopClock,
    failure: str,
) -> None:
    tag = str(tmp_path / f"{failure}.log")
    board.put(todo(1))
    store = workflow(write_workflow, agent("--rate", "5", "--turn-seconds", "120", tag=tag))
    runtime = runtime_for(store, board, tmp_path / "logs", loop_clock)
    host_a = ssh_cluster["worker-a"]
    try:
        await runtime.start()
        await wait_until(lambda: with_pids(runtime, 1), timeout=30)
        assert on_hosts(runtime) == {"MT-1": "worker-a"}
        if failure == "killed":
            host_a.kill()
        else:
            host_a.freeze()
        started = time.monotonic()

        def down() -> bool:
            return any(w.status == "down" for w in runtime.snapshot().workers)

        await wait_until(down, timeout=DETECT_S + 5)
        elapsed = time.monotonic() - started
        assert elapsed < (2.0 if failure == "killed" else DETECT_S), elapsed
        snapshot = runtime.snapshot()
        worker_a = snapshot.workers[0]
        assert worker_a.host == "worker-a" and worker_a.status == "down"
        assert worker_a.error is not None and "worker-a" in worker_a.error
        assert worker_a.down_until is not None
        (retry,) = snapshot.retrying
        assert retry.worker_host == "worker-a"
        detail = runtime.issue_detail("MT-1")
        assert detail is not None and detail.history[-1].worker_host == "worker-a"
        assert (
            detail.history[-1].error is not None and "host_unreachable" in detail.history[-1].error
        )
        # The failure backoff passes: the retry goes to worker-b, which is up.
        loop_clock.advance(1.0)
        await wait_until(
            lambda: with_pids(runtime, 1) and on_hosts(runtime) == {"MT-1": "worker-b"},
            timeout=30,
        )
        home_b = ssh_cluster["worker-b"].home
        assert (home_b / "workspaces" / "MT-1" / "created.txt").exists()
    finally:
        host_a.resume()
        await asyncio.wait_for(runtime.stop(), timeout=30)


async def test_a_host_that_refuses_the_connection_is_skipped_from_the_first_run(
    ssh_cluster: SshCluster,
    board: MemoryBoard,
    write_workflow: Callable[..., Path],
    tmp_path: Path,
    loop_clock: FakeLoopClock,
) -> None:
    ssh_cluster["worker-a"].kill()  # down before Symphony ever talked to it
    board.put(todo(1))
    command = agent("--rate", "5", "--turn-seconds", "60", tag=str(tmp_path / "refused.log"))
    store = workflow(write_workflow, command)
    runtime = runtime_for(store, board, tmp_path / "logs", loop_clock)
    try:
        await runtime.start()

        def retrying() -> bool:
            return bool(runtime.snapshot().retrying)

        await wait_until(retrying, timeout=30)
        snapshot = runtime.snapshot()
        assert [(w.host, w.status) for w in snapshot.workers] == [
            ("worker-a", "down"),
            ("worker-b", "up"),
        ]
        (retry,) = snapshot.retrying
        assert retry.error is not None and "host_unreachable" in retry.error
        assert "worker-a" in retry.error
        loop_clock.advance(1.0)
        await wait_until(
            lambda: with_pids(runtime, 1) and on_hosts(runtime) == {"MT-1": "worker-b"},
            timeout=30,
        )
        assert not (ssh_cluster["worker-a"].home / "workspaces").exists()
    finally:
        await asyncio.wait_for(runtime.stop(), timeout=30)


async def test_a_failed_after_create_leaves_no_half_made_workspace_on_the_host(
    ssh_cluster: SshCluster,
    board: MemoryBoard,
    write_workflow: Callable[..., Path],
    tmp_path: Path,
    loop_clock: FakeLoopClock,
) -> None:
    board.put(todo(1))
    command = agent("--rate", "5", "--turn-seconds", "60", tag=str(tmp_path / "after.log"))
    store = workflow(write_workflow, command, after_create="echo broken clone; exit 7")
    runtime = runtime_for(store, board, tmp_path / "logs", loop_clock)
    try:
        await runtime.start()
        await wait_until(lambda: bool(runtime.snapshot().retrying), timeout=30)
        (retry,) = runtime.snapshot().retrying
        assert retry.error is not None
        assert "after_create" in retry.error and "exited with status 7" in retry.error
        assert "broken clone" in retry.error and "worker-a" in retry.error
        assert retry.worker_host == "worker-a"
        # Not a host failure: the host stays up, and the directory is gone for the next try.
        assert [w.status for w in runtime.snapshot().workers] == ["up", "up"]
        assert not (ssh_cluster["worker-a"].home / "workspaces" / "MT-1").exists()
    finally:
        await asyncio.wait_for(runtime.stop(), timeout=30)


async def test_turns_that_change_nothing_on_the_host_end_in_a_hold(
    ssh_cluster: SshCluster,
    board: MemoryBoard,
    write_workflow: Callable[..., Path],
    tmp_path: Path,
    loop_clock: FakeLoopClock,
) -> None:
    board.put(todo(1))
    command = agent("--rate", "5", "--turn-seconds", "0.1", tag=str(tmp_path / "idle.log"))
    settings = "  max_turns: 5\n  max_unproductive_turns: 2\n  comment_on_hold: false\n"
    store = workflow(write_workflow, command, agent_settings=settings)
    runtime = runtime_for(store, board, tmp_path / "logs", loop_clock)
    try:
        await runtime.start()
        # The workspace on worker-a is read before and after each turn; two turns that changed
        # nothing there hold the issue.
        await wait_until(lambda: bool(runtime.snapshot().held), timeout=30)
        (held,) = runtime.snapshot().held
        assert held.issue_identifier == "MT-1" and held.reason == "no_progress"
    finally:
        await asyncio.wait_for(runtime.stop(), timeout=30)
