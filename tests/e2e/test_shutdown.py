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
    running_row,
)
from tests.e2e.procs import Proc, agent_tree, all_processes, in_group, still_alive
from tests.support.fake_model import FakeModelServer, Reply
from tests.support.waiting import wait_until_sync

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

    busy = service.wait_until(
        lambda s: (row := running_row(s, "SYM-1")) and row["pid"],
        30,
        what="SYM-1 to run with an agent pid",
    )
    row = running_row(busy, "SYM-1")
    assert row is not None
    leader = int(row["pid"])

    # The turn is in progress once codex runs the model's command inside the agent's tree.
    def tree_running_the_command() -> list[Proc] | None:
        procs = agent_tree(leader)
        commands = {p.cmdline for p in procs}
        return procs if {f"sleep {marker}", f"sleep {companion}"} <= commands else None

    tree = wait_until_sync(
        tree_running_the_command, f"the agent (pid {leader}) to run `sleep {marker}`", timeout=30
    )
    assert any(p.pid == leader for p in tree)
    assert any(p.pgid == leader and p.cmdline == f"sleep {companion}" for p in tree)
    assert not after_run_log.exists()

    code, output = service.stop()

    assert code == 0, output
    assert "shutdown requested" in output and "symphony stopped" in output
    # Killed processes may linger for a moment as zombies or in their exit path; a leaked
    # `sleep` would still be there long after this bound.
    try:
        wait_until_sync(
            lambda: not still_alive(tree) and not in_group(leader),
            "the agent to be gone",
            timeout=5,
        )
    except AssertionError:
        pytest.fail(
            f"agent processes survived the shutdown: {still_alive(tree) + in_group(leader)}"
        )
    leftovers = {f"sleep {marker}", f"sleep {companion}"}
    assert not [p for p in all_processes() if p.cmdline in leftovers]
    assert after_run_log.read_text(encoding="utf-8").split() == ["SYM-1"]
