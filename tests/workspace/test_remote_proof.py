"""The proof of work read on a worker host (docs/workers.md): the host's script run by a local
bash standing in for the host's login shell, against what ``collect_git_proof`` reads here from
the same repository. Over real sshd hosts: tests/orchestrator/test_remote_proof_ssh.py."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from symphony.workspace.proof import collect_git_proof, read_head
from symphony.workspace.remote_proof import PROOF_MARKER, parse_proof_output, proof_script
from tests.workspace.test_proof import by_path, commit_all, git, repo

__all__ = ["repo"]  # fixture


def on_host(script: str, home: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["bash", "--norc", "-c", "echo 'profile noise'\n" + script],
        capture_output=True,
        timeout=30,
        check=False,
        env={"HOME": str(home), "PATH": "/usr/bin:/bin", "GIT_DIR": "/elsewhere"},
        cwd="/",
    )


def snapshot_git(path: Path) -> dict[str, bytes]:
    """Every file under .git with its content: the host's read must change none."""
    git_dir = path / ".git"
    return {str(p.relative_to(git_dir)): p.read_bytes() for p in git_dir.rglob("*") if p.is_file()}


async def test_the_host_reads_what_this_machine_reads(repo: Path, tmp_path: Path) -> None:
    base = await read_head(repo)
    assert base is not None
    (repo / "keep.txt").write_text("one\nTWO\nthree\nfour\n")
    first = commit_all(repo, "edit keep")
    (repo / "gone.txt").unlink()
    (repo / "keep.txt").write_text("one\nTWO\nthree\nfour\nfive\n")  # uncommitted edit
    (repo / "untracked.txt").write_text("new\nfile\n")
    (repo / "odd name\tand tab.md").write_text("odd\n")
    (repo / "sub").mkdir()
    (repo / "sub" / "data.bin").write_bytes(b"\0\1\2" * 9)
    (repo / "ignored.log").write_text("noise\n")
    before = snapshot_git(repo)

    done = on_host(proof_script(str(repo), base), tmp_path)
    assert done.returncode == 0, done.stderr
    remote = parse_proof_output(done.stdout, base)
    local = await collect_git_proof(repo, base)

    assert remote.error is None and remote.git, remote
    assert snapshot_git(repo) == before
    assert (remote.base, remote.head, remote.commits) == (local.base, local.head, local.commits)
    assert remote.head == first
    assert remote.files == local.files
    files = by_path(remote)
    assert files["untracked.txt"].untracked and files["untracked.txt"].added == 2
    assert files["sub/data.bin"].binary and files["sub/data.bin"].untracked
    assert files["keep.txt"].uncommitted and not files["keep.txt"].untracked
    assert "ignored.log" not in files

    def changes(diff: str) -> list[str]:
        lines = diff.splitlines()
        return sorted(line for line in lines if line[:1] in "+-" and line[:3] not in ("+++", "---"))

    # The same changes; git's own new-file diffs carry an index line ours do not, and quote an
    # odd name in their headers.
    assert changes(remote.diff) == changes(local.diff)
    assert "Binary files /dev/null and b/sub/data.bin differ" in remote.diff
    assert "+five" in remote.diff and "+new" in remote.diff and "noise" not in remote.diff


async def test_a_long_diff_is_cut_on_the_host_and_says_so(repo: Path, tmp_path: Path) -> None:
    base = await read_head(repo)
    assert base is not None
    (repo / "big.txt").write_text("x" * 5_000)
    done = on_host(proof_script(str(repo), base, max_diff_bytes=1_000), tmp_path)
    assert done.returncode == 0, done.stderr
    proof = parse_proof_output(done.stdout, base, max_diff_bytes=1_000)
    assert proof.diff_truncated
    assert proof.diff.endswith("\n[diff truncated at 1000 bytes]\n")
    assert by_path(proof)["big.txt"].added == 1


async def test_a_base_the_repository_lacks_or_no_repository_is_said(
    repo: Path, tmp_path: Path
) -> None:
    missing = on_host(proof_script(str(repo), "f" * 40), tmp_path)
    assert missing.returncode == 4 and b"is not in the repository" in missing.stderr
    plain = tmp_path / "plain"
    plain.mkdir()
    none = on_host(proof_script(str(plain), "f" * 40), tmp_path)
    assert none.returncode == 3 and b"not a git repository" in none.stderr
    with pytest.raises(ValueError, match="not a commit id"):
        proof_script(str(repo), "HEAD; rm -rf /")


@pytest.mark.parametrize(
    "output",
    [b"", b"noise\n", PROOF_MARKER.encode() + b"\nhead 5\n", PROOF_MARKER.encode() + b"\nhead x\n"],
)
def test_an_answer_without_the_whole_framing_is_an_error(output: bytes) -> None:
    proof = parse_proof_output(output, "a" * 40)
    assert proof.error is not None and proof.files == () and proof.diff == ""


async def test_planted_hooks_and_external_diffs_never_run_on_the_host(
    repo: Path, tmp_path: Path
) -> None:
    base = await read_head(repo)
    assert base is not None
    marker = tmp_path / "ran"
    git(repo, "config", "diff.external", f"touch {marker}; false")
    git(repo, "config", "core.fsmonitor", f"touch {marker}; false")
    git(repo, "config", "core.pager", f"touch {marker}; cat")
    (repo / "keep.txt").write_text("changed\n")
    done = on_host(proof_script(str(repo), base), tmp_path)
    assert done.returncode == 0, done.stderr
    assert "+changed" in parse_proof_output(done.stdout, base).diff
    assert not marker.exists()
