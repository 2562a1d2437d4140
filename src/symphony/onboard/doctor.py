"""``symphony doctor``: every check a first run needs, each failure with its one-line fix.

Python, the workflow, git, the agent backend (binary, tested version, credentials: its
``doctor``), the tracker (credentials, project, the workflow's states: its profile's
``doctor``), the workspace root, the dashboard port, the state store. Human output by default,
``--json`` for scripts; exit code 1 when a check fails (warnings do not fail).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Coroutine, Iterable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

from symphony.agents.codex.launch import TESTED_VERSION as CODEX_TESTED
from symphony.agents.registry import require_backend
from symphony.agents.sandbox import probe as probe_sandbox
from symphony.agents.versions import VERSION
from symphony.checks import Check
from symphony.errors import SymphonyError
from symphony.hosts import is_loopback
from symphony.process import ENV_ASSIGNMENT, child_environment, terminate_group
from symphony.ssh import SSH_FAILED_EXIT, parse_target, remote_login_command, ssh_argv, unsets
from symphony.ssh import config_file as ssh_config_file
from symphony.storage.errors import STORAGE_LOCKED, StorageError
from symphony.storage.store import StateStore
from symphony.trackers import TRACKERS
from symphony.trackers.doctor_rules import WorkflowStates
from symphony.validate import load_for_validation
from symphony.workflow.config import SandboxConfig
from symphony.workflow.loader import resolve_workflow_path
from symphony.workflow.store import Workflow

MIN_PYTHON = (3, 11)
GIT_TIMEOUT_S = 10.0
# Each check group is bounded, so one hung tracker or login shell cannot hang the command.
GROUP_TIMEOUT_S = 60.0
SSH_CHECK_TIMEOUT_S = 30.0
SANDBOX_PROBE_TIMEOUT_S = 10.0
_MARK = {"ok": "✓", "warn": "!", "fail": "✗"}


def doctor_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="symphony doctor",
        description="Check everything a first run needs; each problem comes with its fix.",
    )
    parser.add_argument("workflow", nargs="?", help="path to WORKFLOW.md (default: ./WORKFLOW.md)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def doctor_command(
    argv: Sequence[str], *, out: TextIO, env: Mapping[str, str] | None = None
) -> int:
    args = doctor_parser().parse_args(argv)
    path = resolve_workflow_path(args.workflow)
    checks = asyncio.run(run_checks(path, os.environ if env is None else env))
    failed = any(c.status == "fail" for c in checks)
    if args.json:
        report = {"ok": not failed, "workflow": str(path), "checks": [asdict(c) for c in checks]}
        out.write(json.dumps(report, indent=2) + "\n")
    else:
        _print_human(checks, out)
    return 1 if failed else 0


async def run_checks(path: Path, env: Mapping[str, str]) -> list[Check]:
    checks = [python_check(sys.version_info[:3]), git_check(env)]
    try:
        # A missing tracker secret (validate's note) is the tracker check's to report.
        workflow, _notes = load_for_validation(path)
    except SymphonyError as exc:
        checks.append(
            Check.fail(
                "workflow",
                exc.message.splitlines()[0],
                f"`symphony validate {path}` lists every problem; `symphony init` writes one",
            )
        )
        return checks
    checks.append(Check.ok("workflow", f"{path} is valid"))
    if workflow.config.worker.ssh_hosts:
        # The agents run on the worker hosts, with the hosts' binaries and credentials.
        checks += await _bounded("worker", worker_checks(workflow, env))
    else:
        checks += await _bounded("agent", agent_checks(workflow, env))
    checks += await _bounded("tracker", tracker_checks(workflow, env))
    config = workflow.config
    if config.sandbox.kind == "bwrap":
        checks.append(await sandbox_check(config.sandbox, env))
    checks.append(workspace_root_check(config.workspace.root))
    if config.server.port is not None:
        checks.append(port_check(config.server.host, config.server.port))
    checks.append(storage_check(config.storage.path))
    return checks


def python_check(version: Sequence[int]) -> Check:
    shown = ".".join(str(v) for v in version)
    if tuple(version[:2]) < MIN_PYTHON:
        return Check.fail(
            "python", f"Python {shown}", "install Python 3.11 or newer and reinstall Symphony"
        )
    return Check.ok("python", f"Python {shown}")


def git_check(env: Mapping[str, str]) -> Check:
    git = shutil.which("git", path=env.get("PATH"))
    if git is None:
        return Check.fail("git", "git is not on PATH", "install git (Debian: apt-get install git)")
    try:
        done = subprocess.run(
            [git, "--version"], capture_output=True, text=True, timeout=GIT_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check.fail("git", f"{git} does not run ({exc})", "reinstall git")
    return Check.ok("git", done.stdout.strip() or git)


async def agent_checks(workflow: Workflow, env: Mapping[str, str]) -> list[Check]:
    backend = require_backend(workflow.config.agent.kind)
    return list(await backend.doctor(workflow, env=env))


async def worker_checks(workflow: Workflow, env: Mapping[str, str]) -> list[Check]:
    """Each worker host reachable over ssh, with the codex Symphony is tested with."""
    hosts = workflow.config.worker.ssh_hosts
    strip = frozenset(workflow.loaded.secret_env_names)
    found = await asyncio.gather(*(_worker_check(h, workflow, env, strip) for h in hosts))
    return list(found)


async def _worker_check(
    host: str, workflow: Workflow, env: Mapping[str, str], strip: frozenset[str]
) -> Check:
    name = f"worker {host}"
    # The command's leading VAR=value words and its program, as the host's shell reads them.
    words = workflow.config.codex.command.split()
    first = next((i for i, w in enumerate(words) if not ENV_ASSIGNMENT.match(w)), len(words) - 1)
    program = " ".join(words[: first + 1])
    argv = ssh_argv(
        parse_target(host),
        remote_login_command(unsets(strip) + f"{program} --version"),
        config_file=ssh_config_file(env),
    )
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=child_environment(strip, base=env),
            start_new_session=True,
        )
    except OSError as exc:
        return Check.fail(name, f"ssh does not run ({exc})", "install openssh-client")
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=SSH_CHECK_TIMEOUT_S)
    except TimeoutError:
        await terminate_group(process)
        return Check.fail(
            name, f"no answer within {SSH_CHECK_TIMEOUT_S:g} s", "check the host and the network"
        )
    tail = (err.decode("utf-8", "replace").strip().splitlines() or [""])[-1][:200]
    if process.returncode == SSH_FAILED_EXIT:
        return Check.fail(
            name,
            f"cannot connect ({tail or 'ssh exit 255'})",
            "check SYMPHONY_SSH_CONFIG, the key in the agent or config, known_hosts and that "
            "sshd runs on the host (docs/workers.md)",
        )
    version = VERSION.search(out.decode("utf-8", "replace"))
    if process.returncode != 0 or version is None:
        return Check.fail(
            name,
            f"codex does not run there (`{program} --version`: exit {process.returncode} {tail})",
            f"install codex on the host (npm install -g @openai/codex@{CODEX_TESTED}) so a "
            "login shell finds it",
        )
    if version[1] != CODEX_TESTED:
        return Check.warn(
            name,
            f"reachable; codex {version[1]}, Symphony is tested with {CODEX_TESTED}",
            f"npm install -g @openai/codex@{CODEX_TESTED} on the host",
        )
    return Check.ok(name, f"reachable; codex {version[1]} (tested)")


async def tracker_checks(workflow: Workflow, env: Mapping[str, str]) -> list[Check]:
    tracker = workflow.config.tracker
    kind = tracker.kind or ""
    profile = TRACKERS.get(kind)
    doctor = getattr(profile, "doctor", None)
    if doctor is None:
        return [Check.ok(f"{kind} tracker", "configured (this tracker kind has no live checks)")]
    review = workflow.config.review
    states = WorkflowStates(
        required=(*(tracker.active_states or ()), *(tracker.terminal_states or ())),
        review=(*review.states, review.approve_state, review.rework_state),
    )
    found: Sequence[Check] = await doctor(
        tracker, workflow_dir=workflow.path.parent, environ=env, states=states
    )
    return list(found)


async def sandbox_check(sandbox: SandboxConfig, env: Mapping[str, str]) -> Check:
    found = await probe_sandbox(sandbox, env=env, timeout_s=SANDBOX_PROBE_TIMEOUT_S)
    if found.problem is None:
        network = "network on" if sandbox.network else "network off, bridges and proxy"
        return Check.ok("sandbox", f"bwrap works here ({network})")
    return Check.fail(
        "sandbox",
        found.problem,
        "install bubblewrap and socat (Debian: apt-get install bubblewrap socat), allow user "
        "namespaces, or set sandbox.kind: none (docs/sandbox.md)",
    )


def workspace_root_check(root: Path) -> Check:
    existing = next((p for p in (root, *root.parents) if p.exists()), None)
    if existing is None or not existing.is_dir():
        return Check.fail(
            "workspace root",
            f"{root} cannot be created ({existing} is not a directory)",
            "set workspace.root to a directory path",
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        return Check.fail(
            "workspace root",
            f"{existing} is not writable for this user",
            f"make {existing} writable, or set workspace.root to a writable directory",
        )
    detail = f"{root} is writable" if existing == root else f"{root} is created at first use"
    return Check.ok("workspace root", detail)


def port_check(host: str, port: int) -> Check:
    if port == 0:
        return Check.ok("dashboard port", "any free port (server.port: 0)")
    name = host.strip().strip("[]")
    family = socket.AF_INET6 if ":" in name else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.bind((name, port))
    except OSError as exc:
        return Check.fail(
            "dashboard port",
            f"{host}:{port} is not free ({exc.strerror or exc})",
            "stop what listens there (a running Symphony?), or pick another server.port",
        )
    exposure = "" if is_loopback(host) else " (not loopback: server.access_token is required)"
    return Check.ok("dashboard port", f"{host}:{port} is free{exposure}")


def storage_check(path: Path) -> Check:
    try:
        exists = StateStore.inspect(path)
    except StorageError as exc:
        problem, _, fix = exc.message.partition(". ")
        if exc.code == STORAGE_LOCKED:
            return Check.warn("state store", problem, fix.rstrip("."))
        return Check.fail("state store", problem, fix.rstrip(".") or "see docs/storage.md")
    return Check.ok("state store", f"{path} {'is healthy' if exists else 'is created at start'}")


async def _bounded(group: str, checks: Coroutine[Any, Any, list[Check]]) -> list[Check]:
    try:
        return await asyncio.wait_for(checks, timeout=GROUP_TIMEOUT_S)
    except TimeoutError:
        return [
            Check.fail(
                f"{group} checks",
                f"did not finish within {GROUP_TIMEOUT_S:g} s",
                "check this machine's network and the login shell's profile (bash -lc)",
            )
        ]
    except Exception as exc:  # a plugin's bug must not end the report in a traceback
        return [
            Check.fail(
                f"{group} checks",
                f"the check itself failed: {type(exc).__name__}: {exc}",
                "report it with this line (the other checks are unaffected)",
            )
        ]


def _print_human(checks: Iterable[Check], out: TextIO) -> None:
    checks = list(checks)
    width = max(len(c.name) for c in checks)
    for check in checks:
        out.write(f"{_MARK[check.status]} {check.name.ljust(width)}  {check.detail}\n")
        if check.fix and check.status != "ok":
            out.write(f"  {' ' * width}  fix: {check.fix}\n")
    failed = sum(c.status == "fail" for c in checks)
    warned = sum(c.status == "warn" for c in checks)
    if failed:
        out.write(f"{failed} problem{'s' if failed != 1 else ''} to fix before the first run\n")
    else:
        out.write(
            "ready" + (f" ({warned} warning{'s' if warned != 1 else ''})" if warned else "") + "\n"
        )


def main(argv: Sequence[str]) -> int:
    return doctor_command(argv, out=sys.stdout)
