"""The remote workspace scripts (docs/workers.md), run by a local bash standing in for the host's
login shell: create or reuse ``<root>/<key>`` under the remote ``~``, and the checks on what the
host reports back. The whole path over real sshd hosts: tests/orchestrator/test_ssh_workers.py."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from symphony.issue import Issue
from symphony.ssh import WORKSPACE_MARKER, parse_target
from symphony.workspace.errors import WorkspaceError
from symphony.workspace.hooks import HookContext
from symphony.workspace.remote import (
    bounded_script,
    fingerprint_script,
    hook_exports,
    parse_base,
    parse_prepared,
    prepare_script,
    record_base_script,
)
from tests.support.processes import marked
from tests.support.waiting import wait_until_sync

TARGET = parse_target("worker-a")


def run(script: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "--norc", "-c", script],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
        env={"HOME": str(home), "PATH": "/usr/bin:/bin"},
        cwd="/",
    )


def test_prepare_creates_under_the_remote_home_then_reuses(tmp_path: Path) -> None:
    first = run(prepare_script("~/work spaces", "MT-1"), tmp_path)
    assert first.returncode == 0, first.stderr
    created, path = parse_prepared(first.stdout, TARGET, "MT-1")
    assert created and path == str(tmp_path / "work spaces" / "MT-1")
    again = run(prepare_script("~/work spaces", "MT-1"), tmp_path)
    assert parse_prepared(again.stdout, TARGET, "MT-1") == (False, path)


def test_prepare_refuses_a_symlink_or_a_file_in_the_workspace_place(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "MT-1").symlink_to(tmp_path)
    (root / "MT-2").write_text("not a directory")
    for key in ("MT-1", "MT-2"):
        out = run(prepare_script(str(root), key), tmp_path)
        assert out.returncode == 3
        assert "is not a real directory" in out.stderr


@pytest.mark.parametrize(
    "output",
    [
        "",
        f"{WORKSPACE_MARKER}1 relative/MT-1\n",
        f"{WORKSPACE_MARKER}2 /ws/MT-1\n",
        f"{WORKSPACE_MARKER}1 /ws/OTHER\n",
        f"{WORKSPACE_MARKER}1 \n",
        f"{WORKSPACE_MARKER}1 /ws/a\x00b/MT-1\n",
    ],
)
def test_what_the_host_reports_is_checked(output: str) -> None:
    with pytest.raises(WorkspaceError) as caught:
        parse_prepared(output, TARGET, "MT-1")
    assert caught.value.code == "workspace_path_invalid"
    assert "worker-a" in caught.value.message


def test_profile_noise_before_the_marker_is_ignored() -> None:
    output = f"welcome to the host\n{WORKSPACE_MARKER}0 /home/ci/ws/MT-1\n"
    assert parse_prepared(output, TARGET, "MT-1") == (False, "/home/ci/ws/MT-1")


def test_hook_variables_survive_the_remote_shell_whatever_the_tracker_wrote(
    tmp_path: Path,
) -> None:
    title = "it's '$ws' $(touch pwned) \"q\" `x`"
    issue = Issue(id="id-1", identifier="MT-1", title=title, state="Todo", dispatchable=True)
    context = HookContext(Path("/"), Path("/"), "MT-1", issue, 2)
    script = (
        "root=/srv/root\nws=/srv/root/MT-1\n"
        + hook_exports(context, "before_remove", paths_in_shell=True)
        + 'printf "%s\\n" "$SYMPHONY_ISSUE_TITLE" "$SYMPHONY_WORKSPACE" "$SYMPHONY_WORKSPACE_ROOT"'
        + ' "$SYMPHONY_HOOK" "$SYMPHONY_ATTEMPT"'
    )
    out = run(script, tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [title, "/srv/root/MT-1", "/srv/root", "before_remove", "2"]
    assert not (Path("/") / "pwned").exists()


@pytest.mark.parametrize("with_git", [False, True])
def test_the_remote_fingerprint_changes_with_the_workspace_only(
    tmp_path: Path, with_git: bool
) -> None:
    workspace = tmp_path / "MT-1"
    workspace.mkdir()
    (workspace / "a.txt").write_text("one")
    if with_git:
        git = ["git", "-C", str(workspace), "-c", "user.name=t", "-c", "user.email=t@t"]
        subprocess.run([*git, "init", "-q"], check=True, timeout=30)
        subprocess.run([*git, "add", "a.txt"], check=True, timeout=30)
        subprocess.run([*git, "commit", "-qm", "one"], check=True, timeout=30)

    def digest() -> str:
        out = run(fingerprint_script(str(workspace)), tmp_path)
        assert out.returncode == 0, out.stderr
        value, dash = out.stdout.split()
        assert dash == "-" and len(value) == 64
        return value

    first = digest()
    assert digest() == first
    (workspace / "b.txt").write_text("new file")
    second = digest()
    assert second != first
    (workspace / "b.txt").write_text("edited again")
    assert digest() != second


def test_a_remote_script_ends_itself_with_its_children_after_its_timeout(tmp_path: Path) -> None:
    """Killing the local ssh client does not reach the host: the host's `timeout` ends the
    script's whole group a moment after this side gave up."""
    marker = f"symphony-test-remote-{tmp_path.name}"
    script = f"(exec -a {marker} sleep 60) &\nexec -a {marker} sleep 60\n"
    started = time.monotonic()
    done = subprocess.run(
        ["bash", "--norc", "-c", bounded_script(script, 500)],
        capture_output=True,
        timeout=30,
        check=False,
        start_new_session=True,
    )
    assert done.returncode == 124  # timeout's "timed out"
    assert time.monotonic() - started < 10
    assert wait_until_sync(lambda: not marked(marker), "the script's children gone", timeout=5)


def test_a_new_workspace_forgets_a_stale_base_and_a_reused_one_reports_its_own(
    tmp_path: Path,
) -> None:
    records = tmp_path / "ws" / ".symphony~bases"
    records.mkdir(parents=True)
    (records / "MT-1").write_text("a" * 40 + "\n")  # left by an earlier workspace of MT-1
    first = run(prepare_script("~/ws", "MT-1"), tmp_path)
    assert first.returncode == 0, first.stderr
    assert parse_base(first.stdout) is None and not (records / "MT-1").exists()

    workspace = tmp_path / "ws" / "MT-1"
    subprocess.run(["git", "init", "-q", "-b", "main", str(workspace)], check=True, timeout=10)
    who = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(
        ["git", *who, "commit", "-q", "--allow-empty", "-m", "base"],
        cwd=workspace,
        check=True,
        timeout=10,
    )
    recorded = run(record_base_script("~/ws", "MT-1", str(workspace)), tmp_path)
    assert recorded.returncode == 0, recorded.stderr
    base = parse_base(recorded.stdout)
    assert base is not None and (records / "MT-1").read_text() == base + "\n"
    again = run(prepare_script("~/ws", "MT-1"), tmp_path)
    assert parse_base(again.stdout) == base
    assert parse_prepared(again.stdout, TARGET, "MT-1") == (False, str(workspace))


def test_a_workspace_without_a_commit_records_no_base(tmp_path: Path) -> None:
    workspace = tmp_path / "ws" / "MT-1"
    workspace.mkdir(parents=True)
    done = run(record_base_script("~/ws", "MT-1", str(workspace)), tmp_path)
    assert done.returncode == 0, done.stderr
    assert parse_base(done.stdout) is None
    assert not (tmp_path / "ws" / ".symphony~bases" / "MT-1").exists()
    assert parse_base("__symphony_base not-a-sha\n") is None
