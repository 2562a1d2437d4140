"""End to end: SIGTERM while an agent is mid-turn stops everything cleanly (SPEC §16.1).

The fake model has the agent run a long ``sleep`` through codex's shell tool, so a turn is in
progress. On SIGTERM the service must kill the agent's whole process tree (the app-server's process
group, including a process codex itself would not stop, and the command it was running), still run
``after_run``, and exit 0.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.harness import (
    Project,
    local_front_matter,
    per_issue_responder,
    running_row,
)
from tests.support.fake_model import FakeModelServer, Reply
from tests.support.waiting import wait_until_sync

pytestmark = pytest.mark.codex

PROC = Path("/proc")


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    pgid: int
    start: int  # clock ticks since boot: tells a live process from a reused pid
    cmdline: str


def read_proc(pid: int) -> Proc | None:
    """The process ``pid`` if it exists and is not a zombie (a zombie has already exited)."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    return Proc(
        pid=pid,
        ppid=int(fields[1]),
        pgid=int(fields[2]),
        start=int(fields[19]),
        cmdline=raw.replace(b"\0", b" ").decode(errors="replace").strip(),
    )


def all_processes() -> list[Proc]:
    found = (read_proc(int(p.name)) for p in PROC.iterdir() if p.name.isdigit())
    return [p for p in found if p is not None]


def agent_tree(leader: int) -> list[Proc]:
    """Every live process in the agent's process group or descended from its leader.

    Codex runs the model's commands through its sandbox helper in a new session, so the command
    itself is outside the app-server's process group: only the descendants show it.
    """
    procs = all_processes()
    children: dict[int, list[Proc]] = {}
    for proc in procs:
        children.setdefault(proc.ppid, []).append(proc)
    tree = {p.pid: p for p in procs if p.pgid == leader or p.pid == leader}
    stack = list(tree)
    while stack:
        for child in children.get(stack.pop(), []):
            if child.pid not in tree:
                tree[child.pid] = child
                stack.append(child.pid)
    return list(tree.values())


def in_group(pgid: int) -> list[Proc]:
    return [p for p in all_processes() if p.pgid == pgid]


def still_alive(procs: list[Proc]) -> list[Proc]:
    alive = []
    for proc in procs:
        now = read_proc(proc.pid)
        if now is not None and now.start == proc.start:
            alive.append(now)
    return alive


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
