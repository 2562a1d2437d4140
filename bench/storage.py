"""What durable state costs (docs/storage.md): agent-event CPU with the store on vs off, and the
startup time of a store holding 10,000 runs.

1. **Agent events.** The runtime in-process (memory tracker, real ``CodexSession``s, real
   workspaces, fake app-servers as in ``orchestrator_runtime.py``), N agents streaming R events/s
   in turns of a few seconds, so runs keep ending and starting (run rows, retries and totals are
   written all along). The same load runs with the store off and on, alternating, and the
   service's CPU (the writer thread included) per 1,000 agent events is compared. Target: under
   10 % more with the store on. The store writes nothing per agent event.
2. **Restart.** A store with 10,000 finished runs (1,000 issues x 10) and 100 retries: the time
   from opening the file to the core having decided the ``Restored`` event (open and migrate
   check, read, build the event, ``decide``), as a startup does it. Target: under 1 s.

Run: ``.venv/bin/python bench/storage.py [--agents 50] [--rate 50] [--window 15] [--rounds 2]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from tests.support.memory_tracker import MemoryAdapter, install_memory_tracker

from orchestrator_runtime import cpu_s, fake_command, issue, wait_until
from symphony.core.config import SchedulerConfig
from symphony.core.machine import decide
from symphony.core.snapshot import Instant
from symphony.core.state import OrchestratorState
from symphony.orchestrator.persistence import Persistence
from symphony.orchestrator.runtime import OrchestratorRuntime
from symphony.runtime_view import RuntimeChange
from symphony.service import select_backend
from symphony.storage import StateStore
from symphony.storage.writes import RetrySaved, RunEnded, RunStarted, TotalsSaved
from symphony.trackers.resolve import resolve_tracker
from symphony.workflow.store import WorkflowStore
from symphony.workspace import WorkspaceManager


async def measure_events(
    tmp: Path, agents: int, rate: float, window: float, turn_s: float, storage: bool
) -> tuple[float, float, int, float]:
    """One window: (CPU ms per 1,000 agent events, events/s, runs ended in the window, the
    writer thread's CPU ms per 1,000 events)."""
    profile = install_memory_tracker()
    board = profile.board
    argv, _ = fake_command(tmp, rate, prefer_c=True)
    argv = [*argv[: argv.index("--turn-seconds")], "--turn-seconds", str(turn_s)]
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
  max_concurrent_agents: {agents}
  max_turns: 1
codex:
  command: {shlex.join(["exec", *argv])!r}
  read_timeout_ms: 120000
  stall_timeout_ms: 0
---
Work on {{{{ issue.identifier }}}}
"""
    )
    store = StateStore.open(tmp / "state.sqlite") if storage else None
    runtime = OrchestratorRuntime(
        WorkflowStore.open(workflow, resolver=resolve_tracker),
        workspaces=WorkspaceManager(),
        agents=select_backend,
        adapter_factory=lambda _wf: MemoryAdapter(board),
        storage=store,
    )
    seen: Counter[str] = Counter()

    def listener(change: RuntimeChange) -> None:
        seen[change.kind] += 1

    runtime.subscribe(listener)
    for n in range(agents):
        board.put(issue(n))
    await runtime.start()
    await wait_until(
        lambda: sum(1 for e in runtime.state.running.values() if e.turn_count > 0) >= agents,
        120,
        "every agent to be streaming",
    )
    await asyncio.sleep(2 * turn_s)  # the launch burst drains, runs start to turn over
    runs0 = next_run(runtime)
    writer0 = store.cpu_s if store is not None else 0.0
    events0, cpu0, wall0 = seen["agent_event"], cpu_s(), time.monotonic()
    await asyncio.sleep(window)
    events1, cpu1, wall1 = seen["agent_event"], cpu_s(), time.monotonic()
    writer1 = store.cpu_s if store is not None else 0.0
    ended = next_run(runtime) - runs0
    await runtime.stop()
    if store is not None:
        store.close()
    thousands = (events1 - events0) / 1000
    return (
        (cpu1 - cpu0) * 1000 / thousands,
        (events1 - events0) / (wall1 - wall0),
        ended,
        (writer1 - writer0) * 1000 / thousands,
    )


def next_run(runtime: OrchestratorRuntime) -> int:
    return runtime.state.next_run_id


def fill_store(path: Path, issues: int, runs_each: int, retries: int) -> None:
    store = StateStore.open(path)
    store.start()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    run_id = 0
    for n in range(issues):
        for k in range(runs_each):
            run_id += 1
            began = start + timedelta(minutes=run_id)
            store.submit(RunStarted(run_id, f"id-{n}", f"LOAD-{n}", None, k or None, began))
            store.submit(
                RunEnded(
                    run_id=run_id,
                    ended_at=began + timedelta(seconds=50),
                    outcome="failed" if k % 3 else "succeeded",
                    error=None if k % 3 == 0 else "worker exited: agent turn error: boom",
                    thread_id=f"thread-{run_id}",
                    session_ids=(f"thread-{run_id}-turn-1", f"thread-{run_id}-turn-2"),
                    turns=2,
                    input_tokens=900,
                    output_tokens=100,
                    total_tokens=1000,
                    workspace=f"/ws/LOAD-{n}",
                    worker_host=None,
                    resume=False,
                )
            )
    due = datetime.now(UTC) + timedelta(minutes=5)
    for n in range(retries):
        store.submit(RetrySaved(f"id-{n}", f"LOAD-{n}", None, 2, due, "failure", "boom"))
    store.submit(TotalsSaved(9_000_000, 1_000_000, 10_000_000, 12_345.0))
    assert store.flush(timeout_s=120)
    store.close()


def measure_restart(path: Path) -> tuple[float, float, float, int]:
    """(open s, read + build s, decide s, runs restored) of one startup."""
    t0 = time.perf_counter()
    store = StateStore.open(path)
    t1 = time.perf_counter()
    now = Instant(time.monotonic() * 1000, datetime.now(UTC))
    event = Persistence(store).restore(now)
    t2 = time.perf_counter()
    state = OrchestratorState(config=SchedulerConfig())
    decide(state, event, now.mono_ms)
    t3 = time.perf_counter()
    store.close()
    return t1 - t0, t2 - t1, t3 - t2, len(event.history)


async def events_part(args: argparse.Namespace) -> None:
    results: dict[bool, list[tuple[float, float, int, float]]] = {False: [], True: []}
    for round_ in range(args.rounds):
        for storage in (False, True) if round_ % 2 == 0 else (True, False):
            with tempfile.TemporaryDirectory(
                prefix="symphony-bench-", ignore_cleanup_errors=True
            ) as d:
                tmp = Path(d)
                (tmp / "home").mkdir()
                os.environ["HOME"] = str(tmp / "home")
                figures = await measure_events(
                    tmp, args.agents, args.rate, args.window, args.turn_seconds, storage
                )
                results[storage].append(figures)
                print(
                    f"  (round {round_ + 1}, store {'on ' if storage else 'off'}: "
                    f"{figures[0]:.1f} ms CPU per 1,000 events, {figures[1]:.0f} events/s, "
                    f"{figures[2]} runs ended)",
                    file=sys.stderr,
                    flush=True,
                )
    off = statistics.median(r[0] for r in results[False])
    on = statistics.median(r[0] for r in results[True])
    ended = statistics.median(r[2] for r in results[True])
    writer = statistics.median(r[3] for r in results[True])
    print(
        f"{args.agents} agents x {args.rate:g} events/s, turns of {args.turn_seconds:g} s "
        f"(about {ended:.0f} runs ended per {args.window:g} s window), median of "
        f"{args.rounds} windows each"
    )
    print(f"  CPU per 1,000 agent events, store off     {off:8.1f} ms")
    print(f"  CPU per 1,000 agent events, store on      {on:8.1f} ms")
    print(f"  store on / off                            {on / off:8.2f} (target < 1.10)")
    print(f"  of which the writer thread                {writer:8.1f} ms")


def restart_part(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="symphony-bench-") as d:
        path = Path(d) / "state.sqlite"
        fill_store(path, args.history // 10, 10, 100)
        timings = [measure_restart(path) for _ in range(5)]
    opened = statistics.median(t[0] for t in timings)
    read = statistics.median(t[1] for t in timings)
    decided = statistics.median(t[2] for t in timings)
    runs = timings[0][3]
    print(f"restart with {runs:,} stored runs and 100 retries (median of 5)")
    print(f"  open (lock, schema check, integrity)      {opened * 1000:8.1f} ms")
    print(f"  read and build the Restored event         {read * 1000:8.1f} ms")
    print(f"  core decides Restored                     {decided * 1000:8.1f} ms")
    print(
        f"  total                                     {(opened + read + decided) * 1000:8.1f} ms"
        " (target < 1,000 ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--window", type=float, default=15.0)
    parser.add_argument("--turn-seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--history", type=int, default=10_000)
    parser.add_argument("--skip-events", action="store_true")
    args = parser.parse_args()
    restart_part(args)
    if not args.skip_events:
        asyncio.run(events_part(args))


if __name__ == "__main__":
    main()
