"""The orchestrator runtime under load: 500 agents x 20 events/s, and dispatch latency.

Every agent is a real ``CodexSession`` (``bash -lc`` + JSONL over pipes, per-issue transcript
file) talking to ``bench/fake_app_server.c`` (what codex 0.169 streams in a turn; with
``--python-fake`` or no C compiler, ``tests/orchestrator/fake_app_server.py``, a simpler stream
of deltas, token totals and rate limits); workspaces are made by the real
``WorkspaceManager``; the tracker is the in-memory adapter. Prints the service process's CPU
(targets: under one core) and memory (under 300 MB), the agent events it handled per second, and
the time from ``refresh()`` to a dispatched worker / a running agent (target: 200 ms), idle and
under load. The fake agents' own CPU is theirs, not the service's, and is not counted.

Run: ``.venv/bin/python bench/orchestrator_runtime.py [--agents 500] [--rate 20] [--window 20]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.memory_tracker import MemoryAdapter, MemoryBoard, install_memory_tracker

from symphony.issue import Issue
from symphony.observability.transcript import AgentLogs
from symphony.orchestrator.runtime import OrchestratorRuntime
from symphony.runtime_view import RuntimeChange
from symphony.service import select_backend
from symphony.trackers.resolve import resolve_tracker
from symphony.workflow.store import WorkflowStore
from symphony.workspace import WorkspaceManager

ROOT = Path(__file__).resolve().parents[1]
PYTHON_FAKE = ROOT / "tests" / "orchestrator" / "fake_app_server.py"
C_FAKE = Path(__file__).with_name("fake_app_server.c")


def fake_command(tmp: Path, rate: float, prefer_c: bool) -> tuple[list[str], str]:
    """The agent command line: the C load generator when a compiler is at hand."""
    args = ["--rate", str(rate), "--turn-seconds", "3600"]
    compiler = shutil.which("cc") or shutil.which("gcc")
    if prefer_c and compiler is not None:
        binary = tmp / "fake_app_server"
        built = subprocess.run(
            [compiler, "-O2", "-o", str(binary), str(C_FAKE)], capture_output=True, check=False
        )
        if built.returncode == 0:
            return [str(binary), *args], "C fake app-server"
    return [sys.executable, "-S", str(PYTHON_FAKE), *args], "Python fake app-server"


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size of this process in MB."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def wait_until(predicate: Callable[[], bool], limit_s: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    while not predicate():
        if loop.time() > deadline:
            raise SystemExit(f"timed out after {limit_s:g} s waiting for {what}")
        await asyncio.sleep(0.001)


def issue(n: int) -> Issue:
    return Issue(
        id=f"id-{n}", identifier=f"LOAD-{n}", title="Load", state="Todo", dispatchable=True
    )


async def dispatch_latency(
    runtime: OrchestratorRuntime, board: MemoryBoard, first: int, count: int
) -> tuple[list[float], list[float]]:
    """Milliseconds from refresh() to the worker being dispatched, and to its agent's first
    event (app-server launched, handshake done, first turn started)."""
    decided: list[float] = []
    running: list[float] = []
    loop = asyncio.get_running_loop()
    for n in range(first, first + count):
        await wait_until(lambda: runtime.snapshot().polling.checking is False, 10, "an idle poller")
        issue_id = f"id-{n}"

        def dispatched(issue_id: str = issue_id) -> bool:
            return issue_id in runtime.state.running

        def turning(issue_id: str = issue_id) -> bool:
            entry = runtime.state.running.get(issue_id)
            return entry is not None and entry.turn_count > 0

        board.put(issue(n))
        start = loop.time()
        runtime.request_refresh()
        await wait_until(dispatched, 60, "dispatch")
        decided.append((loop.time() - start) * 1000)
        await wait_until(turning, 30, "the agent's first turn")
        running.append((loop.time() - start) * 1000)
    return decided, running


def describe(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(values):6.1f}  p95 {p95:6.1f}  max {max(values):6.1f}"


async def run(
    tmp: Path, agents: int, rate: float, window: float, transcripts: bool, prefer_c: bool
) -> None:
    home = tmp / "home"
    home.mkdir()
    os.environ["HOME"] = str(home)  # an empty login profile for every `bash -lc`
    profile = install_memory_tracker()
    board = profile.board
    argv, fake_name = fake_command(tmp, rate, prefer_c)
    command = shlex.join(["exec", *argv])
    workflow = tmp / "WORKFLOW.md"
    workflow.write_text(
        f"""---
tracker:
  kind: memory
workspace:
  root: {tmp / "ws"}
polling:
  interval_ms: 600000
agent:
  max_concurrent_agents: {agents + 100}
codex:
  command: {command!r}
  read_timeout_ms: 120000
  stall_timeout_ms: 0
---
Work on {{{{ issue.identifier }}}}
"""
    )
    store = WorkflowStore.open(workflow, resolver=resolve_tracker)
    runtime = OrchestratorRuntime(
        store,
        workspaces=WorkspaceManager(),
        agents=select_backend,
        adapter_factory=lambda _wf: MemoryAdapter(board),
        agent_logs=AgentLogs(tmp / "logs") if transcripts else None,
    )
    seen: Counter[str] = Counter()

    def listener(change: RuntimeChange) -> None:  # a dashboard-like subscriber
        seen[change.kind] += 1

    runtime.subscribe(listener)
    await runtime.start()
    await wait_until(lambda: runtime.state.last_poll_ms is not None, 10, "the first poll")
    idle_decided, idle_running = await dispatch_latency(runtime, board, 100_000, 10)

    ramp = time.monotonic()
    for n in range(agents):
        board.put(issue(n))
    runtime.request_refresh()
    await wait_until(
        lambda: sum(1 for e in runtime.state.running.values() if e.turn_count > 0) >= agents + 10,
        600,
        "every agent to be streaming",
    )
    ramp_s = time.monotonic() - ramp
    print(f"  ({agents} agents streaming after {ramp_s:.1f} s)", file=sys.stderr, flush=True)
    await asyncio.sleep(3)  # let the launch burst drain

    events0, cpu0, wall0 = seen["agent_event"], cpu_s(), time.monotonic()
    samples = []
    while time.monotonic() - wall0 < window:
        await asyncio.sleep(1)
        samples.append(rss_mb()[0])
    events1, cpu1, wall1 = seen["agent_event"], cpu_s(), time.monotonic()
    print(
        f"  (window: {(events1 - events0) / (wall1 - wall0):.0f} events/s, "
        f"{(cpu1 - cpu0) / (wall1 - wall0) * 100:.0f} % CPU)",
        file=sys.stderr,
        flush=True,
    )
    load_decided, load_running = await dispatch_latency(runtime, board, 200_000, 10)
    peak = rss_mb()[1]

    stop0 = time.monotonic()
    await runtime.stop()
    stop_s = time.monotonic() - stop0
    current = rss_mb()[0]

    wall = wall1 - wall0
    print(
        f"{agents} agents x {rate:g} events/s ({fake_name}), transcripts "
        f"{'on' if transcripts else 'off'}, measured over {wall:.1f} s"
    )
    print(f"  ramp-up to {agents} streaming agents          {ramp_s:8.1f} s")
    print(f"  agent events handled                      {(events1 - events0) / wall:8.0f} /s")
    print(
        f"  service CPU                               {(cpu1 - cpu0) / wall * 100:8.1f} % "
        "of one core (target < 100 %)"
    )
    print(
        f"  service RSS                               {statistics.mean(samples):8.1f} MB mean, "
        f"{max(samples):.1f} MB max in window, {peak:.1f} MB peak (target < 300 MB)"
    )
    print("  refresh() -> dispatched, idle (ms)        " + describe(idle_decided))
    print("  refresh() -> agent turn started, idle     " + describe(idle_running))
    print("  refresh() -> dispatched, loaded (ms)      " + describe(load_decided))
    print("  refresh() -> agent turn started, loaded   " + describe(load_running))
    print(f"  orderly stop of all {agents + 20} agents            {stop_s:8.1f} s")
    print(f"  service RSS after stop                    {current:8.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--window", type=float, default=20.0)
    parser.add_argument("--no-transcripts", action="store_true")
    parser.add_argument("--python-fake", action="store_true", help="skip the C load generator")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="symphony-bench-", ignore_cleanup_errors=True) as tmp:
        asyncio.run(
            run(
                Path(tmp),
                args.agents,
                args.rate,
                args.window,
                not args.no_transcripts,
                not args.python_fake,
            )
        )


if __name__ == "__main__":
    main()
