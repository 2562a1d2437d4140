"""The REAL codex (pinned 0.169.0) on an SSH worker host (docs/workers.md), fully offline.

The host is a real ``sshd`` on 127.0.0.1 with its own ``HOME`` (``tests/support/sshd.py``). As
on a real worker host, its login profile provides what codex needs: ``CODEX_HOME`` pointing at
the fake model, the model's key, and ``codex-linux-sandbox`` on PATH (a system bwrap runs it by
name). Symphony sends none of that: the session is launched as ``ssh … bash -lc`` with the
workspace as the host sees it, and the app-server's stdio comes back over the connection.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from symphony.agents import AgentEvent, ToolRegistry
from symphony.agents.codex.linux_sandbox import HELPER, native_for_program
from symphony.agents.codex.session import CodexSession
from symphony.ssh_exec import RemoteHost
from symphony.workflow.config import CodexConfig
from tests.agents.conftest import make_issue
from tests.agents.test_codex_real import CODEX_BIN
from tests.support.fake_model import FAKE_API_KEY_ENV, FakeModelServer, Reply, write_codex_home
from tests.support.processes import alive
from tests.support.sshd import SshCluster, ssh_cluster, ssh_cluster_session

__all__ = ["ssh_cluster", "ssh_cluster_session"]  # fixtures

pytestmark = [
    pytest.mark.codex,
    pytest.mark.skipif(not CODEX_BIN.exists(), reason=f"real codex not found at {CODEX_BIN}"),
]

ISSUE = make_issue(title="Create made.txt")


async def test_codex_runs_on_the_worker_host_in_the_remote_workspace(
    ssh_cluster: SshCluster, tmp_path: Path
) -> None:
    host = ssh_cluster["worker-a"]
    workspace = host.home / "workspaces" / "SYM-1"
    workspace.mkdir(parents=True)
    bin_dir = host.home / "bin"
    bin_dir.mkdir(exist_ok=True)
    native = native_for_program(CODEX_BIN)
    assert native is not None
    helper = bin_dir / HELPER
    if not helper.exists():
        helper.symlink_to(native)
    events: list[AgentEvent] = []
    with FakeModelServer() as model:
        codex_home = write_codex_home(tmp_path / "codex-home", base_url=model.base_url)
        host.write_profile(
            f"export PATH={shlex.quote(str(bin_dir))}:$PATH\n"
            f"export CODEX_HOME={shlex.quote(str(codex_home))}\n"
            f"export {FAKE_API_KEY_ENV}=fake-key\n"
        )
        model.script(
            Reply.exec_command('printf "$HOME" > made.txt'),
            Reply.message("Created made.txt."),
        )
        session = await CodexSession.start(
            workspace=workspace,
            workspace_root=tmp_path / "unused-local-root",
            codex=CodexConfig(
                command=f"{CODEX_BIN} app-server",
                read_timeout_ms=20_000,
                turn_timeout_ms=60_000,
                approval_policy="never",
                thread_sandbox="workspace-write",
            ),
            tools=ToolRegistry.empty(),
            strip_env=frozenset(),
            on_event=events.append,
            issue=ISSUE,
            remote=RemoteHost.from_entry("worker-a"),
        )
        ssh_pid = session.pid
        try:
            outcome = await session.run_turn("Create made.txt", issue=ISSUE)
        finally:
            await session.stop()
    assert outcome.status == "completed"
    assert outcome.last_message == "Created made.txt."
    # The command ran on the host, in the workspace, under the host's HOME.
    assert (workspace / "made.txt").read_text() == str(host.home)
    assert ssh_pid is not None and not alive(ssh_pid)
