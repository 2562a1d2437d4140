"""`symphony WORKFLOW.md` end to end: SIGTERM/SIGINT stop the agents, run after_run, exit 0."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import alive
from tests.support.waiting import wait_until_sync

REPO = Path(__file__).resolve().parents[2]
FAKE = Path(__file__).with_name("fake_app_server.py")

BOOT = """
import sys
from symphony.issue import Issue
from tests.support.memory_tracker import install_memory_tracker
board = install_memory_tracker().board
board.put(Issue(id="id-1", identifier="SVC-1", title="Serve", state="Todo", dispatchable=True))
from symphony.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_agents_runs_after_run_and_exits_zero(
    tmp_path: Path, sig: signal.Signals
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    root = tmp_path / "ws"
    agent = shlex.join(["exec", sys.executable, "-S", str(FAKE), "--turn-seconds", "600"])
    workflow = tmp_path / "WORKFLOW.md"
    workflow.write_text(
        f"""---
tracker:
  kind: memory
workspace:
  root: {root}
hooks:
  after_run: echo stopped > after_run.txt
codex:
  command: {agent!r}
---
Work on {{{{ issue.identifier }}}}
"""
    )
    env = {**os.environ, "HOME": str(home), "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-c", BOOT, str(workflow), "--logs-root", str(tmp_path / "logs")],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        transcript = tmp_path / "logs" / "agents" / "SVC-1" / "latest.log"

        def turn_started() -> bool:
            assert proc.poll() is None, proc.communicate()[0]
            return transcript.exists() and "turn/started" in transcript.read_text()

        wait_until_sync(turn_started, "the agent to start its turn", timeout=30)
        pids = {
            int(p.name)
            for p in Path("/proc").iterdir()
            if p.name.isdigit() and str(FAKE) in _cmdline(p) and str(root) in _cwd(p)
        }
        assert len(pids) == 1
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert (root / "SVC-1" / "after_run.txt").read_text() == "stopped\n"
    assert not any(alive(pid) for pid in pids)
    assert "symphony stopped" in out


def _cmdline(proc_dir: Path) -> str:
    try:
        return (proc_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _cwd(proc_dir: Path) -> str:
    try:
        return str((proc_dir / "cwd").readlink())
    except OSError:
        return ""
