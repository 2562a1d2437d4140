"""Proof of work read with real git: commits, every kind of change, limits, and hostile repos."""

from __future__ import annotations

import os
import select
import subprocess
from pathlib import Path

import pytest

from symphony.workspace.proof import (
    GitProof,
    ProofFile,
    collect_git_proof,
    count_text,
    merge_files,
    new_file_diff,
    parse_filter_names,
    parse_log,
    parse_numstat_z,
    read_head,
)


def git(repo: Path, *args: str) -> str:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.fspath(repo.parent),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    done = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, check=True, timeout=30
    )
    return done.stdout.decode()


def commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "ws"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / "keep.txt").write_text("one\ntwo\nthree\n")
    (path / "gone.txt").write_text("bye\n")
    (path / "moved.txt").write_text("".join(f"line {i}\n" for i in range(20)))
    (path / ".gitignore").write_text("ignored.log\n")
    commit_all(path, "base")
    return path


def by_path(proof: GitProof) -> dict[str, ProofFile]:
    return {f.path: f for f in proof.files}


# --- parsing ------------------------------------------------------------------------------


def test_numstat_parses_plain_binary_and_rename_records() -> None:
    out = b"3\t1\ta.txt\0-\t-\timg.png\x000\t0\t\0old name.txt\0new name.txt\0"
    files = parse_numstat_z(out)
    assert files == [
        ProofFile("a.txt", 3, 1),
        ProofFile("img.png", None, None, binary=True),
        ProofFile("new name.txt", 0, 0, old_path="old name.txt"),
    ]


def test_numstat_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        parse_numstat_z(b"nonsense\0")
    with pytest.raises(ValueError):
        parse_numstat_z(b"1\t1\t\0only-old\0")


def test_log_and_filter_names_parse() -> None:
    assert parse_log(b"aaa\x1ffirst\x1e\nbbb\x1fsecond: x\x1e\n") == [
        parse_log(b"aaa\x1ffirst\x1e")[0],
        parse_log(b"bbb\x1fsecond: x\x1e")[0],
    ]
    assert [c.subject for c in parse_log(b"aaa\x1ffirst\x1e\nbbb\x1fsecond: x\x1e\n")] == [
        "first",
        "second: x",
    ]
    assert parse_filter_names(b"filter.lfs.clean\0filter.a.b.smudge\0core.x\0") == ["a.b", "lfs"]


def test_counts_and_new_file_diff() -> None:
    assert count_text(b"") == (0, False)
    assert count_text(b"a\nb") == (2, False)
    assert count_text(b"a\0b") == (None, True)
    assert new_file_diff("n.txt", b"x\ny\n") == (
        "diff --git a/n.txt b/n.txt\nnew file mode 100644\n--- /dev/null\n+++ b/n.txt\n"
        "@@ -0,0 +1,2 @@\n+x\n+y\n"
    )
    assert "No newline" in new_file_diff("n.txt", b"x")
    assert "Binary files" in new_file_diff("b.bin", b"\0\1")


def test_merge_flags_uncommitted_through_renames_and_adds_untracked() -> None:
    tracked = [ProofFile("b", 1, 0), ProofFile("new", 0, 0, old_path="old"), ProofFile("c", 1, 1)]
    untracked = [ProofFile("u", 2, 0, uncommitted=True, untracked=True)]
    merged = {f.path: f for f in merge_files(tracked, {"old", "c"}, untracked)}
    assert not merged["b"].uncommitted
    assert merged["new"].uncommitted
    assert merged["c"].uncommitted
    assert merged["u"].untracked


# --- real repositories --------------------------------------------------------------------


async def test_collects_commits_and_every_kind_of_change(repo: Path) -> None:
    base = await read_head(repo)
    assert base is not None
    (repo / "keep.txt").write_text("one\nTWO\nthree\nfour\n")
    first = commit_all(repo, "edit keep")
    git(repo, "mv", "moved.txt", "renamed.txt")
    (repo / "gone.txt").unlink()
    (repo / "image.bin").write_bytes(b"\0\1\2\3" * 10)
    second = commit_all(repo, "rename, delete, binary")
    (repo / "keep.txt").write_text("one\nTWO\nthree\nfour\nfive\n")  # uncommitted edit
    (repo / "untracked.txt").write_text("new\nfile\n")
    (repo / "ignored.log").write_text("noise\n")
    (repo / "link").symlink_to("/etc/passwd")  # untracked: its target is the content

    proof = await collect_git_proof(repo, base)

    assert proof.git and proof.error is None, proof
    assert proof.base == base and proof.head == second
    assert [(c.sha, c.subject) for c in proof.commits] == [
        (first, "edit keep"),
        (second, "rename, delete, binary"),
    ]
    files = by_path(proof)
    assert set(files) == {
        "keep.txt",
        "gone.txt",
        "renamed.txt",
        "image.bin",
        "untracked.txt",
        "link",
    }
    assert files["link"].added == 1 and "new file mode 120000" in proof.diff
    assert "root:" not in proof.diff
    assert (files["keep.txt"].added, files["keep.txt"].removed) == (3, 1)
    assert files["keep.txt"].uncommitted
    assert (files["gone.txt"].added, files["gone.txt"].removed) == (0, 1)
    assert not files["gone.txt"].uncommitted
    assert files["renamed.txt"].old_path == "moved.txt"
    assert files["image.bin"].binary and files["image.bin"].added is None
    assert files["untracked.txt"].untracked and files["untracked.txt"].added == 2
    assert "+five" in proof.diff and "+new" in proof.diff and "noise" not in proof.diff
    assert "rename to renamed.txt" in proof.diff
    assert not proof.diff_truncated
    as_json = proof.to_json()
    assert as_json["commits"][0] == {"sha": first, "subject": "edit keep"}
    assert {"path", "added", "removed", "uncommitted"} <= set(as_json["files"][0])
    assert "diff" not in as_json


async def test_commits_are_bounded_keeping_the_newest(repo: Path) -> None:
    base = await read_head(repo)
    shas = []
    for i in range(4):
        (repo / "keep.txt").write_text(f"{i}\n")
        shas.append(commit_all(repo, f"c{i}"))
    proof = await collect_git_proof(repo, base, max_commits=2)
    assert proof.commits_truncated
    assert [c.sha for c in proof.commits] == shas[2:]


async def test_big_diff_is_truncated_with_a_note(repo: Path) -> None:
    base = await read_head(repo)
    (repo / "keep.txt").write_text("x" * 50_000 + "\n")
    (repo / "big-untracked.txt").write_text("y\n" * 10_000)
    proof = await collect_git_proof(repo, base, max_diff_bytes=4096)
    assert proof.diff_truncated
    assert proof.diff.endswith("[diff truncated at 4096 bytes]\n")
    assert len(proof.diff.encode()) < 4096 + 100
    assert by_path(proof)["big-untracked.txt"].added == 10_000


async def test_untracked_file_beyond_the_read_limit_is_counted_whole(repo: Path) -> None:
    base = await read_head(repo)
    (repo / "huge.txt").write_bytes(b"z\n" * 1_500_000)  # 3 MB, past the 2 MiB read limit
    proof = await collect_git_proof(repo, base, max_diff_bytes=8 * 1024 * 1024)
    assert by_path(proof)["huge.txt"].added == 1_500_000
    assert proof.diff_truncated


async def test_not_a_repository_and_no_base(tmp_path: Path, repo: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    proof = await collect_git_proof(plain, "abc")
    assert not proof.git and proof.reason and "not a git repository" in proof.reason
    assert await read_head(plain) is None
    proof = await collect_git_proof(repo, None)
    assert not proof.git and proof.reason and "no base" in proof.reason


async def test_unknown_base_and_empty_repository(tmp_path: Path, repo: Path) -> None:
    proof = await collect_git_proof(repo, "0" * 40)
    assert not proof.git and proof.reason and "not in the repository" in proof.reason
    proof = await collect_git_proof(repo, "--output=/tmp/x")
    assert not proof.git and proof.reason and "not a commit id" in proof.reason
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q")
    assert await read_head(empty) is None


async def test_git_dir_that_is_a_file_is_not_followed(tmp_path: Path, repo: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / ".git").write_text(f"gitdir: {repo / '.git'}\n")
    assert await read_head(other) is None
    assert not (await collect_git_proof(other, "abc")).git


async def test_a_timed_out_git_becomes_an_error_and_its_group_dies(
    tmp_path: Path, repo: Path
) -> None:
    base = await read_head(repo)
    pid_file = tmp_path / "child.pid"
    fake = tmp_path / "slow-git"
    # The stuck call leaves a grandchild; killing only the leader would leave it running.
    fake.write_text(
        "#!/bin/sh\n"
        f'case "$*" in *cat-file*) sleep 30 & echo $! > {pid_file}; wait; exit 0;; esac\n'
        'exec git "$@"\n'
    )
    fake.chmod(0o755)
    proof = await collect_git_proof(repo, base, git=os.fspath(fake), timeout_s=0.5)
    assert proof.error is not None and "timed out" in proof.error
    grandchild = int(pid_file.read_text())
    try:
        pidfd = os.pidfd_open(grandchild)
    except ProcessLookupError:
        return  # already gone and reaped
    try:
        # A pidfd turns readable when its process has exited; the kill was already sent.
        assert select.select([pidfd], [], [], 5.0)[0], "the timed-out call's grandchild survived"
    finally:
        os.close(pidfd)


async def test_planted_programs_never_run(tmp_path: Path, repo: Path) -> None:
    base = await read_head(repo)
    (repo / "x.cfg").write_text("k=v\n")
    head = commit_all(repo, "a tracked file for the filter whose name holds '='")
    marker = tmp_path / "ran"
    script = tmp_path / "evil.sh"
    script.write_text(f'#!/bin/sh\necho "$0 $*" >> {marker}\ncat\n')
    script.chmod(0o755)
    hooks = repo / ".git" / "hooks"
    for hook in ("post-checkout", "pre-commit", "post-index-change", "fsmonitor-watchman"):
        (hooks / hook).write_text(script.read_text())
        (hooks / hook).chmod(0o755)
    for key, value in [
        ("core.fsmonitor", os.fspath(script)),
        ("core.hooksPath", os.fspath(hooks)),
        ("diff.external", os.fspath(script)),
        ("diff.evil.command", os.fspath(script)),
        ("diff.evil.textconv", os.fspath(script)),
        ("filter.evil.clean", os.fspath(script)),
        ("filter.evil.smudge", os.fspath(script)),
        ("filter.evil.required", "true"),
        ("filter.proc.process", os.fspath(script)),
        ("filter.a=b.clean", os.fspath(script)),  # "-c filter.a=b.clean=" would miss it
        ("core.pager", os.fspath(script)),
        ("pager.diff", os.fspath(script)),
        ("pager.log", os.fspath(script)),
        ("log.showSignature", "true"),
        ("gpg.program", os.fspath(script)),
        ("core.worktree", os.fspath(tmp_path)),
    ]:
        git(repo, "config", key, value)
    (repo / ".gitattributes").write_text(
        "*.txt filter=evil diff=evil\n*.md filter=proc\n*.cfg filter=a=b\n"
    )
    (repo / "keep.txt").write_text("changed\n")
    (repo / "notes.md").write_text("hello\n")
    (repo / "x.cfg").write_text("k=w\n")
    git(
        repo,
        "-c",
        "core.fsmonitor=false",
        "-c",
        f"core.hooksPath={os.devnull}",
        "add",
        "-N",
        "notes.md",
    )

    proof = await collect_git_proof(repo, base)
    assert await read_head(repo) == head

    assert not marker.exists(), marker.read_text()
    assert proof.git and proof.error is None, proof
    assert "+changed" in proof.diff  # the raw content: no textconv, no filter
    assert {"keep.txt", "notes.md", "x.cfg", ".gitattributes"} <= set(by_path(proof))
