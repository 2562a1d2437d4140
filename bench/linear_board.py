"""Big Linear boards: the service's CPU per poll, poll wall time, time to first dispatch, peak RSS.

Each board is N Todo issues plus one In Progress blocker; all but two of the Todo issues are
blocked by it, so three issues are eligible (the shape of issue #14's target: 10,001 active
issues, 9,998 blocked). The fake Linear (``tests/support/fake_linear.py``: every request validated
against Linear's schema and scored against its complexity limit) runs in its own process, so its
CPU is not the service's; the service is the real ``OrchestratorRuntime`` with the Linear adapter
over loopback HTTP, with fake agents that keep working and fake workspaces. Every board is
measured in a fresh process, so peak RSS is that board's.

Printed per board: the service's CPU per poll (median of ``--polls`` refresh-triggered polls, each
one walk of the whole board plus the by-id refresh of the three running issues), the marginal CPU
(minus the tiny board's), the poll's wall time and how much of it the fake Linear spent on CPU,
the time from ``start()`` to the first dispatched issue, and the peak RSS.

Run: ``.venv/bin/python bench/linear_board.py [--boards 10000 50000] [--polls 5]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TINY = 10
OPEN = 2  # unblocked Todo issues; with the blocker, three are eligible


def cpu_s() -> tuple[float, float]:
    """(user, system) CPU seconds of this process."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


def process_cpu_s(pid: int) -> float:
    """User + system CPU of another process (the fake Linear), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --- the fake Linear, in its own process ------------------------------------------------------


def serve(todo: int) -> None:
    from tests.support.fake_linear import FakeLinear

    linear = FakeLinear().start()
    blocker = linear.add_issue("The open blocker", state="In Progress")
    spread = max(todo // OPEN, 1)
    for n in range(todo):
        issue = linear.add_issue(
            f"Issue {n}: a title of an ordinary length", labels=["Backend"], priority=n % 5
        )
        if n % spread != spread // 2:  # OPEN of them unblocked, spread through the board
            linear.add_blocker(issue, blocker)
    print(json.dumps({"url": linear.url, "key": linear.api_key, "slug": linear.project_slug}))
    sys.stdout.flush()
    sys.stdin.read()  # until the measuring process closes our stdin
    linear.stop()


# --- the service, measured ----------------------------------------------------------------------


async def wait_for(predicate: Any, limit_s: float, what: str) -> None:
    # A coarse interval: the waiting itself must not show up as the service's CPU.
    deadline = time.monotonic() + limit_s
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {limit_s:g} s waiting for {what}")
        await asyncio.sleep(0.02)


def measure(todo: int, polls: int) -> dict[str, Any]:
    """One board: the fake Linear in a child process, the service in this one."""
    fake = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(todo)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert fake.stdout is not None and fake.stdin is not None
    try:
        endpoint = json.loads(fake.stdout.readline())
        result = asyncio.run(run_service(endpoint, fake.pid, polls))
    finally:
        fake.stdin.close()
        fake.wait(timeout=30)
    return {"issues": todo + 1, **result}


async def run_service(endpoint: dict[str, str], fake_pid: int, polls: int) -> dict[str, Any]:
    from tests.orchestrator.fakes import FakeAgents, FakeSession, FakeWorkspaces

    from symphony.core.state import Phase
    from symphony.orchestrator.runtime import OrchestratorRuntime
    from symphony.trackers.linear import PROFILE
    from symphony.trackers.resolve import resolve_tracker
    from symphony.workflow.store import WorkflowStore

    tmp = Path(tempfile.mkdtemp(prefix="symphony-bench-linear-"))
    workflow = tmp / "WORKFLOW.md"
    workflow.write_text(
        f"""---
tracker:
  kind: linear
  provider:
    endpoint: {endpoint["url"]}
    project_slug: {endpoint["slug"]}
    api_key: {endpoint["key"]}
workspace:
  root: {tmp / "ws"}
polling:
  interval_ms: 3600000
agent:
  max_concurrent_agents: 10
---
Work on {{{{ issue.identifier }}}}: {{{{ issue.description }}}}
"""
    )
    store = WorkflowStore.open(workflow, resolver=resolve_tracker)
    agents = FakeAgents()

    async def keep_working(session: FakeSession, prompt: str, turn: int) -> None:
        await asyncio.Event().wait()

    agents.default_script = keep_working
    runtime = OrchestratorRuntime(
        store,
        workspaces=FakeWorkspaces(),
        agents=agents.select,
        adapter_factory=lambda wf: PROFILE.create(
            wf.config.tracker, workflow_dir=wf.path.parent, environ={}
        ),
    )
    state = runtime.state

    def idle_after(tick: int) -> bool:
        return state.tick_id > tick and state.phase is Phase.IDLE

    started = time.monotonic()
    await runtime.start()
    await wait_for(lambda: bool(state.running), 600, "the first dispatch")
    first_dispatch = time.monotonic() - started
    await wait_for(lambda: idle_after(0), 600, "the first poll")
    await wait_for(lambda: len(state.running) == OPEN + 1, 60, "every eligible issue")
    blocked = runtime.snapshot().counts.blocked

    cpu: list[float] = []
    system: list[float] = []
    wall: list[float] = []
    fake_cpu: list[float] = []
    for _ in range(polls):
        tick = state.tick_id
        (user0, sys0), wall0, fake0 = cpu_s(), time.monotonic(), process_cpu_s(fake_pid)
        runtime.request_refresh()
        await wait_for(lambda tick=tick: idle_after(tick), 600, "a poll")
        user1, sys1 = cpu_s()
        cpu.append(user1 - user0 + sys1 - sys0)
        system.append(sys1 - sys0)
        wall.append(time.monotonic() - wall0)
        fake_cpu.append(process_cpu_s(fake_pid) - fake0)
    error = runtime.snapshot().tracker.error
    await runtime.stop()
    return {
        "running": OPEN + 1,
        "blocked": blocked,
        "first_dispatch_s": first_dispatch,
        "poll_cpu_s": statistics.median(cpu),
        "poll_sys_s": statistics.median(system),
        "poll_wall_s": statistics.median(wall),
        "fake_cpu_s": statistics.median(fake_cpu),
        "peak_rss_mb": peak_rss_mb(),
        "tracker_error": None if error is None else error.message,
    }


def measured(todo: int, polls: int) -> dict[str, Any]:
    """One board, measured in a fresh process."""
    out = subprocess.run(
        [sys.executable, __file__, "--measure", str(todo), "--polls", str(polls)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"measuring {todo} issues failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boards", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--polls", type=int, default=5)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve)
        return
    if args.measure is not None:
        print(json.dumps(measure(args.measure, args.polls)))
        return

    tiny = measured(TINY, args.polls)
    rows = [tiny] + [measured(todo - 1, args.polls) for todo in args.boards]
    print(
        f"Linear boards: N active issues, all but {OPEN + 1} blocked; median of {args.polls} "
        "polls; fake Linear in its own process"
    )
    print(
        "  active issues   blocked   CPU/poll (of it system)   marginal   poll wall"
        "  (fake Linear CPU)   first dispatch   peak RSS"
    )
    for row in rows:
        marginal = row["poll_cpu_s"] - tiny["poll_cpu_s"]
        print(
            f"  {row['issues']:>13,}   {row['blocked']:>7,}   {row['poll_cpu_s'] * 1000:6.0f} ms"
            f" ({row['poll_sys_s'] * 1000:4.0f} ms)        {marginal * 1000:6.0f} ms"
            f"   {row['poll_wall_s']:7.2f} s  ({row['fake_cpu_s']:6.2f} s)"
            f"           {row['first_dispatch_s']:7.2f} s   {row['peak_rss_mb']:6.0f} MB"
        )
        if row["tracker_error"]:
            print(f"    tracker error: {row['tracker_error']}")
    print("  (targets: marginal CPU per poll for 10,000 issues <= 300 ms; the eligible issues")
    print("   of a 10,001-issue board with 9,998 blocked dispatched in the first poll)")


if __name__ == "__main__":
    main()
