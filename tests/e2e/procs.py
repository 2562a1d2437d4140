"""Reading /proc to prove an agent's whole process tree is gone (end-to-end tests)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.harness import ServiceProcess, running_row
from tests.support.waiting import wait_until_sync

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


def agent_running_commands(
    service: ServiceProcess, identifier: str, commands: Collection[str], timeout_s: float = 30
) -> tuple[int, list[Proc]]:
    """Wait until ``identifier`` runs with an agent pid and that agent's process tree runs every
    one of ``commands`` (a turn in progress); returns the agent's pid and its tree."""
    busy = service.wait_until(
        lambda s: (row := running_row(s, identifier)) and row["pid"],
        timeout_s,
        what=f"{identifier} to run with an agent pid",
    )
    row = running_row(busy, identifier)
    assert row is not None
    leader = int(row["pid"])

    def tree_running_the_commands() -> list[Proc] | None:
        procs = agent_tree(leader)
        return procs if set(commands) <= {p.cmdline for p in procs} else None

    tree = wait_until_sync(
        tree_running_the_commands, f"the agent (pid {leader}) to run {sorted(commands)}", timeout=30
    )
    return leader, tree


def wait_until_gone(tree: list[Proc], leader: int, why: str) -> None:
    """Fail unless every process of ``tree`` and of ``leader``'s group is gone within 5 s.

    Killed processes may linger for a moment as zombies or in their exit path; a leaked one
    would still be there long after this bound."""
    try:
        wait_until_sync(
            lambda: not still_alive(tree) and not in_group(leader),
            "the agent to be gone",
            timeout=5,
        )
    except AssertionError:
        pytest.fail(f"agent processes survived {why}: {still_alive(tree) + in_group(leader)}")
