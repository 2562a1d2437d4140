"""The proof of work of a run on an SSH worker host, read on the host (docs/workers.md): the
workspace's base recorded there, the diff read there, over real OpenSSH servers
(``tests/support/sshd.py``)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from symphony.orchestrator import handoff
from symphony.ssh import parse_target
from symphony.workspace.proof import GitProof
from symphony.workspace.remote import RemoteWorkspaces
from tests.orchestrator.test_ssh_workers import CREATED, agent, runtime_for, todo, workflow
from tests.support.loop_clock import FakeLoopClock
from tests.support.memory_tracker import MemoryBoard
from tests.support.sshd import SshCluster, ssh_cluster, ssh_cluster_session
from tests.support.waiting import wait_until
from tests.workspace.support import make_hooks, make_issue

__all__ = ["ssh_cluster", "ssh_cluster_session"]  # fixtures

GIT_INIT = (
    "git init -q -b main . && git -c user.name=t -c user.email=t@example.com "
    "commit -q --allow-empty -m base"
)


def workspaces(cluster: SshCluster) -> RemoteWorkspaces:
    return RemoteWorkspaces(
        parse_target("worker-a"),
        raw_root="~/workspaces",
        ssh_config=str(cluster.ssh_config),
        base_env=os.environ,
    )


async def test_the_base_is_recorded_and_the_proof_read_on_the_host(
    ssh_cluster: SshCluster,
) -> None:
    remote = workspaces(ssh_cluster)
    hooks = make_hooks(after_create=GIT_INIT, timeout_ms=20_000)
    issue = make_issue("MT-1")
    ws = await remote.prepare(issue, root=Path("/unused"), hooks=hooks, attempt=None)
    home = ssh_cluster["worker-a"].home
    record = home / "workspaces" / ".symphony~bases" / "MT-1"
    assert ws.base_commit is not None and len(ws.base_commit) == 40
    assert record.read_text() == ws.base_commit + "\n"
    # The agent's work, on the host (which is this machine here).
    (home / "workspaces" / "MT-1" / "fix.py").write_text("def fix():\n    return 1\n")

    again = await remote.prepare(issue, root=Path("/unused"), hooks=hooks, attempt=None)
    assert (again.created_now, again.base_commit) == (False, ws.base_commit)
    proof = await remote.git_proof(again, again.base_commit)
    assert proof.error is None and proof.git, proof
    ((fix),) = proof.files
    assert (fix.path, fix.added, fix.untracked) == ("fix.py", 2, True)
    assert "+def fix():" in proof.diff and proof.head == ws.base_commit

    assert await remote.remove("MT-1", root=Path("/unused"), hooks=hooks)
    assert not record.exists()


async def test_a_workspace_without_git_has_no_base_and_an_unreachable_host_is_said(
    ssh_cluster: SshCluster,
) -> None:
    remote = workspaces(ssh_cluster)
    hooks = make_hooks(timeout_ms=20_000)
    ws = await remote.prepare(make_issue("MT-2"), root=Path("/unused"), hooks=hooks, attempt=None)
    assert ws.base_commit is None
    assert not (ssh_cluster["worker-a"].home / "workspaces" / ".symphony~bases" / "MT-2").exists()
    none = await remote.git_proof(ws, None)
    assert not none.git and none.reason == "no base commit was recorded for this workspace"
    not_git = await remote.git_proof(ws, "a" * 40)
    assert not not_git.git and not_git.reason == "the workspace is not a git repository"

    ssh_cluster["worker-a"].kill()
    gone = await remote.git_proof(ws, "a" * 40)
    assert gone.error is not None and "worker-a is unreachable over SSH" in gone.error


async def test_a_run_on_a_worker_host_hands_off_with_its_diff(
    ssh_cluster: SshCluster,
    board: MemoryBoard,
    write_workflow: Callable[..., Path],
    tmp_path: Path,
    loop_clock: FakeLoopClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The host is this machine, so a local read would find the files too: it must not happen.
    async def read_here(*args: object, **kwargs: object) -> GitProof:
        return GitProof(git=False, reason="read on this machine")

    monkeypatch.setattr(handoff, "collect_git_proof", read_here)
    board.put(todo(1))
    command = agent("--turn-seconds", "0.1", "--move-to", "Human Review", tag=str(tmp_path / "a"))
    # created.txt is written before the base commit and left untracked: the run's one change.
    store = workflow(write_workflow, command, after_create=f"{CREATED} && {GIT_INIT}")
    runtime = runtime_for(store, board, tmp_path / "logs", loop_clock)
    try:
        await runtime.start()
        await wait_until(lambda: board.issues["id-1"].state == "Human Review", timeout=30)
        await wait_until(lambda: not runtime.snapshot().running, timeout=30)
        proof = await runtime.proof("MT-1")
        diff = await runtime.proof_diff("MT-1")
    finally:
        await asyncio.wait_for(runtime.stop(), timeout=30)
    assert proof is not None and diff is not None
    assert proof["note"] is None, proof["note"]
    assert [f["path"] for f in proof["files"]] == ["created.txt"]
    assert "+++ b/created.txt" in diff and "+MT-1 after_create" in diff
