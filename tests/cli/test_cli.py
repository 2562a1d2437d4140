from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from symphony.cli import main
from tests.support.memory_tracker import MemoryProfile

REPO = Path(__file__).resolve().parents[2]
GOOD = "tracker:\n  kind: memory\npolling:\n  interval_ms: 60000\nworkspace:\n  root: ws"


def run_cli(args: list[str], cwd: Path | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = main(args)
    finally:
        os.chdir(old)
    return code, out.getvalue(), err.getvalue()


def test_missing_explicit_path_is_an_error(tmp_path: Path) -> None:
    code, _, err = run_cli([str(tmp_path / "nope.md"), "--logs-root", str(tmp_path / "logs")])
    assert code == 1
    assert "workflow file not found" in err and "nope.md" in err


def test_missing_default_workflow_is_an_error(tmp_path: Path) -> None:
    code, _, err = run_cli(["--logs-root", str(tmp_path / "logs")], cwd=tmp_path)
    assert code == 1
    assert str(tmp_path / "WORKFLOW.md") in err


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run_cli(["--port", "http"])[0] == 2
    assert run_cli(["--port", "70000"])[0] == 2
    assert run_cli(["a.md", "b.md"])[0] == 2
    assert run_cli(["--logs-root", " "])[0] == 2
    assert run_cli(["--bogus"])[0] == 2


def test_help_exits_zero() -> None:
    code, out, _ = run_cli(["--help"])
    assert code == 0 and "path-to-WORKFLOW.md" in out and "validate" in out


def test_startup_validation_failure_names_the_key(
    memory_tracker: MemoryProfile, write_workflow: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_workflow("tracker:\n  kind: memory\nagent:\n  max_turns: zero")
    code, _, err = run_cli([str(path), "--logs-root", str(tmp_path / "logs")])
    assert code == 1
    assert "cannot start" in err and "agent.max_turns" in err and "'zero'" in err


def test_missing_tracker_kind_is_reported_clearly(
    write_workflow: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_workflow("polling:\n  interval_ms: 1000")
    code, _, err = run_cli([str(path), "--logs-root", str(tmp_path / "logs")])
    assert code == 1
    assert "tracker.kind" in err and "no tracker configured" in err


def test_validate_ok_prints_summary(
    memory_tracker: MemoryProfile, write_workflow: Callable[..., Path]
) -> None:
    path = write_workflow(GOOD, body="Work on {{ issue.identifier }}: {{ issue.title }}")
    code, out, _ = run_cli(["validate", str(path), "--show-prompt"])
    assert code == 0, out
    assert f"✓ {path} is valid" in out
    assert "memory" in out and "Todo, In Progress" in out
    assert "Work on SYM-1: Sample issue" in out


def test_validate_names_the_worker_hosts_and_refuses_bad_ones(
    memory_tracker: MemoryProfile, write_workflow: Callable[..., Path]
) -> None:
    front = GOOD + "\nworker:\n  ssh_hosts: [build-1, ci@build-2:2222]\n"
    front += "  max_concurrent_agents_per_host: 2\nworkspace:\n  root: ~/ws\n"
    code, out, _ = run_cli(["validate", str(write_workflow(front))])
    assert code == 0, out
    assert "ssh: build-1, ci@build-2:2222, up to 2 per host (root ~/ws on each)" in out
    code, out, err = run_cli(
        ["validate", str(write_workflow(GOOD + "\nworker:\n  ssh_hosts: ['bad host']\n"))]
    )
    assert code == 1 and out == ""
    assert "worker.ssh_hosts" in err and "invalid host name" in err


def test_validate_uses_cwd_default(
    memory_tracker: MemoryProfile, write_workflow: Callable[..., Path], tmp_path: Path
) -> None:
    write_workflow(GOOD)
    code, out, _ = run_cli(["validate"], cwd=tmp_path)
    assert code == 0 and str(tmp_path / "WORKFLOW.md") in out


@pytest.mark.parametrize(
    ("front", "body", "expect"),
    [
        (GOOD.replace("60000", "sixty"), "x", ["polling.interval_ms", "'sixty'"]),
        ("tracker:\n  kind: memory\n  active_states: [Todo", "x", ["workflow_parse_error", ":"]),
        (GOOD, "Hi {{ issue.nmae }}", ["template_render_error", "issue.nmae", "WORKFLOW.md:"]),
        (GOOD, "{{ issue.title | frobnicate }}", ["frobnicate"]),
    ],
)
def test_validate_reports_one_screen_errors(
    memory_tracker: MemoryProfile,
    write_workflow: Callable[..., Path],
    front: str,
    body: str,
    expect: list[str],
) -> None:
    path = write_workflow(front, body=body)
    code, out, err = run_cli(["validate", str(path)])
    assert code == 1
    assert out == ""
    for fragment in expect:
        assert fragment in err, err
    assert len(err.splitlines()) <= 24  # fits one screen
    assert "Traceback" not in err


def test_validate_warns_about_typos(
    memory_tracker: MemoryProfile, write_workflow: Callable[..., Path]
) -> None:
    path = write_workflow(GOOD + "\nagent:\n  max_trns: 3")
    code, out, _ = run_cli(["validate", str(path)])
    assert code == 0
    assert "agent.max_trns" in out and "'max_turns'" in out


def test_validate_accepts_logs_format_and_rejects_unknown_ones(
    memory_tracker: MemoryProfile, write_workflow: Callable[..., Path]
) -> None:
    path = write_workflow(GOOD + "\nlogs:\n  format: json")
    code, out, _ = run_cli(["validate", str(path)])
    assert code == 0, out
    assert "warnings:" not in out
    path = write_workflow(GOOD + "\nlogs:\n  format: yaml")
    code, out, err = run_cli(["validate", str(path)])
    assert code == 1 and out == ""
    assert "logs.format: must be logfmt or json (got 'yaml')" in err


def _service(args: list[str], home: Path) -> subprocess.Popen[str]:
    code = (
        "import sys\n"
        "from tests.support.memory_tracker import install_memory_tracker\n"
        "install_memory_tracker()\n"
        "from symphony.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    env = {**os.environ, "HOME": str(home), "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for_line(proc: subprocess.Popen[str], needle: str, timeout: float = 20) -> list[str]:
    assert proc.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if needle in line:
            return seen
    raise AssertionError(f"{needle!r} not seen; output so far:\n{''.join(seen)}")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_service_exits_zero_after_orderly_shutdown(
    write_workflow: Callable[..., Path], tmp_path: Path, sig: signal.Signals
) -> None:
    path = write_workflow(GOOD)
    proc = _service([str(path), "--logs-root", str(tmp_path / "logs")], tmp_path)
    try:
        _wait_for_line(proc, "symphony started")
        proc.send_signal(sig)
        rest, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, rest
    assert "shutdown requested" in rest and "symphony stopped" in rest
    log_text = (tmp_path / "logs" / "symphony.log").read_text()
    assert "symphony stopped" in log_text


def test_service_warns_at_startup_about_an_untested_agent_version(
    write_workflow: Callable[..., Path], tmp_path: Path
) -> None:
    fake = tmp_path / "bin" / "codex"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\necho "codex-cli 0.1.0"\n')
    fake.chmod(0o755)
    path = write_workflow(GOOD + f"\ncodex:\n  command: {fake} app-server")
    proc = _service([str(path), "--logs-root", str(tmp_path / "logs")], tmp_path)
    try:
        lines = _wait_for_line(proc, 'check="codex binary"')
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    warning = lines[-1]
    assert "agent check" in warning and "codex 0.1.0" in warning
    assert "tested with 0.169.0" in warning and "npm install -g @openai/codex@0.169.0" in warning


def test_service_startup_failure_exits_nonzero_in_subprocess(
    write_workflow: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_workflow("tracker:\n  kind: memory\npolling:\n  interval_ms: -1")
    proc = _service([str(path), "--logs-root", str(tmp_path / "logs")], tmp_path)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert "polling.interval_ms" in out


def test_service_serves_api_on_ephemeral_port_and_prints_url(
    write_workflow: Callable[..., Path], tmp_path: Path
) -> None:
    import httpx

    path = write_workflow(GOOD)
    proc = _service([str(path), "--port", "0", "--logs-root", str(tmp_path / "logs")], tmp_path)
    try:
        lines = _wait_for_line(proc, "symphony: dashboard at http://127.0.0.1:")
        url = lines[-1].split("dashboard at ", 1)[1].strip()
        _wait_for_line(proc, "symphony started")
        state = httpx.get(url + "api/v1/state", timeout=10)
        assert state.status_code == 200
        body = state.json()
        assert body["counts"] == {"running": 0, "retrying": 0, "blocked": 0, "held": 0}
        assert body["workflow"]["path"] == str(path)
        assert httpx.get(url + "api/v1/NOPE-1", timeout=10).status_code == 404
        assert httpx.get(url, timeout=10).status_code == 200
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, rest


def test_service_fails_clearly_when_port_is_taken(
    write_workflow: Callable[..., Path], tmp_path: Path
) -> None:
    import socket

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    try:
        path = write_workflow(GOOD)
        proc = _service(
            [str(path), "--port", str(port), "--logs-root", str(tmp_path / "l")], tmp_path
        )
        out, _ = proc.communicate(timeout=30)
    finally:
        taken.close()
    assert proc.returncode == 1
    assert "http_bind_failed" in out and str(port) in out and "--port" in out


def test_service_writes_json_lines_when_configured(
    write_workflow: Callable[..., Path], tmp_path: Path
) -> None:
    import json

    path = write_workflow(GOOD + "\nlogs:\n  format: json")
    proc = _service([str(path), "--logs-root", str(tmp_path / "logs")], tmp_path)
    try:
        lines = _wait_for_line(proc, "symphony started")
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    started = json.loads(lines[-1])
    assert started["message"] == "symphony started" and started["workflow"] == str(path)
    records = [
        json.loads(line) for line in (tmp_path / "logs" / "symphony.log").read_text().splitlines()
    ]
    assert {"symphony starting", "symphony started", "symphony stopped"} <= {
        r["message"] for r in records
    }
    assert all({"ts", "level", "logger", "message"} <= set(r) for r in records)


def test_validate_says_when_the_sandbox_cannot_be_built(
    memory_tracker: MemoryProfile, write_workflow: Callable[..., Path], tmp_path: Path
) -> None:
    fake = tmp_path / "fake-bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n")
    fake.chmod(0o755)
    sandbox = f"\nsandbox:\n  kind: bwrap\n  network: true\n  bwrap: {fake}"
    code, out, _ = run_cli(["validate", str(write_workflow(GOOD + sandbox))])
    assert code == 0, out
    assert re.search(r"^  sandbox +bwrap, network on$", out, re.MULTILINE), out
    assert "sandbox: bwrap cannot create its namespaces" in out
    assert "uid map: Permission denied" in out and "sandbox_unavailable" in out

    missing = f"\nsandbox:\n  kind: bwrap\n  bwrap: {tmp_path / 'nowhere'}"
    code, out, _ = run_cli(["validate", str(write_workflow(GOOD + missing))])
    assert code == 0 and "was not found on PATH; install bubblewrap" in out


def test_validate_shows_no_sandbox_by_default(
    memory_tracker: MemoryProfile, write_workflow: Callable[..., Path]
) -> None:
    code, out, _ = run_cli(["validate", str(write_workflow(GOOD))])
    assert code == 0 and "none (the agent's own sandbox only)" in out
    assert "sandbox:" not in out
