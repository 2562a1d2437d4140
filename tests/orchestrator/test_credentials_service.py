"""A newcomer's first run without Codex credentials, through the real `symphony` service.

The local board, a clean HOME with no ``~/.codex/auth.json``, the example workflow's
``${SYMPHONY_CODEX_BIN:-codex} app-server`` command. The credentials message must show once, as
the agent problem (API and one log warning, no traceback, codex never launched), the issue wait
in the retry queue pointing at it, and all of it recover by itself once ``codex login`` has
stored credentials.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.agents.conftest import FAKE_CODEX
from tests.support.waiting import WaitTimedOut, wait_until_sync

MESSAGE = "Codex has no credentials: run `codex login`"
DASHBOARD = re.compile(r"dashboard at (http://127\.0\.0\.1:\d+)/")
WAIT_S = 30.0


@dataclass
class Service:
    process: subprocess.Popen[str]
    lines: queue.Queue[str] = field(default_factory=queue.Queue)
    output: list[str] = field(default_factory=list)
    url: str = ""
    reader: threading.Thread | None = None

    def stop(self) -> int:
        """SIGTERM, wait for the exit and for the whole output to be read."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=WAIT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.reader is not None:
            self.reader.join(timeout=WAIT_S)
        return self.process.returncode

    def read_until(self, pattern: re.Pattern[str]) -> re.Match[str]:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                assert self.process.poll() is None, "".join(self.output)
                continue
            match = pattern.search(line)
            if match:
                return match
        raise AssertionError(f"no line matched {pattern.pattern!r}:\n{''.join(self.output)}")

    def get(self, path: str) -> dict[str, Any]:
        response = httpx.get(self.url + path, timeout=5)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def wait_for(self, what: str, probe: Callable[[], Any]) -> Any:
        try:
            return wait_until_sync(probe, what, timeout=WAIT_S)
        except WaitTimedOut as exc:
            raise WaitTimedOut(f"{exc}:\n{''.join(self.output)}") from None


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """WORKFLOW.md on the local board, a `codex` that is really the fake app-server."""
    log = tmp_path / "fake-codex-log.jsonl"
    scenario = tmp_path / "scenario.json"
    # The turn starts (codex answers turn/start) and goes on until the service stops it.
    turn = [{"respond": {"turn": {"id": "turn-1"}}}, {"sleep": 600}]
    scenario.write_text(json.dumps({"turn/start": [turn]}))
    codex = tmp_path / "bin" / "codex"
    codex.parent.mkdir()
    codex.write_text(f"#!/bin/sh\nexec {sys.executable} {FAKE_CODEX} {scenario} {log}\n")
    codex.chmod(0o755)
    (tmp_path / "home").mkdir()
    (tmp_path / "WORKFLOW.md").write_text(
        """---
tracker:
  kind: local
polling:
  interval_ms: 60000
workspace:
  root: .symphony/workspaces
agent:
  max_retry_backoff_ms: 300
codex:
  command: "${SYMPHONY_CODEX_BIN:-codex} app-server"
---
Work on {{ issue.identifier }}.
"""
    )
    return tmp_path


def clean_env(project: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("CODEX_HOME", "OPENAI_API_KEY", "CODEX_API_KEY")
    }
    env["HOME"] = str(project / "home")
    env["SYMPHONY_CODEX_BIN"] = str(project / "bin" / "codex")
    return env


@pytest.fixture
def service(project: Path) -> Iterator[Service]:
    env = clean_env(project)
    workflow = str(project / "WORKFLOW.md")
    added = subprocess.run(
        [sys.executable, "-m", "symphony", "board", "--workflow", workflow, "add", "Say hello"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert added.returncode == 0 and "SYM-1" in added.stdout, added
    process = subprocess.Popen(
        [sys.executable, "-m", "symphony", workflow, "--port", "0"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    svc = Service(process)

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            svc.output.append(line)
            svc.lines.put(line)

    svc.reader = threading.Thread(target=pump, daemon=True)
    svc.reader.start()
    try:
        svc.url = svc.read_until(DASHBOARD)[1]
        yield svc
    finally:
        svc.stop()


def test_no_credentials_is_reported_once_and_recovers(service: Service, project: Path) -> None:
    def problem_after_two_failures() -> dict[str, Any] | None:
        state = service.get("/api/v1/state")
        problem = state["agent_problem"]
        rows = [r for r in state["retrying"] if r["attempt"] >= 2]
        return state if problem and problem["failures"] >= 2 and rows else None

    state = service.wait_for(
        "two failed attempts and the agent problem", problem_after_two_failures
    )
    problem = state["agent_problem"]
    assert problem["code"] == "codex_not_authenticated"
    assert MESSAGE in problem["message"]
    assert f"CODEX_HOME={project / 'home' / '.codex'}" in problem["message"]
    # The issue's own row points at the problem instead of repeating it.
    (row,) = state["retrying"]
    assert row["issue_identifier"] == "SYM-1" and row["kind"] == "failure"
    assert row["error"] == (
        "waiting: agents cannot start [codex_not_authenticated] (see the agent problem)"
    )

    def retrying_detail() -> dict[str, Any] | None:
        # Read on its own: the retry timer may fire between this read and the one above.
        detail: dict[str, Any] = service.get("/api/v1/SYM-1")
        return detail if detail["status"] == "retrying" else None

    detail = service.wait_for("the issue detail while it waits for a retry", retrying_detail)
    assert "agents cannot start" in detail["retry"]["error"]
    assert MESSAGE in detail["history"][-1]["error"]  # its run history keeps what happened
    assert not (project / "fake-codex-log.jsonl").exists(), "codex must not be launched"

    # `codex login` stores credentials; the next probe launches codex without a restart.
    auth = project / "home" / ".codex" / "auth.json"
    auth.parent.mkdir()
    auth.write_text('{"OPENAI_API_KEY": "sk-test-stored"}')
    launched = project / "fake-codex-log.jsonl"
    service.wait_for(
        "codex to be launched and given the turn",
        lambda: launched.exists() and "turn/start" in launched.read_text(),
    )
    service.wait_for(
        "the agent problem to be gone",
        lambda: service.get("/api/v1/state")["agent_problem"] is None,
    )
    (running,) = service.get("/api/v1/state")["running"]  # the turn is still going
    assert running["issue_identifier"] == "SYM-1"

    assert service.stop() == 0
    out = "".join(service.output)
    assert "Traceback" not in out
    warnings = [line for line in out.splitlines() if "level=warning" in line and MESSAGE in line]
    assert len(warnings) == 1 and "agents cannot start, dispatch paused" in warnings[0], out
    assert "agents start again, dispatch resumed" in out
