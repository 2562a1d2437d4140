"""End to end: SIGTERM while an agent is mid-turn stops everything cleanly (SPEC §16.1).

The fake model has the agent run a long ``sleep`` through codex's shell tool, so a turn is in
progress. On SIGTERM the service must kill the agent's whole process tree (the app-server's process
group, including a process codex itself would not stop, and the command it was running), still run
``after_run``, and exit 0.
"""

from __future__ import annotations

import os

import pytest

from tests.e2e.harness import (
    Project,
    local_front_matter,
    per_issue_responder,
)
from tests.e2e.procs import agent_running_commands, all_processes, wait_until_gone
from tests.support.fake_model import FakeModelServer, Reply

pytestmark = pytest.mark.codex


def test_sigterm_mid_turn_kills_the_agent_runs_after_run_and_exits_zero(
    project: Project, model: FakeModelServer
) -> None:
    # Sleeps no other process on the machine runs, so they can be found in /proc.
    marker = f"{300 + os.getpid() % 1000}.{id(project) % 100000}"
    companion = f"{marker}1"
    slow = Reply.function_call("exec_command", {"cmd": f"sleep {marker}", "yield_time_ms": 30000})
    model.responder = per_issue_responder({"SYM-1": [slow]})
    after_run_log = project.root / "after_run.log"
    project.write_workflow(
        local_front_matter(
            codex_bin=project.codex_bin,
            hooks={"after_run": f'echo "$SYMPHONY_ISSUE_IDENTIFIER" >> {after_run_log}'},
            # A process left in the app-server's group that ignores codex's own exit: only
            # killing the whole group (docs/codex.md "Launch") ends it.
            codex={
                "command": f"sleep {companion} >/dev/null 2>&1 </dev/null & "
                f"exec {project.codex_bin} app-server"
            },
        ),
        "Work on {{ issue.identifier }}.",
    )
    project.board("add", "Run something slow")
    service = project.start()

    # The turn is in progress once codex runs the model's command inside the agent's tree.
    leader, tree = agent_running_commands(
        service, "SYM-1", {f"sleep {marker}", f"sleep {companion}"}
    )
    assert any(p.pid == leader for p in tree)
    assert any(p.pgid == leader and p.cmdline == f"sleep {companion}" for p in tree)
    assert not after_run_log.exists()

    code, output = service.stop()

    assert code == 0, output
    assert "shutdown requested" in output and "symphony stopped" in output
    wait_until_gone(tree, leader, "the shutdown")
    leftovers = {f"sleep {marker}", f"sleep {companion}"}
    assert not [p for p in all_processes() if p.cmdline in leftovers]
    assert after_run_log.read_text(encoding="utf-8").split() == ["SYM-1"]
