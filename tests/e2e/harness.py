"""End-to-end harness: the real ``symphony`` service process, the real codex, a fake model.

A test meets the product the way a user does: it writes a ``WORKFLOW.md``, manages issues with
``symphony board`` (or a fake tracker server), starts ``symphony WORKFLOW.md --port 0``, and
watches the JSON API. Everything listens on 127.0.0.1 only.

    project = Project(tmp_path, model_base_url=model.base_url)   # or the `project` fixture
    project.write_workflow(local_front_matter(), "Work on {{ issue.identifier }}")
    project.board("add", "Say hello")                               # symphony board ... --json
    with project.start() as service:                                # killed on exit if still up
        service.wait_until(lambda s: s["counts"]["running"] == 1, 30, what="a dispatch")
        code, output = service.stop()                               # SIGTERM, exit code, output

Each agent gets a clean temporary ``HOME`` (the machine's login profile is slow) and a per-test
absolute ``CODEX_HOME`` whose ``config.toml`` points codex at the fake model. The real
``OPENAI_API_KEY`` is never passed on. Every wait polls a real condition with a bounded timeout.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import yaml

from tests.support.fake_model import FAKE_API_KEY_ENV, RecordedRequest, Reply, write_codex_home
from tests.support.waiting import WaitTimedOut, wait_until_sync

REPO = Path(__file__).resolve().parents[2]
CODEX_BIN = Path(
    os.environ.get("SYMPHONY_CODEX_BIN")
    or REPO / ".tools" / "codex" / "node_modules" / ".bin" / "codex"
)
# Variables that must never reach the service or its agents from the developer's shell.
SCRUBBED_ENV = (
    "OPENAI_API_KEY",
    "CODEX_API_KEY",
    "OPENAI_BASE_URL",
    "LINEAR_API_KEY",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "CLAUDE_CONFIG_DIR",
)
DASHBOARD_LINE = re.compile(r"symphony: dashboard at (http://\S+)")
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 45.0
POLL_INTERVAL_S = 0.05

Snapshot = dict[str, Any]


def symphony_bin() -> Path:
    """The installed ``symphony`` console script of the running virtualenv."""
    beside = Path(sys.executable).parent / "symphony"
    return beside if beside.exists() else REPO / ".venv" / "bin" / "symphony"


def require_codex() -> Path:
    """The codex binary, or skip the test with a visible reason."""
    if not CODEX_BIN.exists():
        pytest.skip(f"codex binary not installed at {CODEX_BIN} (run scripts/setup)")
    return CODEX_BIN


def _group_and_start(pid: int) -> tuple[int, int] | None:
    """``(process group, start time in clock ticks since boot)``; None if gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return None if fields[0] in ("Z", "X") else (int(fields[2]), int(fields[19]))


def process_start_time(pid: int) -> int | None:
    """When ``pid`` started (clock ticks since boot), or None if it is gone or a zombie."""
    found = _group_and_start(pid)
    return None if found is None else found[1]


def kill_process_group(leader: int, started: int) -> None:
    """SIGKILL the group that ``leader`` (which started at ``started``) led, if still there.

    Start times keep a recycled pid from being mistaken for ours: a live leader must match, and
    once the leader is gone only members that started after it (its descendants) are killed.
    """
    now = process_start_time(leader)
    if now == started:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(leader, signal.SIGKILL)
        return
    if now is not None:
        return  # the pid belongs to another process now
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        found = _group_and_start(int(entry.name))
        if found is not None and found[0] == leader and found[1] >= started:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(entry.name), signal.SIGKILL)


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` on top of ``base``, merging nested mappings key by key."""
    out = dict(base)
    for key, value in override.items():
        current = out.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            out[key] = deep_merge(current, value)
        else:
            out[key] = value
    return out


def local_front_matter(
    *, codex_bin: Path = CODEX_BIN, **overrides: Mapping[str, Any]
) -> dict[str, Any]:
    """Front matter for a local-board workflow with fast polling and the real codex.

    ``overrides`` are merged per section, e.g. ``agent={"max_concurrent_agents": 2}``.
    """
    base: dict[str, Any] = {
        "tracker": {"kind": "local"},
        "polling": {"interval_ms": 500},
        "workspace": {"root": "workspaces"},
        "hooks": {"timeout_ms": 20000},
        "agent": {"max_concurrent_agents": 2, "max_turns": 3, "max_retry_backoff_ms": 1000},
        "codex": {
            "command": f"{codex_bin} app-server",
            "approval_policy": "never",
            "thread_sandbox": "workspace-write",
            "read_timeout_ms": 20000,
            "turn_timeout_ms": 60000,
        },
    }
    return deep_merge(base, overrides)


@dataclass(frozen=True)
class CommandResult:
    """A finished CLI command: exit code and its separate output streams."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


class Project:
    """A temporary project directory: WORKFLOW.md, HOME, CODEX_HOME, logs, CLI runs."""

    def __init__(
        self,
        root: Path,
        *,
        model_base_url: str,
        codex_bin: Path = CODEX_BIN,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        self.root = root.absolute()
        self.root.mkdir(parents=True, exist_ok=True)
        self.workflow = self.root / "WORKFLOW.md"
        self.home = self.root / "home"
        self.home.mkdir(exist_ok=True)
        self.logs_root = self.root / "logs"
        self.codex_bin = codex_bin
        self.codex_home = write_codex_home(self.root / "codex-home", base_url=model_base_url)
        self.extra_env = dict(extra_env or {})
        self.services: list[ServiceProcess] = []

    def write_workflow(self, front_matter: str | Mapping[str, Any], prompt: str) -> Path:
        """Write ``WORKFLOW.md`` (front matter as YAML text or a mapping, then the prompt)."""
        if isinstance(front_matter, Mapping):
            front = yaml.safe_dump(dict(front_matter), sort_keys=False)
        else:
            front = front_matter
        self.workflow.write_text(f"---\n{front.strip()}\n---\n{prompt}\n", encoding="utf-8")
        return self.workflow

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
        env.update(
            HOME=str(self.home),
            CODEX_HOME=str(self.codex_home),
            SYMPHONY_CODEX_BIN=str(self.codex_bin),
            PYTHONUNBUFFERED="1",
        )
        env[FAKE_API_KEY_ENV] = "fake-key-for-tests"
        env.update(self.extra_env)
        return env

    def run(self, *args: str, timeout_s: float = 30.0) -> CommandResult:
        """Run ``symphony <args>`` to completion (cwd = the project directory)."""
        proc = subprocess.run(
            [str(symphony_bin()), *args],
            cwd=self.root,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        return CommandResult(tuple(args), proc.returncode, proc.stdout, proc.stderr)

    def board(self, *args: str, check: bool = True, timeout_s: float = 30.0) -> CommandResult:
        """``symphony board --workflow <WORKFLOW.md> --json <args>``; ``check`` asserts exit 0."""
        result = self.run(
            "board", "--workflow", str(self.workflow), "--json", *args, timeout_s=timeout_s
        )
        if check:
            assert result.returncode == 0, (
                f"symphony board {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout}{result.stderr}"
            )
        return result

    def start(
        self, *args: str, port: int | None = 0, launcher: Sequence[str] | None = None
    ) -> ServiceProcess:
        """Start ``symphony WORKFLOW.md --port 0 --logs-root <logs>``; wait for its URL.

        ``launcher`` replaces the ``symphony`` console script (e.g. a script that injects a
        fault before calling the CLI)."""
        service = ServiceProcess(self, args, port=port, launcher=launcher)
        self.services.append(service)
        service.start()
        return service

    def close(self) -> None:
        """Kill every service this project started (teardown; safe to call twice)."""
        for service in self.services:
            service.kill()


class ServiceProcess:
    """One ``symphony`` service subprocess, its merged output and its JSON API."""

    def __init__(
        self,
        project: Project,
        args: Sequence[str],
        *,
        port: int | None,
        launcher: Sequence[str] | None = None,
    ) -> None:
        self.project = project
        command = list(launcher) if launcher is not None else [str(symphony_bin())]
        argv = [*command, str(project.workflow), "--logs-root", str(project.logs_root)]
        if port is not None:
            argv += ["--port", str(port)]
        self.argv = [*argv, *args]
        self.url = ""
        self.returncode: int | None = None
        self._proc: subprocess.Popen[str] | None = None
        self._lines: list[str] = []
        self._lines_lock = threading.Condition()
        self._reader: threading.Thread | None = None
        self._agent_pids: dict[int, int] = {}  # pid -> start time, see kill()
        self._http: httpx.Client | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> ServiceProcess:
        self._proc = subprocess.Popen(
            self.argv,
            cwd=self.project.root,
            env=self.project.env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group, killed as a whole in teardown
        )
        self._reader = threading.Thread(target=self._read, name="service-output", daemon=True)
        self._reader.start()
        line = self.wait_for_output(DASHBOARD_LINE.pattern, START_TIMEOUT_S, regex=True)
        match = DASHBOARD_LINE.search(line)
        assert match is not None
        self.url = match.group(1).rstrip("/") + "/"
        self._http = httpx.Client(base_url=self.url, timeout=10.0)
        return self

    def __enter__(self) -> ServiceProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.kill()

    @property
    def pid(self) -> int:
        assert self._proc is not None, "service not started"
        return self._proc.pid

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(
        self, sig: signal.Signals = signal.SIGTERM, timeout_s: float = STOP_TIMEOUT_S
    ) -> tuple[int, str]:
        """Send ``sig`` to the service and wait for it to exit: ``(exit code, all output)``."""
        assert self._proc is not None, "service not started"
        if self._proc.poll() is None:
            self._proc.send_signal(sig)
        return self.wait_exit(timeout_s, after=f"of {sig.name}")

    def wait_exit(
        self, timeout_s: float = STOP_TIMEOUT_S, *, after: str = "of the wait"
    ) -> tuple[int, str]:
        """Wait for the service to exit (by itself, or after a signal): ``(code, output)``."""
        assert self._proc is not None, "service not started"
        try:
            code = self._proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"service did not exit within {timeout_s:.0f}s {after}:\n{self.output_tail()}"
            ) from None
        self._finish()
        self.returncode = code
        return code, self.output

    def kill(self) -> None:
        """Kill the service's process group and any agent group it reported (teardown)."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
        for pid, started in self._agent_pids.items():
            # Agents lead their own groups, which a killed service cannot stop.
            kill_process_group(pid, started)
        self._finish()

    def _finish(self) -> None:
        if self._reader is not None:
            self._reader.join(timeout=5)
        if self._http is not None:
            self._http.close()
            self._http = None

    # -- output ---------------------------------------------------------------------------------

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            with self._lines_lock:
                self._lines.append(line)
                self._lines_lock.notify_all()
        with self._lines_lock:
            self._lines.append("")  # EOF marker for waiters
            self._lines_lock.notify_all()

    @property
    def output(self) -> str:
        with self._lines_lock:
            return "".join(self._lines)

    def output_tail(self, lines: int = 60) -> str:
        with self._lines_lock:
            return "".join(self._lines[-lines:])

    def wait_for_output(self, needle: str, timeout_s: float = 20.0, *, regex: bool = False) -> str:
        """Block until a line containing ``needle`` (or matching it) was printed; return it."""
        pattern = re.compile(needle if regex else re.escape(needle))
        deadline = time.monotonic() + timeout_s
        seen = 0
        with self._lines_lock:
            while True:
                for line in self._lines[seen:]:
                    if pattern.search(line):
                        return line
                seen = len(self._lines)
                eof = bool(self._lines) and self._lines[-1] == ""
                remaining = deadline - time.monotonic()
                if eof or remaining <= 0:
                    why = "the service exited" if eof else f"{timeout_s:.0f}s passed"
                    raise AssertionError(
                        f"{needle!r} not printed ({why}); output:\n{''.join(self._lines[-60:])}"
                    )
                self._lines_lock.wait(timeout=min(remaining, 0.5))

    # -- JSON API -------------------------------------------------------------------------------

    def _client(self) -> httpx.Client:
        assert self._http is not None, "service not running"
        return self._http

    def get(self, path: str) -> httpx.Response:
        return self._client().get(path.lstrip("/"))

    def state(self) -> Snapshot:
        """``GET /api/v1/state`` (asserts 200); remembers agent pids for teardown."""
        response = self.get("api/v1/state")
        assert response.status_code == 200, response.text
        body: Snapshot = response.json()
        for row in body.get("running", []):
            raw = row.get("pid")  # the API may report it as a number or a string
            pid = int(raw) if isinstance(raw, int | str) and str(raw).isdigit() else None
            if pid is not None and pid not in self._agent_pids:
                started = process_start_time(pid)
                if started is not None:
                    self._agent_pids[pid] = started
        return body

    def issue(self, identifier: str) -> dict[str, Any] | None:
        """``GET /api/v1/<identifier>``: the detail, or None on 404."""
        # GitHub's identifiers (app#42) hold a '#', which a URL path must escape.
        response = self.get(f"api/v1/{quote(identifier, safe='')}")
        if response.status_code == 404:
            return None
        assert response.status_code == 200, response.text
        detail: dict[str, Any] = response.json()
        return detail

    def refresh(self) -> dict[str, Any]:
        """``POST /api/v1/refresh`` (asserts 202)."""
        response = self._client().post("api/v1/refresh")
        assert response.status_code == 202, response.text
        body: dict[str, Any] = response.json()
        return body

    def wait_until(
        self, predicate: Callable[[Snapshot], Any], timeout_s: float, *, what: str
    ) -> Snapshot:
        """Poll ``GET /api/v1/state`` until ``predicate(snapshot)`` is truthy; return it.

        Fails at once if the service exits, and after ``timeout_s`` with the last snapshot and
        the output tail in the message.
        """
        last: Snapshot = {}

        def check() -> Snapshot | None:
            nonlocal last
            assert self.alive(), f"service exited while waiting for {what}:\n{self.output_tail()}"
            last = self.state()
            return last if predicate(last) else None

        try:
            return wait_until_sync(check, what, timeout=timeout_s, interval=POLL_INTERVAL_S)
        except WaitTimedOut as exc:
            raise WaitTimedOut(
                f"{exc}; last state:\n{json.dumps(last, indent=1)[:4000]}\n"
                f"output:\n{self.output_tail()}"
            ) from None


# -- snapshot helpers ---------------------------------------------------------------------------


def running_row(snapshot: Snapshot, identifier: str) -> dict[str, Any] | None:
    return next((r for r in snapshot["running"] if r["issue_identifier"] == identifier), None)


def retry_row(snapshot: Snapshot, identifier: str) -> dict[str, Any] | None:
    return next((r for r in snapshot["retrying"] if r["issue_identifier"] == identifier), None)


def is_idle(snapshot: Snapshot, identifiers: Sequence[str] = ()) -> bool:
    """No agent running or retrying (for ``identifiers``, or at all when empty)."""
    rows = [*snapshot["running"], *snapshot["retrying"]]
    if not identifiers:
        return not rows
    return not any(r["issue_identifier"] in identifiers for r in rows)


# -- fake model scripting -----------------------------------------------------------------------

Step = Reply | Callable[[RecordedRequest], Reply]


def issue_identifier_in(request: RecordedRequest, identifiers: Sequence[str]) -> str | None:
    """Which of ``identifiers`` the conversation's user messages name (whole word), if any."""
    text = "\n".join(request.user_texts())
    for identifier in sorted(identifiers, key=len, reverse=True):
        if re.search(rf"(?<![\w-]){re.escape(identifier)}(?![\w-])", text):
            return identifier
    return None


def per_issue_responder(
    scripts: Mapping[str, Sequence[Step]], *, done: Reply | None = None
) -> Callable[[RecordedRequest], Reply]:
    """A ``FakeModelServer(responder=...)`` that runs one script per issue, concurrently.

    The issue is recognised by its identifier in the prompt; the step is the number of
    ``function_call_output`` items the request already carries (each earlier step that called
    a tool added one). Past the end of its script an agent gets ``done`` (a final message), so
    continuation turns end at once. A request naming no known issue gets HTTP 500.
    """
    final = done if done is not None else Reply.message("Done.")

    def respond(request: RecordedRequest) -> Reply:
        identifier = issue_identifier_in(request, list(scripts))
        if identifier is None:
            return Reply.http_error(500, "fake model: request names no scripted issue")
        steps = scripts[identifier]
        index = len(request.function_call_outputs())
        if index >= len(steps):
            return final
        step = steps[index]
        return step(request) if callable(step) else step

    return respond


@contextlib.contextmanager
def started(project: Project, *args: str) -> Iterator[ServiceProcess]:
    """``with started(project) as service:`` — the service is killed on exit if still up."""
    service = project.start(*args)
    try:
        yield service
    finally:
        service.kill()
