"""Instant dispatch: how long from a tracker change to the agent's first ``turn/start``.

Two paths, each through the real ``symphony`` service process with the poll 10 minutes away
(so only the instant path can be measured):

* **Linear webhook**: the schema-checked fake Linear (``tests/support/fake_linear.py``) holds
  the issue; the clock starts just before a signed ``POST /api/v1/webhooks/linear`` about a new
  issue is sent. Targets: p50 < 100 ms, p99 < 300 ms.
* **Local board**: the clock starts just before the real ``symphony board add`` CLI process is
  spawned. Target: p50 < 300 ms. Two more lines split it: the CLI process on its own (spawn to
  exit), and the same write made by this script's process with the board's own store (what
  the service adds once the write lands, without the CLI's interpreter start-up).

``turn/start`` is the moment the agent process receives the ``turn/start`` request: the agent is
``bench/turn_stamp_app_server.py``, which reads ``CLOCK_MONOTONIC`` (``time.monotonic()``) as soon
as the request's line arrives and appends it to a file; this script reads the same clock, so the
two are comparable across processes. Everything in between is real: HTTP, signature check,
targeted read of the issue by id over HTTP, dispatch, workspace creation, prompt rendering,
``bash -lc`` launching the agent, and the app-server handshake. Prints figures; not pass/fail.

Run: ``.venv/bin/python bench/instant_dispatch.py [--webhooks 50] [--adds 20]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.fake_linear import FakeLinear, load_linear_schema, schema_available
from tests.support.linear_webhooks import deliver, issue_payload

from symphony.trackers.local.locate import open_workflow_board
from symphony.trackers.local.records import NewIssue

ROOT = Path(__file__).resolve().parents[1]
STAMP_SERVER = Path(__file__).with_name("turn_stamp_app_server.py")
SYMPHONY = Path(sys.executable).parent / "symphony"
DASHBOARD = re.compile(r"symphony: dashboard at (http://\S+)")
SECRET = "lin_wh_benchSECRET0123456789abcdef"
T = TypeVar("T")


def until(check: Callable[[], T | None], limit_s: float, what: str) -> T:
    """Poll ``check`` every millisecond until it returns something, for at most ``limit_s``."""
    deadline = time.monotonic() + limit_s
    while True:
        found = check()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {limit_s:g} s waiting for {what}")
        time.sleep(0.001)


class Stamps:
    """The ``turn/start`` stamps the agents write: workspace name -> monotonic seconds."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.touch()

    def of(self, workspace: str) -> float | None:
        for line in self.path.read_text(encoding="utf-8").splitlines():
            name, _, at = line.partition(" ")
            if name == workspace:
                return float(at)
        return None


def workflow(tracker: dict[str, Any], root: Path, stamps: Path, agents: int) -> str:
    command = f"exec {sys.executable} -S {STAMP_SERVER} {stamps}"
    front = {
        "tracker": tracker,
        "polling": {"interval_ms": 600_000},
        "workspace": {"root": str(root / "workspaces")},
        "agent": {"max_concurrent_agents": agents, "max_turns": 1},
        "codex": {"command": command, "read_timeout_ms": 30_000, "stall_timeout_ms": 0},
    }
    return f"---\n{json.dumps(front, indent=1)}\n---\nWork on {{{{ issue.identifier }}}}.\n"


@contextmanager
def service(root: Path, env: dict[str, str]) -> Iterator[str]:
    """The real service on a free port; yields its URL once its first poll is done."""
    # Its output goes to a file: a pipe nobody drains would fill and block the service.
    output = root / "service-output.txt"
    with output.open("w") as sink:
        process = subprocess.Popen(
            [str(SYMPHONY), "WORKFLOW.md", "--port", "0", "--logs-root", str(root / "logs")],
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def dashboard() -> str | None:
        if process.poll() is not None:
            raise SystemExit(
                f"the service exited (code {process.returncode}):\n{output.read_text()}"
            )
        match = DASHBOARD.search(output.read_text(encoding="utf-8"))
        return match.group(1).rstrip("/") + "/" if match else None

    try:
        url = until(dashboard, 30, "the service to serve")
        with httpx.Client(base_url=url, timeout=10) as client:
            until(
                lambda: client.get("api/v1/state").json()["tracker"]["last_poll_at"],
                30,
                "the first poll",
            )
        yield url
    except BaseException:
        log = root / "logs" / "symphony.log"
        if log.exists():  # what the service saw, for the failure message
            tail = log.read_text(encoding="utf-8").splitlines()[-25:]
            print("\n".join(["service log tail:", *tail]), file=sys.stderr)
        raise
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def describe(values: list[float]) -> str:
    return (
        f"p50 {statistics.median(values):6.1f}  p99 {percentile(values, 0.99):6.1f}  "
        f"min {min(values):6.1f}  max {max(values):6.1f} ms  (n={len(values)})"
    )


def base_env(tmp: Path) -> dict[str, str]:
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINEAR_", "OPENAI_"))}
    env.update(HOME=str(home), PYTHONUNBUFFERED="1")  # an empty login profile for `bash -lc`
    return env


def bench_webhooks(tmp: Path, count: int) -> tuple[float, list[float]]:
    root = tmp / "linear"
    root.mkdir()
    stamps = Stamps(root / "stamps.txt")
    linear = FakeLinear(schema=load_linear_schema()).start()
    try:
        tracker = {
            "kind": "linear",
            "provider": {
                "endpoint": linear.url,
                "project_slug": linear.project_slug,
                "api_key": "$LINEAR_API_KEY",
                "webhook_secret": "$LINEAR_WEBHOOK_SECRET",
            },
        }
        (root / "WORKFLOW.md").write_text(workflow(tracker, root, stamps.path, count + 5))
        env = base_env(tmp)
        env.update(LINEAR_API_KEY=linear.api_key or "", LINEAR_WEBHOOK_SECRET=SECRET)
        with service(root, env) as url, httpx.Client(base_url=url, timeout=10) as client:

            def one() -> float:
                issue = linear.add_issue(f"Bench {uuid.uuid4().hex[:8]}")
                delivery = deliver(SECRET, issue_payload(linear, issue, action="create"))
                sent = time.monotonic()
                response = client.post(
                    "api/v1/webhooks/linear", content=delivery.body, headers=delivery.headers
                )
                if response.status_code != 202:
                    raise SystemExit(f"webhook answered {response.status_code}: {response.text}")
                at = until(lambda: stamps.of(issue.identifier), 30, f"{issue.identifier}'s turn")
                return (at - sent) * 1000

            first = one()  # also resolves the project's id once (one extra Linear request)
            return first, [one() for _ in range(count)]
    finally:
        linear.stop()


def bench_board(tmp: Path, count: int) -> tuple[list[float], list[float], list[float]]:
    root = tmp / "local"
    root.mkdir()
    stamps = Stamps(root / "stamps.txt")
    (root / "WORKFLOW.md").write_text(workflow({"kind": "local"}, root, stamps.path, 2 * count + 5))
    turns: list[float] = []
    cli: list[float] = []
    direct: list[float] = []
    env = base_env(tmp)
    with service(root, env):
        for n in range(count):
            argv = [str(SYMPHONY), "board", "--workflow", str(root / "WORKFLOW.md"), "--json"]
            started = time.monotonic()
            added = subprocess.run(
                [*argv, "add", f"Bench {n}"],
                env=env,
                capture_output=True,
                text=True,
                check=True,
                timeout=60,
            )
            cli.append((time.monotonic() - started) * 1000)
            identifier = json.loads(added.stdout)["identifier"]
            at = until(lambda: stamps.of(identifier), 30, f"{identifier}'s turn")  # noqa: B023
            turns.append((at - started) * 1000)
        store = open_workflow_board(root / "WORKFLOW.md", env)
        try:
            for n in range(count):
                started = time.monotonic()
                record = store.create(NewIssue(title=f"Direct {n}"), actor="bench")
                at = until(lambda: stamps.of(record.identifier), 30, "a direct write's turn")  # noqa: B023
                direct.append((at - started) * 1000)
        finally:
            store.close()
    return turns, cli, direct


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--webhooks", type=int, default=50, help="webhook samples")
    parser.add_argument("--adds", type=int, default=20, help="`symphony board add` samples")
    args = parser.parse_args()
    if not schema_available():
        raise SystemExit("Linear's published schema (../shared/schemas/linear.graphql) is missing")
    with tempfile.TemporaryDirectory(prefix="symphony-bench-") as name:
        tmp = Path(name)
        first, webhook = bench_webhooks(tmp, args.webhooks)
        turns, cli, direct = bench_board(tmp, args.adds)
    print("instant dispatch, real service process, poll 10 min away, agent = turn stamp server")
    print(f"  signed webhook -> turn/start        {describe(webhook)}")
    print("                                      (targets: p50 < 100 ms, p99 < 300 ms)")
    print(f"  first webhook (+ project id lookup) {first:6.1f} ms")
    print(f"  symphony board add -> turn/start    {describe(turns)}")
    print("                                      (target: p50 < 300 ms)")
    print(f"  symphony board add process alone    {describe(cli)}")
    print(f"  board write, no CLI -> turn/start   {describe(direct)}")


if __name__ == "__main__":
    main()
