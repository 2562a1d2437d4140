"""`symphony doctor`: each check failed on purpose, with its one-line fix."""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import socket
import sqlite3
import textwrap
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from symphony.checks import Check
from symphony.onboard import doctor
from symphony.onboard.doctor import doctor_command, run_checks
from symphony.storage.store import StateStore
from tests.support.fake_github import FakeGitHub
from tests.support.fake_github import schema_available as github_schema_available
from tests.support.fake_linear import DEFAULT_API_KEY, DEFAULT_PROJECT_SLUG, FakeLinear
from tests.support.fake_linear import schema_available as linear_schema_available
from tests.support.sshd import SshCluster, ssh_cluster, ssh_cluster_session

__all__ = ["ssh_cluster", "ssh_cluster_session"]  # fixtures


def workflow(directory: Path, front: str, *, name: str = "WORKFLOW.md") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    body = textwrap.dedent(front).strip("\n")
    path.write_text(f"---\n{body}\n---\nWork on {{{{ issue.identifier }}}}.\n")
    return path


def executable(directory: Path, name: str, script: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A clean environment: a fake codex 0.169.0 on PATH, an empty home, no credentials."""
    bin_dir = tmp_path / "bin"
    executable(bin_dir, "codex", 'echo "codex-cli 0.169.0"')
    home = tmp_path / "home"
    home.mkdir()
    path = f"{bin_dir}:{os.environ['PATH']}"
    return {"PATH": path, "HOME": str(home), "CODEX_HOME": str(home / ".codex")}


LOCAL = """
tracker:
  kind: local
server:
  port: 0
"""


def local(tmp_path: Path, extra: str = "", *, sandbox: str = "dangerFullAccess") -> str:
    # Absolute commands: a login shell's profile (Debian's /etc/profile) resets PATH. The fake
    # codex has no native binary for codex's own sandbox to use: tests turn it off but one.
    return (
        LOCAL
        + f"codex:\n  command: {tmp_path}/bin/codex app-server\n"
        + f"  turn_sandbox_policy:\n    type: {sandbox}\n"
        + extra
    )


def checks(path: Path, env: Mapping[str, str]) -> dict[str, Check]:
    found = asyncio.run(run_checks(path, env))
    return {check.name: check for check in found}


def failed(found: Mapping[str, Check], name: str, fix: str) -> Check:
    check = found[name]
    assert check.status == "fail", check
    assert check.fix is not None and fix in check.fix, check
    assert "\n" not in check.fix
    return check


# -- the machine and the workflow ---------------------------------------------------------------


def test_python_older_than_3_11() -> None:
    check = doctor.python_check((3, 10, 4))
    assert (check.status, check.detail) == ("fail", "Python 3.10.4")
    assert check.fix == "install Python 3.11 or newer and reinstall Symphony"
    assert doctor.python_check((3, 11, 0)).status == "ok"


def test_git_missing(tmp_path: Path) -> None:
    check = doctor.git_check({"PATH": str(tmp_path)})
    assert check.status == "fail" and check.fix == "install git (Debian: apt-get install git)"
    assert doctor.git_check(os.environ).detail.startswith("git version")


def test_no_workflow(tmp_path: Path, env: dict[str, str]) -> None:
    found = checks(tmp_path / "WORKFLOW.md", env)
    check = failed(found, "workflow", "`symphony init` writes one")
    assert "WORKFLOW.md" in check.detail
    assert "codex binary" not in found  # nothing else can be checked without a workflow


def test_a_clean_local_setup_passes(tmp_path: Path, env: dict[str, str]) -> None:
    path = workflow(tmp_path, local(tmp_path))
    found = checks(path, env)
    assert found["workflow"].status == "ok"
    assert found["codex binary"].detail == "codex 0.169.0 (tested)"
    assert {c.status for n, c in found.items() if n != "codex credentials"} == {"ok"}


def test_workspace_root_in_the_way(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "taken").write_text("a file")
    path = workflow(tmp_path, local(tmp_path, "workspace:\n  root: taken/workspaces\n"))
    failed(checks(path, env), "workspace root", "set workspace.root to a directory path")


def test_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        check = doctor.port_check("127.0.0.1", port)
    assert check.status == "fail"
    assert check.fix == (
        "stop what listens there (a running Symphony?), or pick another server.port"
    )
    assert doctor.port_check("127.0.0.1", 0).status == "ok"


def test_sandbox_without_bwrap(tmp_path: Path, env: dict[str, str]) -> None:
    path = workflow(tmp_path, local(tmp_path, "sandbox:\n  kind: bwrap\n  bwrap: no-such-bwrap\n"))
    check = failed(checks(path, env), "sandbox", "install bubblewrap and socat")
    assert "'no-such-bwrap' was not found" in check.detail


def test_state_store_corrupt_newer_or_in_use(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.sqlite"
    corrupt.write_bytes(b"this is not a database" * 100)
    check = doctor.storage_check(corrupt)
    assert check.status == "fail" and check.fix is not None and "--reset-storage" in check.fix

    newer = tmp_path / "newer.sqlite"
    with sqlite3.connect(newer) as db:
        db.execute("PRAGMA user_version = 9999")
    db.close()
    check = doctor.storage_check(newer)
    assert check.status == "fail" and "newer Symphony" in check.detail
    assert check.fix is not None and "Run the newer version" in check.fix

    used = tmp_path / "used.sqlite"
    store = StateStore.open(used)
    try:
        check = doctor.storage_check(used)
    finally:
        store.close()
    assert check.status == "warn" and "locked by another process" in check.detail
    assert doctor.storage_check(used).detail.endswith("is healthy")
    assert doctor.storage_check(tmp_path / "new.sqlite").detail.endswith("is created at start")


def test_local_board_unreadable_and_review_states(tmp_path: Path, env: dict[str, str]) -> None:
    board = tmp_path / ".symphony" / "board.sqlite"
    board.parent.mkdir()
    board.write_bytes(b"garbage" * 1000)
    found = checks(workflow(tmp_path, local(tmp_path)), env)
    failed(found, "local board", f"move {board} away")

    states = "[Todo, In Progress, Merging, Rework, Done, Cancelled]"
    path = workflow(
        tmp_path,
        local(tmp_path).replace("kind: local", f"kind: local\n  provider:\n    states: {states}"),
    )
    board.unlink()
    check = checks(path, env)["local board states"]
    assert check.status == "warn" and "'Human Review'" in check.detail
    assert check.fix == "add the states to tracker.provider.states, or rename them in WORKFLOW.md"


# -- agents ---------------------------------------------------------------------------------------


def test_codex_missing_or_untested(tmp_path: Path, env: dict[str, str]) -> None:
    path = workflow(tmp_path, LOCAL + "codex:\n  command: no-such-codex app-server\n")
    failed(checks(path, env), "codex binary", "npm install -g @openai/codex@0.169.0")

    executable(tmp_path / "bin", "codex", 'echo "codex-cli 0.100.0"')
    check = checks(workflow(tmp_path, local(tmp_path)), env)["codex binary"]
    assert check.status == "warn" and "tested with 0.169.0" in check.detail
    assert check.fix == "npm install -g @openai/codex@0.169.0"


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs a system bwrap")
def test_codex_sandbox_without_its_helper(tmp_path: Path, env: dict[str, str]) -> None:
    path = workflow(tmp_path, local(tmp_path, sandbox="workspaceWrite"))
    failed(checks(path, env), "codex sandbox", "put a codex-linux-sandbox symlink")


def test_codex_without_credentials(tmp_path: Path, env: dict[str, str]) -> None:
    check = failed(
        checks(workflow(tmp_path, local(tmp_path)), env), "codex credentials", "codex login"
    )
    assert check.detail == "Codex has no credentials"
    Path(env["CODEX_HOME"]).mkdir()
    (Path(env["CODEX_HOME"]) / "auth.json").write_text('{"OPENAI_API_KEY": "sk-test"}')
    assert checks(workflow(tmp_path, local(tmp_path)), env)["codex credentials"].status == "ok"


def claude(tmp_path: Path, command: str = "") -> str:
    command = command or f"{tmp_path}/bin/claude"
    return (
        LOCAL
        + f"agent:\n  kind: claude_code\nclaude_code:\n  sandbox: false\n  command: {command}\n"
    )


def test_claude_untested_or_without_credentials(tmp_path: Path, env: dict[str, str]) -> None:
    executable(tmp_path / "bin", "claude", 'echo "2.0.1 (Claude Code)"')
    found = checks(workflow(tmp_path, claude(tmp_path)), env)
    assert found["claude binary"].status == "warn"
    assert found["claude binary"].fix == "npm install @anthropic-ai/claude-code@2.1.328"
    failed(found, "claude credentials", "set ANTHROPIC_API_KEY")
    found = checks(workflow(tmp_path, claude(tmp_path)), {**env, "ANTHROPIC_API_KEY": "sk-ant"})
    assert found["claude credentials"].status == "ok"


def test_claude_sandbox_without_bwrap_and_socat(tmp_path: Path, env: dict[str, str]) -> None:
    executable(tmp_path / "bin", "claude", 'echo "2.1.328 (Claude Code)"')
    # A PATH with a shell but neither bwrap nor socat.
    bare = tmp_path / "bare"
    bare.mkdir()
    for tool in ("bash", "sh"):
        (bare / tool).symlink_to(shutil.which(tool) or f"/bin/{tool}")
    front = claude(tmp_path).replace("sandbox: false", "sandbox: true")
    check = failed(
        checks(workflow(tmp_path, front), {**env, "PATH": str(bare)}),
        "claude sandbox",
        "install them (Debian: apt-get install bubblewrap socat)",
    )
    assert "bwrap and socat" in check.detail


def test_claude_missing(tmp_path: Path, env: dict[str, str]) -> None:
    path = workflow(tmp_path, claude(tmp_path, "no-such-claude"))
    failed(checks(path, env), "claude binary", "install Claude Code")


def test_acp_agent_missing(tmp_path: Path, env: dict[str, str]) -> None:
    path = workflow(tmp_path, LOCAL + "agent:\n  kind: acp\nacp:\n  command: no-such-agent\n")
    failed(checks(path, env), "acp agent", "set acp.command to the command that starts it")


def test_a_check_that_crashes_is_reported_not_raised(
    tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_: object, **__: object) -> list[Check]:
        raise RuntimeError("plugin bug")

    monkeypatch.setattr(doctor, "agent_checks", broken)
    check = checks(workflow(tmp_path, local(tmp_path)), env)["agent checks"]
    assert check.status == "fail" and "RuntimeError: plugin bug" in check.detail


# -- trackers -------------------------------------------------------------------------------------


@pytest.fixture
def linear() -> Iterator[FakeLinear]:
    if not linear_schema_available():
        pytest.skip("Linear's published schema is not available")
    with FakeLinear() as fake:
        yield fake
    assert not fake.rejected, [r.errors for r in fake.rejected]


def linear_workflow(tmp_path: Path, url: str, *, slug: str = DEFAULT_PROJECT_SLUG) -> Path:
    return workflow(
        tmp_path / slug,
        f"""
        tracker:
          kind: linear
          provider:
            endpoint: {url}
            project_slug: {slug}
            api_key: $LINEAR_KEY
          active_states: [Todo, In Progress, Merging, Rework]
          terminal_states: [Done, Canceled]
        server:
          port: 0
        """,
    )


def test_linear_key_project_and_states(
    tmp_path: Path, env: dict[str, str], linear: FakeLinear
) -> None:
    path = linear_workflow(tmp_path, linear.url)
    failed(checks(path, env), "linear key", "create a personal API key")

    keyed = {**env, "LINEAR_KEY": DEFAULT_API_KEY}
    found = checks(path, keyed)
    assert found["linear project"].status == "ok"
    assert found["linear states"].status == "ok", found["linear states"]

    failed(checks(path, {**env, "LINEAR_KEY": "lin_api_wrong"}), "linear project", "check the key")

    wrong_slug = linear_workflow(tmp_path, linear.url, slug="no-such-project")
    failed(checks(wrong_slug, keyed), "linear project", "set tracker.provider.project_slug")

    text = path.read_text().replace("[Todo, In Progress", "[Todo, QA, In Progress")
    path.write_text(text)
    check = failed(checks(path, keyed), "linear states", "add the states in Linear")
    assert "'QA'" in check.detail


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    if not github_schema_available():
        pytest.skip("GitHub's published schema is not available")
    fake = FakeGitHub(token="ghp_doctor0123456789abcdefABCDEF0123456").start()
    try:
        yield fake
    finally:
        fake.stop()
    assert not fake.rejected, [r.errors for r in fake.rejected]


def github_workflow(tmp_path: Path, url: str, *, repository: str = "acme/app") -> Path:
    return workflow(
        tmp_path / repository.replace("/", "-"),
        f"""
        tracker:
          kind: github
          provider:
            endpoint: {url}
            repository: {repository}
            project_owner: acme
            project_number: 7
            api_key: $GH_KEY
          active_states: [Todo, In Progress]
          terminal_states: [Done, Closed]
        server:
          port: 0
        """,
    )


def test_github_token_repository_board_and_states(
    tmp_path: Path, env: dict[str, str], github: FakeGitHub
) -> None:
    path = github_workflow(tmp_path, github.url)
    failed(checks(path, env), "github token", "export GITHUB_TOKEN")

    keyed = {**env, "GH_KEY": github.token or ""}
    failed(checks(path, keyed), "github board", "export GITHUB_TOKEN")

    github.add_project("acme", 7, statuses=("Todo", "Done"))
    check = failed(checks(path, keyed), "github states", "add the options to the board's Status")
    assert "'In Progress'" in check.detail
    assert checks(path, keyed)["github repository"].status == "ok"

    github.add_project("acme", 8, statuses=("Todo", "In Progress", "Human Review", "Done"))
    path.write_text(path.read_text().replace("project_number: 7", "project_number: 8"))
    found = checks(path, keyed)
    assert found["github board"].status == "ok"
    assert found["github states"].status == "warn"  # Merging and Rework are review states

    other = github_workflow(tmp_path, github.url, repository="acme/nope")
    failed(checks(other, keyed), "github repository", "fix tracker.provider.repository")


def test_worker_hosts_reachable_with_codex_or_not(
    tmp_path: Path, env: dict[str, str], ssh_cluster: SshCluster
) -> None:
    a = ssh_cluster["worker-a"]
    executable(a.home / "bin", "codex", 'echo "codex-cli 0.169.0"')
    a.write_profile('export PATH="$HOME/bin:$PATH"\n')
    hosts = "worker:\n  ssh_hosts: [worker-a, worker-b, worker-c]\n"
    path = workflow(tmp_path, LOCAL + hosts)
    found = checks(path, {**env, "SYMPHONY_SSH_CONFIG": os.environ["SYMPHONY_SSH_CONFIG"]})
    assert found["worker worker-a"].status == "ok", found["worker worker-a"]
    failed(found, "worker worker-b", "install codex on the host")  # reachable, no codex
    failed(found, "worker worker-c", "check SYMPHONY_SSH_CONFIG")  # no such host
    assert "codex binary" not in found  # the agents run on the hosts, not here


# -- the command ----------------------------------------------------------------------------------


def test_json_output_and_exit_code(tmp_path: Path, env: dict[str, str]) -> None:
    out = io.StringIO()
    assert (
        doctor_command([str(workflow(tmp_path, local(tmp_path))), "--json"], out=out, env=env) == 1
    )
    report = json.loads(out.getvalue())
    assert report["ok"] is False
    names = [c["name"] for c in report["checks"]]
    assert names[:3] == ["python", "git", "workflow"]
    credentials = next(c for c in report["checks"] if c["name"] == "codex credentials")
    assert credentials["status"] == "fail" and "codex login" in credentials["fix"]

    Path(env["CODEX_HOME"]).mkdir()
    (Path(env["CODEX_HOME"]) / "auth.json").write_text('{"OPENAI_API_KEY": "sk-test"}')
    out = io.StringIO()
    assert doctor_command([str(tmp_path / "WORKFLOW.md")], out=out, env=env) == 0
    assert out.getvalue().splitlines()[-1] == "ready"
