"""The workspace digest the unproductive-turn check compares (real git, real files)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from symphony.workspace.fingerprint import fingerprint

GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", *args], cwd=repo, env=GIT_ENV, check=True, capture_output=True, timeout=30
    )


def touch(path: Path, text: str) -> None:
    path.write_text(text)
    # A later write in the same clock tick must still look different: move mtime on.
    stamp = path.stat().st_mtime_ns + 1_000_000
    os.utime(path, ns=(stamp, stamp))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q")
    touch(tmp_path / "a.txt", "one\n")
    git(tmp_path, "add", "a.txt")
    git(tmp_path, "commit", "-q", "-m", "first")
    return tmp_path


async def test_a_git_workspace_changes_with_every_kind_of_edit(repo: Path) -> None:
    seen = {await fingerprint(repo)}
    assert await fingerprint(repo) in seen  # nothing happened: the same digest

    async def changed() -> None:
        digest = await fingerprint(repo)
        assert digest not in seen
        seen.add(digest)

    touch(repo / "a.txt", "two\n")  # a modified file
    await changed()
    touch(repo / "a.txt", "three\n")  # modified again: the status line stays the same
    await changed()
    git(repo, "add", "a.txt")  # the index
    await changed()
    git(repo, "commit", "-q", "-m", "second")  # HEAD
    await changed()
    touch(repo / "new.txt", "x\n")  # untracked
    await changed()
    (repo / "new.txt").unlink()
    (repo / "sub").mkdir()
    touch(repo / "sub" / "deep.txt", "y\n")  # untracked in a new directory
    await changed()


async def test_a_plain_directory_is_listed(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    touch(tmp_path / "d" / "f.txt", "1")
    first = await fingerprint(tmp_path)
    assert await fingerprint(tmp_path) == first
    touch(tmp_path / "d" / "f.txt", "2")
    second = await fingerprint(tmp_path)
    assert second != first
    touch(tmp_path / "g.txt", "new")
    assert await fingerprint(tmp_path) not in {first, second}


async def test_a_broken_repository_falls_back_to_the_listing(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()  # not a repository git can read
    touch(tmp_path / "f.txt", "1")
    first = await fingerprint(tmp_path)
    touch(tmp_path / "f.txt", "2")
    assert await fingerprint(tmp_path) != first
