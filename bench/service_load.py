"""Symphony as users run it, under agent load, measured from outside (issue #14's figures).

Starts the real ``symphony`` CLI (``symphony WORKFLOW.md --port 0``) as a subprocess, with a
schema-checked fake Linear in its own process (``tests/support/fake_linear_process.py``) and the
C fake agent (``bench/fake_app_server.c``, streaming what codex 0.169 sends) as
``codex.command``, and measures the service process only (the fake agents and the fake Linear are
other processes): CPU per 1,000 agent events, CPU %, RSS, ``GET /api/v1/state`` latency, tracker
response -> ``turn/start`` and ``initialize`` -> ``turn/start``. Transcripts and redaction are
on, as by default; afterwards it checks that no secret reached a transcript.

With ``--baseline REV`` (default ``4d4539a``, the previous release) it installs REV from a
temporary git worktree into its own virtualenv and runs every scenario against both, interleaved,
printing medians and current/baseline ratios. bench/README.md says how each figure is measured.

Run: ``.venv/bin/python bench/service_load.py [--scenario 100x50 ...] [--quick] [--no-baseline]``
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import os
import re
import resource
import secrets
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

ROOT = Path(__file__).resolve().parents[1]
FAKE_SOURCE = Path(__file__).with_name("fake_app_server.c")
DEFAULT_BASELINE = "4d4539a"
STATS_FILE = "fake-app-server.stats"
STATS_LAYOUT = struct.Struct("<8s11q")  # see the header of fake_app_server.c
CLOCK_TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")
DASHBOARD_LINE = re.compile(r"dashboard at (http://\S+)")
GITHUB_TOKEN = re.compile(rb"ghp_[A-Za-z0-9]{36}")
REDACTED = b"[REDACTED]"
STATE_POLL_S = 0.25  # a dashboard-like client: four requests a second
COLUMN = 24  # width of a target's column in the table


@dataclass(frozen=True)
class Scenario:
    name: str
    agents: int
    rate: float  # notifications per second per agent
    window_s: float  # the steady window CPU, events and state latency are measured over
    probes: int = 0  # new issues dispatched under load, for the latency figures
    poll_ms: int = 5000
    settle_s: float = 3.0

    def describe(self) -> str:
        return f"{self.agents} agents x {self.rate:g} events/s"


SCENARIOS: dict[str, Scenario] = {
    "100x50": Scenario("100x50", 100, 50, window_s=30, probes=10, poll_ms=2000),
    "300x10": Scenario("300x10", 300, 10, window_s=30),
    "1000x10": Scenario("1000x10", 1000, 10, window_s=30, settle_s=5),
    "10": Scenario("10", 10, 10, window_s=20),
}


def quick(scenario: Scenario) -> Scenario:
    return replace(
        scenario,
        window_s=10,
        probes=min(scenario.probes, 4),
        settle_s=min(scenario.settle_s, 2),
    )


@dataclass(frozen=True)
class Target:
    """A ``symphony`` executable, the agent backend it drives, and what to call it in the table."""

    label: str
    symphony: Path
    agent: str = "codex"


# ``agent.kind`` -> the fake agent's ``--dialect`` (see bench/fake_app_server.c).
DIALECTS = {"codex": "codex", "claude_code": "claude", "acp": "acp"}


# --- what is measured, and how it is printed ---------------------------------------------------


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    targets: dict[str, str] = field(default_factory=dict)  # scenario -> issue #14's target
    digits: int = 1


NOT_SERVICE = {name: "not the service" for name in SCENARIOS}
FIGURES = (
    Figure("cpu_ms_per_1k", "CPU per 1,000 agent events (ms)", {"100x50": "<= 60"}),
    Figure("cpu_percent", "service CPU (% of one core)", {"1000x10": "< 100"}),
    Figure("events_per_s", "agent events/s read (fake agents' counters)", digits=0),
    Figure("backlog_events", "events left unread at window end", digits=0),
    Figure("dispatch_p50_ms", "tracker response -> turn/start p50 (ms)", {"100x50": "<= 30"}),
    Figure("dispatch_p90_ms", "tracker response -> turn/start p90 (ms)", {"100x50": "<= 80"}),
    Figure("handshake_p50_ms", "initialize -> turn/start p50 (ms)", {"100x50": "was 72; 1.6"}),
    Figure("state_p50_ms", "GET /api/v1/state p50 (ms)", {"100x50": "<= 3"}, 2),
    Figure("state_p90_ms", "GET /api/v1/state p90 (ms)", digits=2),
    Figure("state_kb", "GET /api/v1/state body (KB)", digits=0),
    Figure("rss_mean_mb", "RSS in window, mean (MB)", {"1000x10": "< 250"}),
    Figure("peak_rss_mb", "peak RSS, VmHWM (MB)", {"10": "<= 50", "1000x10": "< 250"}),
    Figure("ramp_s", "start -> every agent in its turn (s)"),
    Figure("stop_s", "SIGTERM -> exit, all agents stopped (s)"),
    Figure("fakes_cpu_percent", "fake agents' CPU (% of one core)", NOT_SERVICE),
    Figure("linear_cpu_percent", "fake Linear CPU (% of one core)", NOT_SERVICE),
    Figure("machine_busy_percent", "machine busy (% of all cores)", {}, 0),
)


@dataclass
class RunResult:
    scenario: str
    target: str
    figures: dict[str, float] = field(default_factory=dict)
    secrets_found: list[str] = field(default_factory=list)
    redactions: int = 0
    transcripts: int = 0
    notes: list[str] = field(default_factory=list)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


# --- the service process, seen from /proc ------------------------------------------------------


def tick_cpu_s(pid: int) -> float:
    """utime + stime of ``pid`` (all its threads, exited ones included; children not), from
    /proc/<pid>/stat. Some kernels only sample these at the timer tick: a process that runs in
    short bursts (a fake agent waking ten times a second) can be charged nothing at all."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) * CLOCK_TICK_S


def thread_cpu_s(pid: int) -> dict[int, float]:
    """Each live thread's exact run time so far (``/proc/<pid>/task/<tid>/schedstat``, the
    scheduler's nanoseconds); empty where the kernel has no schedstat."""
    out: dict[int, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError, ValueError, IndexError):
            out[int(task.name)] = int((task / "schedstat").read_text().split()[0]) / 1e9
    return out


@dataclass(frozen=True)
class CpuSample:
    ticks: float
    threads: dict[int, float]

    @classmethod
    def of(cls, pid: int) -> CpuSample:
        return cls(tick_cpu_s(pid), thread_cpu_s(pid))

    def until(self, later: CpuSample) -> tuple[float, str | None]:
        """CPU seconds from this sample to ``later``, and a caveat when there is one.

        The scheduler's exact per-thread times, summed over the threads alive at the end (a
        thread born meanwhile counts from zero); a thread that ended meanwhile takes its time
        with it, so then, or without schedstat, the tick-sampled total is used instead."""
        ticks = later.ticks - self.ticks
        if not later.threads:
            return ticks, "no schedstat: CPU from tick-sampled /proc/<pid>/stat"
        if set(self.threads) - set(later.threads):
            return ticks, "threads ended in the window: CPU from tick-sampled /proc/<pid>/stat"
        exact = sum(t - self.threads.get(tid, 0.0) for tid, t in later.threads.items())
        return exact, None


def process_status_mb(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(key)


def _cpu_of(pids: Sequence[int]) -> float:
    """Exact CPU seconds of these single-threaded processes together (exited ones count 0)."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9
    return total


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all cores, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


# --- the fake agents' counters -----------------------------------------------------------------


@dataclass(frozen=True)
class AgentStats:
    identifier: str
    pid: int
    initialize_ns: int
    first_turn_start_ns: int
    turn_starts: int
    notifications_sent: int
    notifications_read: int  # by the service, out of the agent's stdout pipe


def read_agent_stats(workspaces: Path) -> dict[str, AgentStats]:
    out: dict[str, AgentStats] = {}
    for path in workspaces.glob(f"*/{STATS_FILE}"):
        try:
            data = path.read_bytes()[: STATS_LAYOUT.size]
        except OSError:  # a workspace being removed
            continue
        if len(data) < STATS_LAYOUT.size:
            continue
        magic, pid, init_ns, first_turn, _last, turns, _lines, sent, *_, read = STATS_LAYOUT.unpack(
            data
        )
        if magic != b"FAKEAPP1":
            continue
        out[path.parent.name] = AgentStats(
            path.parent.name, pid, init_ns, first_turn, turns, sent, read
        )
    return out


# --- the fake Linear, in its own process -------------------------------------------------------


class FakeLinearProcess:
    def __init__(self, api_key: str, log: TextIO) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.fake_linear_process", "--api-key", api_key],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        hello = self._read()
        self.url: str = hello["url"]
        self.project_slug: str = hello["project_slug"]

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the fake Linear process exited; see its log")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"fake Linear: {answer['error']}")
        return answer

    def command(self, cmd: str, **args: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"cmd": cmd, **args}) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def add(self, count: int, title: str) -> list[str]:
        description = (
            "Steps to reproduce, expected and actual behaviour, and the logs attached by the "
            "reporter. The fix should come with a regression test."
        )
        answer = self.command("add", count=count, title=title, description=description)
        return list(answer["identifiers"])

    def close(self) -> None:
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# --- a dashboard-like client -------------------------------------------------------------------


class StatePoller(threading.Thread):
    """``GET /api/v1/state`` every STATE_POLL_S on one keep-alive connection; each latency is
    from sending the request to having read the whole body."""

    def __init__(self, url: str, token: str) -> None:
        super().__init__(name="state-poller", daemon=True)
        parts = url.split("//", 1)[1].split("/", 1)[0]
        host, _, port = parts.partition(":")
        self.host, self.port = host, int(port or 80)
        self.token = token
        self.latencies_ms: list[float] = []
        self.sizes: list[int] = []
        self.errors: list[str] = []
        self.stop_event = threading.Event()

    def run(self) -> None:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        next_at = time.monotonic()
        while not self.stop_event.is_set():
            start = time.perf_counter()
            try:
                conn.request("GET", "/api/v1/state", headers=headers)
                response = conn.getresponse()
                body = response.read()
                elapsed = (time.perf_counter() - start) * 1000
                if response.status == 200:
                    self.latencies_ms.append(elapsed)
                    self.sizes.append(len(body))
                else:
                    self.errors.append(f"HTTP {response.status}")
            except (OSError, http.client.HTTPException) as exc:
                self.errors.append(f"{type(exc).__name__}: {exc}")
                conn.close()
                conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            next_at += STATE_POLL_S
            self.stop_event.wait(max(0.0, next_at - time.monotonic()))
        conn.close()


# --- one run: one scenario against one symphony ------------------------------------------------


WORKFLOW = """---
tracker:
  kind: linear
  provider:
    project_slug: {project_slug}
    api_key: $LINEAR_API_KEY
    endpoint: {endpoint}
  active_states: [Todo, In Progress]
  terminal_states: [Done, Canceled, Duplicate]
polling:
  interval_ms: {poll_ms}
workspace:
  root: {workspaces}
agent:
{agent_kind}  max_concurrent_agents: {max_agents}
  max_turns: 20
{backend}:
  command: {command}
  read_timeout_ms: 60000
  stall_timeout_ms: 0
{backend_extra}server:
  access_token: $SYMPHONY_BENCH_ACCESS_TOKEN
---
You are working on the Linear issue `{{{{ issue.identifier }}}}`: {{{{ issue.title }}}}.
{{% if attempt %}}This is attempt #{{{{ attempt }}}}; resume from the workspace.{{% endif %}}

State: {{{{ issue.state }}}}. Labels: {{{{ issue.labels | join: ", " }}}}.

{{{{ issue.description }}}}

Work only inside the current directory, run the tests, and report what you changed.
"""


def wait_for(
    predicate: Callable[[], bool], timeout_s: float, what: str, period_s: float = 0.05
) -> float:
    """Seconds until ``predicate()``; raises TimeoutError naming ``what``."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout_s:
            raise TimeoutError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(period_s)
    return time.monotonic() - start


class Run:
    def __init__(
        self, scenario: Scenario, target: Target, fake_agent: Path, tmp: Path, verbose: bool
    ) -> None:
        self.scenario = scenario
        self.target = target
        self.fake_agent = fake_agent
        self.root = Path(tempfile.mkdtemp(prefix=f"run-{scenario.name}-", dir=tmp))
        self.workspaces = self.root / "workspaces"
        self.logs = self.root / "logs"
        self.verbose = verbose
        self.linear_key = "lin_api_" + secrets.token_hex(20)
        self.access_token = "bench-" + secrets.token_urlsafe(24)
        self.result = RunResult(scenario.name, target.label)
        self.service: subprocess.Popen[bytes] | None = None
        self.output = self.root / "service.out"

    def say(self, text: str) -> None:
        if self.verbose:
            print(f"    [{self.scenario.name} {self.target.label}] {text}", file=sys.stderr)

    def run(self) -> RunResult:
        linear_log = (self.root / "fake-linear.log").open("w")
        linear = FakeLinearProcess(self.linear_key, linear_log)
        try:
            self._run(linear)
        except (RuntimeError, TimeoutError, OSError) as exc:
            # What was measured before the failure is kept; the note says what went wrong.
            self.result.notes.append(f"failed: {exc}")
            self.say(f"failed: {exc}\n{self.tail()}")
        finally:
            self._stop_service()
            linear.close()
            linear_log.close()
        self._check_secrets()
        return self.result

    def _env(self) -> dict[str, str]:
        home = self.root / "home"  # an empty login profile for every `bash -lc`
        home.mkdir(exist_ok=True)
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("VIRTUAL_ENV", "PYTHON", "LINEAR_", "SYMPHONY_", "CODEX_"))
        }
        env.update(
            HOME=str(home),
            CODEX_HOME=str(home / ".codex"),
            LINEAR_API_KEY=self.linear_key,
            SYMPHONY_BENCH_ACCESS_TOKEN=self.access_token,
        )
        return env

    def _write_workflow(self, linear: FakeLinearProcess) -> Path:
        leak_file = self.root / "secrets.txt"  # what a careless agent prints: see the fake
        leak_file.write_text(f"{self.linear_key}\n{self.access_token}\n")
        agent = self.target.agent
        command = (
            f"exec {self.fake_agent} --dialect {DIALECTS[agent]} --rate {self.scenario.rate:g} "
            f"--turn-seconds 3600 --leak-file {leak_file}"
        )
        workflow = self.root / "WORKFLOW.md"
        workflow.write_text(
            WORKFLOW.format(
                project_slug=json.dumps(linear.project_slug),
                endpoint=json.dumps(linear.url),
                poll_ms=self.scenario.poll_ms,
                workspaces=json.dumps(str(self.workspaces)),
                max_agents=self.scenario.agents + 10,
                command=json.dumps(command),
                # Only keys the baseline's config knows when the agent is codex (the default).
                agent_kind="" if agent == "codex" else f"  kind: {agent}\n",
                backend=agent,
                # The fake cannot be sandboxed and needs no sandbox: it runs nothing.
                backend_extra="  sandbox: false\n" if agent == "claude_code" else "",
            )
        )
        return workflow

    def _start_service(self, workflow: Path) -> str:
        out = self.output.open("wb")
        self.service = subprocess.Popen(
            [
                str(self.target.symphony),
                str(workflow),
                "--port",
                "0",
                "--logs-root",
                str(self.logs),
            ],
            cwd=self.root,
            env=self._env(),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        out.close()
        url: list[str] = []

        def started() -> bool:
            assert self.service is not None
            if self.service.poll() is not None:
                raise RuntimeError(
                    f"symphony exited with {self.service.returncode}:\n{self.tail()}"
                )
            match = DASHBOARD_LINE.search(self.output.read_text(errors="replace"))
            if match:
                url.append(match.group(1))
            return bool(url)

        wait_for(started, 60, "the dashboard URL", 0.02)
        return url[0]

    def tail(self, lines: int = 15) -> str:
        text = self.output.read_text(errors="replace") if self.output.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def _run(self, linear: FakeLinearProcess) -> None:
        scenario = self.scenario
        figures = self.result.figures
        linear.add(scenario.agents, "Load issue")
        workflow = self._write_workflow(linear)
        started_at = time.monotonic()
        url = self._start_service(workflow)
        assert self.service is not None
        pid = self.service.pid
        self.say(f"pid {pid}, {url}")

        def all_turning() -> bool:
            agents = read_agent_stats(self.workspaces)
            return sum(1 for a in agents.values() if a.turn_starts > 0) >= scenario.agents

        try:
            wait_for(all_turning, 120 + scenario.agents * 0.5, "every agent's turn/start", 0.2)
        except TimeoutError as exc:
            raise RuntimeError(f"{exc}; service output:\n{self.tail()}") from None
        figures["ramp_s"] = time.monotonic() - started_at
        self.say(f"{scenario.agents} agents in their turn after {figures['ramp_s']:.1f} s")
        time.sleep(scenario.settle_s)
        self._window(pid, url, linear)
        if scenario.probes:
            self._probes(linear)
        figures["peak_rss_mb"] = process_status_mb(pid, "VmHWM")
        status = linear.command("stats")
        if status["rejected"]:
            self.result.notes.append(f"fake Linear rejected requests: {status['rejections']}")

    def _window(self, pid: int, url: str, linear: FakeLinearProcess) -> None:
        """The steady window: the service's CPU against the agent events it read meanwhile
        (the fake agents' own counters), its RSS each second, and a dashboard-like client."""
        scenario = self.scenario
        figures = self.result.figures
        poller = StatePoller(url, self.access_token)
        agents0 = read_agent_stats(self.workspaces)
        pids = [a.pid for a in agents0.values()]
        cpu0, linear0 = CpuSample.of(pid), CpuSample.of(linear.proc.pid)
        fakes0, machine0 = _cpu_of(pids), machine_jiffies()
        wall0 = time.monotonic()
        poller.start()
        rss: list[float] = []
        while time.monotonic() - wall0 < scenario.window_s:
            time.sleep(min(1.0, max(0.0, scenario.window_s - (time.monotonic() - wall0))))
            rss.append(process_status_mb(pid, "VmRSS"))
        cpu1, linear1 = CpuSample.of(pid), CpuSample.of(linear.proc.pid)
        fakes1, machine1 = _cpu_of(pids), machine_jiffies()
        wall1 = time.monotonic()
        agents1 = read_agent_stats(self.workspaces)
        poller.stop_event.set()
        poller.join(timeout=60)
        wall = wall1 - wall0
        events = sum(a.notifications_read for a in agents1.values()) - sum(
            a.notifications_read for a in agents0.values()
        )
        sent = sum(a.notifications_sent for a in agents1.values()) - sum(
            a.notifications_sent for a in agents0.values()
        )
        cpu, caveat = cpu0.until(cpu1)
        if caveat is not None:
            self.result.notes.append(caveat)
        figures["events_per_s"] = events / wall
        figures["cpu_percent"] = cpu / wall * 100
        figures["cpu_ms_per_1k"] = cpu * 1000 / events * 1000 if events else float("nan")
        # Each agent updates its count when it writes, so its latest line always looks unread.
        figures["backlog_events"] = sum(
            max(0, a.notifications_sent - a.notifications_read - 1) for a in agents1.values()
        )
        figures["rss_mean_mb"] = statistics.fmean(rss)
        figures["fakes_cpu_percent"] = (fakes1 - fakes0) / wall * 100
        figures["linear_cpu_percent"] = linear0.until(linear1)[0] / wall * 100
        busy, total = machine1[0] - machine0[0], machine1[1] - machine0[1]
        figures["machine_busy_percent"] = busy / total * 100 if total else float("nan")
        if poller.latencies_ms:
            figures["state_p50_ms"] = statistics.median(poller.latencies_ms)
            figures["state_p90_ms"] = percentile(poller.latencies_ms, 90)
            figures["state_kb"] = statistics.fmean(poller.sizes) / 1024
        expected = scenario.window_s / STATE_POLL_S
        if len(poller.latencies_ms) < 0.8 * expected:
            self.result.notes.append(
                f"only {len(poller.latencies_ms)} of ~{expected:.0f} state requests answered"
            )
        if poller.errors:
            self.result.notes.append(f"state errors: {poller.errors[:3]}")
        nominal = scenario.agents * scenario.rate
        if events < 0.95 * sent or sent < 0.95 * nominal * wall:
            self.result.notes.append(
                f"the service read {events / wall:.0f} events/s of the {sent / wall:.0f} sent "
                f"({nominal:.0f} nominal): it did not keep up, agents waited on full pipes"
            )
        self.say(
            f"window {wall:.1f} s: {figures['events_per_s']:.0f} events/s read "
            f"({sent / wall:.0f} sent), {figures['cpu_percent']:.1f} % CPU, "
            f"{figures['cpu_ms_per_1k']:.1f} ms/1k events"
        )

    def _probes(self, linear: FakeLinearProcess) -> None:
        """New issues while the load runs, one at a time: fake Linear's answer that first held
        the issue -> its agent receiving turn/start; and that agent's initialize -> turn/start.
        Each probe is moved to Done and its agent seen gone before the next, so every sample is
        a dispatch of its own and the load stays what it was."""
        dispatch: list[float] = []
        handshake: list[float] = []
        poll_s = self.scenario.poll_ms / 1000
        for n in range(self.scenario.probes):
            (probe,) = linear.add(1, f"Probe {n}")

            def turning(probe: str = probe) -> bool:
                agent = read_agent_stats(self.workspaces).get(probe)
                return agent is not None and agent.turn_starts > 0

            wait_for(turning, poll_s + 120, f"{probe}'s turn/start")
            agent = read_agent_stats(self.workspaces)[probe]
            answered = linear.command("first_seen", identifiers=[probe]).get(probe)
            if answered is not None:
                dispatch.append((agent.first_turn_start_ns / 1e9 - answered) * 1000)
            handshake.append((agent.first_turn_start_ns - agent.initialize_ns) / 1e6)
            linear.command("move", identifiers=[probe], state="Done")
            gone = lambda pid=agent.pid: not _alive(pid)  # noqa: E731
            wait_for(gone, poll_s + 120, f"{probe}'s agent to stop")
        figures = self.result.figures
        if dispatch:
            figures["dispatch_p50_ms"] = statistics.median(dispatch)
            figures["dispatch_p90_ms"] = percentile(dispatch, 90)
        figures["handshake_p50_ms"] = statistics.median(handshake)
        self.say(
            "probes: tracker -> turn/start "
            + " ".join(f"{v:.0f}" for v in sorted(dispatch))
            + " ms; initialize -> turn/start "
            + " ".join(f"{v:.1f}" for v in sorted(handshake))
            + " ms"
        )

    def _stop_service(self) -> None:
        if self.service is None:
            return
        start = time.monotonic()
        if self.service.poll() is None:
            self.service.send_signal(signal.SIGTERM)
        try:
            self.service.wait(timeout=120)
            self.result.figures["stop_s"] = time.monotonic() - start
        except subprocess.TimeoutExpired:
            self.result.notes.append("symphony did not stop within 120 s of SIGTERM; killed")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.service.pid, signal.SIGKILL)
            self.service.wait()
        # Agents exit when their stdin closes; any survivor is reported, not left behind.
        survivors = [a for a in read_agent_stats(self.workspaces).values() if _alive(a.pid)]
        for agent in survivors:
            with contextlib.suppress(ProcessLookupError):
                os.kill(agent.pid, signal.SIGKILL)
        if survivors:
            self.result.notes.append(f"{len(survivors)} fake agents outlived the service")

    def _check_secrets(self) -> None:
        """No registered secret and no token-shaped string in any transcript or log file."""
        needles = {
            "LINEAR_API_KEY": self.linear_key.encode(),
            "server.access_token": self.access_token.encode(),
        }
        found: set[str] = set()
        for path in _files(self.logs):
            data = path.read_bytes()
            if "agents" in path.parts:
                self.result.transcripts += 1
                self.result.redactions += data.count(REDACTED)
            for name, needle in needles.items():
                if needle in data:
                    found.add(f"{name} in {path.relative_to(self.logs)}")
            if GITHUB_TOKEN.search(data):
                found.add(f"a ghp_ token in {path.relative_to(self.logs)}")
        self.result.secrets_found = sorted(found)


def _files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            yield path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie or a reused pid is not one of ours still running.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


# --- the previous release, installed beside this one -------------------------------------------


def git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@contextlib.contextmanager
def baseline_install(rev: str, keep_dir: Path | None) -> Iterator[Target]:
    """REV checked out in a git worktree and installed (``pip install -e``) in its own venv.

    Temporary unless ``keep_dir`` is given, in which case it is reused by later runs."""
    sha = git("rev-parse", "--verify", f"{rev}^{{commit}}")
    base = keep_dir if keep_dir is not None else Path(tempfile.mkdtemp(prefix="symphony-baseline-"))
    base.mkdir(parents=True, exist_ok=True)
    checkout, venv = base / f"src-{sha[:12]}", base / f"venv-{sha[:12]}"
    installed = venv / ".bench-installed"
    try:
        if not installed.exists():
            print(f"installing baseline {rev} ({sha[:12]}) into {base}", file=sys.stderr)
            if not checkout.exists():
                git("worktree", "add", "--detach", str(checkout), sha)
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
            pip = [str(venv / "bin" / "python"), "-m", "pip", "install"]
            pip += ["--disable-pip-version-check", "-e", str(checkout)]
            log = base / "pip-install.log"
            with log.open("w") as out:  # pip's own cache supplies the wheels
                done = subprocess.run(pip, stdout=out, stderr=subprocess.STDOUT, check=False)
            if done.returncode != 0:
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
                raise SystemExit(f"pip could not install {rev} (log: {log}):\n{tail}")
            installed.touch()
        yield Target(f"baseline {rev}", venv / "bin" / "symphony")
    finally:
        if keep_dir is None:
            with contextlib.suppress(subprocess.CalledProcessError):
                git("worktree", "remove", "--force", str(checkout))
            shutil.rmtree(base, ignore_errors=True)
            with contextlib.suppress(subprocess.CalledProcessError):
                git("worktree", "prune")


def current_target() -> Target:
    symphony = ROOT / ".venv" / "bin" / "symphony"
    if not symphony.exists():
        raise SystemExit(f"{symphony} is missing: run scripts/setup")
    label = "current " + git("rev-parse", "--short", "HEAD")
    if git("status", "--porcelain", "--untracked-files=no"):
        label += "+"  # uncommitted changes
    return Target(label, symphony)


def build_fake_agent(tmp: Path) -> Path:
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise SystemExit("a C compiler (cc) is needed for the fake agent")
    binary = tmp / "fake_app_server"
    subprocess.run([compiler, "-O2", "-o", str(binary), str(FAKE_SOURCE)], check=True)
    return binary


# --- the table ---------------------------------------------------------------------------------


def median_of(results: list[RunResult], key: str) -> float | None:
    values = [
        r.figures[key] for r in results if key in r.figures and not math.isnan(r.figures[key])
    ]
    return statistics.median(values) if values else None


def render(scenario: Scenario, targets: list[Target], results: list[RunResult], runs: int) -> str:
    by_target = {t.label: [r for r in results if r.target == t.label] for t in targets}
    head = f"{scenario.name}: {scenario.describe()}, window {scenario.window_s:g} s"
    head += f", {runs} run{'s' if runs > 1 else ''} each (medians)" if runs > 1 else ""
    width = max(len(f.label) for f in FIGURES) + 2
    columns = [t.label for t in targets]
    lines = [head, f"  {'':{width}}{'target':>16}" + "".join(f"{c:>{COLUMN}}" for c in columns)]
    # Ratios to the first column: current / baseline, or each backend / the first backend.
    ratio_heads = [
        "cur/base" if t.agent == targets[0].agent else f"/{targets[0].agent}" for t in targets[1:]
    ]
    lines[-1] += "".join(f"{h:>10}" for h in ratio_heads)
    for figure in FIGURES:
        values = [median_of(by_target[t.label], figure.key) for t in targets]
        if all(v is None for v in values):
            continue
        texts = ["-" if v is None else f"{v:.{figure.digits}f}" for v in values]
        cells = "".join(f"{text:>{COLUMN}}" for text in texts)
        target = figure.targets.get(scenario.name, "")
        line = f"  {figure.label:{width}}{target:>16}{cells}"
        for value in values[1 : len(ratio_heads) + 1]:
            ratio = f"{value / values[0]:.2f}" if values[0] and value is not None else "-"
            line += f"{ratio:>10}"
        lines.append(line)
    secret_cells = []
    for t in targets:
        runs_for = by_target[t.label]
        leaked = sorted({s for r in runs_for for s in r.secrets_found})
        redacted = sum(r.redactions for r in runs_for)
        secret_cells.append("LEAKED" if leaked else f"none ({redacted} redacted)")
    lines.append(
        f"  {'secrets in transcripts':{width}}{'none':>16}"
        + "".join(f"{c:>{COLUMN}}" for c in secret_cells)
    )
    for r in results:
        for secret in r.secrets_found:
            lines.append(f"  ! {r.target}: {secret}")
        for note in r.notes:
            lines.append(f"  ! {r.target}: {note}")
    return "\n".join(lines)


def show(path: Path) -> None:
    saved = json.loads(path.read_text())
    agents = saved.get("agents") or ["codex"] * len(saved["targets"])
    targets = [Target(label, Path(), a) for label, a in zip(saved["targets"], agents, strict=True)]
    results = [RunResult(**run) for run in saved["runs"]]
    for fields in saved["scenarios"]:
        scenario = Scenario(**fields)
        mine = [r for r in results if r.scenario == scenario.name]
        runs = max(sum(1 for r in mine if r.target == t.label) for t in targets)
        print(render(scenario, targets, mine, runs), end="\n\n")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--scenario",
        action="append",
        choices=sorted(SCENARIOS),
        help="run only these (repeatable; default: all four)",
    )
    parser.add_argument("--quick", action="store_true", help="10 s windows, 4 probes, 1 run")
    parser.add_argument("--runs", type=int, help="runs per scenario and target (default 2)")
    parser.add_argument("--window", type=float, help="override the steady window (s)")
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, metavar="REV")
    parser.add_argument("--no-baseline", action="store_true", help="measure this tree only")
    parser.add_argument(
        "--baseline-dir",
        type=Path,
        help="install the baseline here and keep it for later runs (default: temporary)",
    )
    parser.add_argument("--json", type=Path, help="also write every run's figures here")
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="keep each run's directory (workflow, service output, logs, transcripts) under DIR",
    )
    parser.add_argument(
        "--agent",
        action="append",
        choices=sorted(DIALECTS),
        help="agent backends to compare on the current tree, same fake work and event rate "
        "(repeatable; default: codex). With more than one, the baseline is left out",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no per-run progress")
    parser.add_argument(
        "--show", type=Path, metavar="FILE", help="print the tables of a --json file; run nothing"
    )
    args = parser.parse_args()
    if args.show is not None:
        show(args.show)
        return

    names = args.scenario or list(SCENARIOS)
    scenarios = [quick(SCENARIOS[n]) if args.quick else SCENARIOS[n] for n in names]
    if args.window:
        scenarios = [replace(s, window_s=args.window) for s in scenarios]
    runs = args.runs or (1 if args.quick else 2)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:  # three pipes and a transcript per agent: inherited by the service
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="symphony-bench-")))
        fake_agent = build_fake_agent(tmp)
        runs_dir = tmp
        if args.keep is not None:
            args.keep.mkdir(parents=True, exist_ok=True)
            runs_dir = args.keep
        agents = args.agent or ["codex"]
        current = current_target()
        # Backends side by side: the column says which (all run the current tree).
        targets = [replace(current, label=a, agent=a) for a in agents]
        if len(agents) == 1:
            targets = [current] if agents == ["codex"] else targets
        if not args.no_baseline and agents == ["codex"]:
            baseline = stack.enter_context(baseline_install(args.baseline, args.baseline_dir))
            targets.insert(0, baseline)
        results: list[RunResult] = []
        for done, scenario in enumerate(scenarios):
            print(f"== {scenario.name}: {scenario.describe()}", file=sys.stderr, flush=True)
            mine: list[RunResult] = []
            for n in range(runs):
                for target in targets:  # interleaved: baseline, current, baseline, current
                    if not args.quiet:
                        print(f"  run {n + 1}/{runs}: {target.label}", file=sys.stderr, flush=True)
                    run = Run(scenario, target, fake_agent, runs_dir, not args.quiet)
                    try:
                        mine.append(run.run())
                    finally:
                        if args.keep is None:
                            shutil.rmtree(run.root, ignore_errors=True)
            results.extend(mine)
            print(render(scenario, targets, mine, runs), end="\n\n", flush=True)
            if args.json is not None:  # after every scenario, so a long run keeps what it has
                payload = {
                    "targets": [t.label for t in targets],
                    "agents": [t.agent for t in targets],
                    "scenarios": [s.__dict__ for s in scenarios[: done + 1]],
                    "runs": [r.__dict__ for r in results],
                }
                args.json.write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
