"""End to end: a broken state machine stops everything and exits non-zero (fail fast).

An exception inside ``decide`` may leave its state half updated, so the service must not decide
again: no new dispatch, every agent's process group killed, the traceback in the log, exit 1.
The fault is injected by ``faulty_service.py`` once a trigger file exists, while one agent is
mid-turn and a second issue waits for its slot.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.e2e.faulty_service import FAULT_MESSAGE, TRIGGER_ENV
from tests.e2e.harness import (
    Project,
    issue_identifier_in,
    local_front_matter,
    per_issue_responder,
)
from tests.e2e.procs import agent_running_commands, all_processes, wait_until_gone
from tests.support.fake_model import FakeModelServer, Reply

pytestmark = pytest.mark.codex

FAULTY_SERVICE = Path(__file__).with_name("faulty_service.py")


def test_an_exception_in_the_core_kills_every_agent_dispatches_nothing_and_exits_one(
    project: Project, model: FakeModelServer
) -> None:
    marker = f"{300 + os.getpid() % 1000}.{id(project) % 100000}2"
    slow = Reply.function_call("exec_command", {"cmd": f"sleep {marker}", "yield_time_ms": 30000})
    model.responder = per_issue_responder({"SYM-1": [slow], "SYM-2": []})
    trigger = project.root / "fault-trigger"
    project.extra_env[TRIGGER_ENV] = str(trigger)
    after_run_log = project.root / "after_run.log"
    project.write_workflow(
        local_front_matter(
            codex_bin=project.codex_bin,
            # One slot: SYM-2 waits for SYM-1's. Once SYM-1's agent is killed the slot is free,
            # and only a service that kept deciding would dispatch SYM-2.
            agent={"max_concurrent_agents": 1},
            polling={"interval_ms": 200},
            hooks={"after_run": f'echo "$SYMPHONY_ISSUE_IDENTIFIER" >> {after_run_log}'},
        ),
        "Work on {{ issue.identifier }}.",
    )
    project.board("add", "Run something slow")
    project.board("add", "Wait for the slot")
    service = project.start(launcher=[sys.executable, str(FAULTY_SERVICE)])

    leader, tree = agent_running_commands(service, "SYM-1", {f"sleep {marker}"})
    trigger.touch()

    code, output = service.wait_exit(30, after="of the injected fault")

    assert code == 1, output
    assert "orchestrator state machine failed, stopping every agent" in output
    assert "Traceback (most recent call last)" in output
    assert f"RuntimeError: {FAULT_MESSAGE}" in output
    log_file = project.logs_root / "symphony.log"
    assert "Traceback (most recent call last)" in log_file.read_text(encoding="utf-8")
    wait_until_gone(tree, leader, "the failure")
    assert not [p for p in all_processes() if p.cmdline == f"sleep {marker}"]
    # after_run still ran for the killed agent; nothing was dispatched after the fault.
    assert after_run_log.read_text(encoding="utf-8").split() == ["SYM-1"]
    assert "SYM-2" not in {issue_identifier_in(r, ["SYM-1", "SYM-2"]) for r in model.requests}
    dispatches = [line for line in output.splitlines() if "dispatching issue" in line]
    assert [line for line in dispatches if "SYM-2" in line] == [], dispatches
