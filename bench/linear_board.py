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

With ``--baseline REV``, REV's own copy of this script measures REV's tree (checked out in a
temporary git worktree, with ``shared`` beside it as here), interleaved with this tree run for
run, and the marginal CPU, first dispatch and peak RSS are also printed as ratios to it. REV
must have this script (``a74c719`` or later). ``--runs`` repeats each measurement; the figures
are medians over the runs.

Run: ``.venv/bin/python bench/linear_board.py [--boards 10000 50000] [--polls 5]
[--baseline REV] [--runs 3]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
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


def measured(todo: int, polls: int, tree: Path | None = None) -> dict[str, Any]:
    """One board, measured in a fresh process: by this script, or by ``tree``'s copy of it on
    ``tree``'s sources."""
    script, env = Path(__file__), None
    if tree is not None:
        script = tree / "bench" / "linear_board.py"
        env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    out = subprocess.run(
        [sys.executable, str(script), "--measure", str(todo), "--polls", str(polls)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if out.returncode != 0:
        raise SystemExit(f"measuring {todo} issues with {script} failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


@contextlib.contextmanager
def baseline_tree(rev: str) -> Iterator[Path]:
    """REV in a temporary git worktree, with ``shared`` beside it as this checkout has it (the
    fake Linear reads Linear's schema from ``../shared``)."""
    root = Path(__file__).resolve().parents[1]
    found = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--verify", f"{rev}^{{commit}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if found.returncode != 0:
        raise SystemExit(f"--baseline {rev}: not a commit of this repository")
    base = Path(tempfile.mkdtemp(prefix="symphony-board-baseline-"))
    tree = base / "main"
    worktree = ["git", "-C", str(root), "worktree"]
    try:
        subprocess.run(
            [*worktree, "add", "--detach", str(tree), found.stdout.strip()],
            check=True,
            capture_output=True,
        )
        (base / "shared").symlink_to(root.parent / "shared")
        if not (tree / "bench" / "linear_board.py").exists():
            raise SystemExit(f"--baseline {rev} has no bench/linear_board.py (a74c719 or later)")
        yield tree
    finally:
        subprocess.run([*worktree, "remove", "--force", str(tree)], check=False)
        shutil.rmtree(base, ignore_errors=True)


def median_row(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Each figure's median over the runs of one board."""
    row = dict(runs[0])
    for key, value in runs[0].items():
        if isinstance(value, float):
            row[key] = statistics.median(r[key] for r in runs)
    return row


def print_table(label: str, rows: list[dict[str, Any]], polls: int, runs: int) -> None:
    tiny = rows[0]
    print(
        f"{label}: N active issues, all but {OPEN + 1} blocked; median of {polls} polls"
        f"{f' and {runs} runs' if runs > 1 else ''}; fake Linear in its own process"
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


def print_ratios(rev: str, base: list[dict[str, Any]], mine: list[dict[str, Any]]) -> None:
    print(f"Current / baseline {rev}:")
    for old, new in zip(base[1:], mine[1:], strict=True):
        ratios = []
        for name, key, tiny in (
            ("marginal CPU", "poll_cpu_s", True),
            ("first dispatch", "first_dispatch_s", False),
            ("peak RSS", "peak_rss_mb", False),
        ):
            before, after = old[key], new[key]
            if tiny:
                before, after = before - base[0][key], after - mine[0][key]
            ratios.append(f"{name} {after / before:.2f}" if before > 0 else f"{name} -")
        print(f"  {new['issues']:>13,} issues: " + ", ".join(ratios))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boards", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--polls", type=int, default=5)
    parser.add_argument("--runs", type=int, default=1, help="measurements per board and tree")
    parser.add_argument("--baseline", metavar="REV", help="also measure REV, interleaved")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve)
        return
    if args.measure is not None:
        print(json.dumps(measure(args.measure, args.polls)))
        return

    sizes = [TINY] + [todo - 1 for todo in args.boards]
    with contextlib.ExitStack() as stack:
        tree = stack.enter_context(baseline_tree(args.baseline)) if args.baseline else None
        mine: list[dict[str, Any]] = []
        base: list[dict[str, Any]] = []
        for todo in sizes:
            runs: list[dict[str, Any]] = []
            base_runs: list[dict[str, Any]] = []
            for _ in range(args.runs):  # interleaved: baseline, current, baseline, current
                if tree is not None:
                    base_runs.append(measured(todo, args.polls, tree))
                runs.append(measured(todo, args.polls))
            mine.append(median_row(runs))
            if base_runs:
                base.append(median_row(base_runs))
    if base:
        print_table(f"Baseline {args.baseline}", base, args.polls, args.runs)
    print_table("Current", mine, args.polls, args.runs)
    if base:
        print_ratios(args.baseline, base, mine)
    print("  (targets: marginal CPU per poll for 10,000 issues <= 300 ms; the eligible issues")
    print("   of a 10,001-issue board with 9,998 blocked dispatched in the first poll)")


if __name__ == "__main__":
    main()
