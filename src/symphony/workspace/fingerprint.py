"""Did a turn change the workspace? A digest taken before and after (docs/holds.md).

In a git work tree: ``HEAD``, the index (its file's size and mtime: ``git add`` rewrites it) and
the working-tree status with the size and mtime of every path it lists, so editing an already
modified file counts as a change too. Outside git (or when git fails): every file's path, size
and mtime, up to ``MAX_FILES`` files (past that, the count and the newest mtime). Git runs with
the proof-of-work safety settings (no hooks, no filters, bounded in time).

A digest is only ever compared with another of the same workspace; it means nothing else.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

from symphony.workspace.proof import GitCallError, is_real_git_dir, prepared_runner

MAX_FILES = 20_000
FINGERPRINT_TIMEOUT_S = 30.0


async def fingerprint(workspace: Path, *, timeout_s: float = FINGERPRINT_TIMEOUT_S) -> str:
    digest = hashlib.sha256()
    if is_real_git_dir(workspace):
        try:
            await _git_state(workspace, digest, timeout_s)
            return digest.hexdigest()
        except GitCallError:
            digest = hashlib.sha256()  # a broken repository: fall back to the listing
    await asyncio.to_thread(_listing, workspace, digest)
    return digest.hexdigest()


async def _git_state(workspace: Path, digest: hashlib._Hash, timeout_s: float) -> None:
    runner = await prepared_runner(workspace, timeout_s=timeout_s)
    try:
        head, _ = await runner.run("rev-parse", "--verify", "--quiet", "HEAD")
    except GitCallError as exc:
        if exc.exit_code != 1:  # 1: no commit yet
            raise
        head = b""
    status, _ = await runner.run(
        "status", "--porcelain=v1", "-z", "--untracked-files=all", "--ignore-submodules"
    )
    digest.update(head)
    digest.update(status)
    git_dir = workspace / ".git"
    paths = [git_dir / "index"] + [
        workspace / entry[3:].decode("utf-8", "surrogateescape")
        for entry in status.split(b"\0")
        if len(entry) > 3
    ]
    await asyncio.to_thread(_stat_into, paths, digest)


def _stat_into(paths: list[Path], digest: hashlib._Hash) -> None:
    for path in paths:
        try:
            info = path.stat()
        except OSError:
            digest.update(b"-\0")
            continue
        digest.update(f"{info.st_size}:{info.st_mtime_ns}\0".encode())


def _listing(workspace: Path, digest: hashlib._Hash) -> None:
    count = 0
    newest = 0
    for root, dirs, files in os.walk(workspace):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        for name in sorted(files):
            path = Path(root) / name
            try:
                info = path.lstat()
            except OSError:
                continue
            count += 1
            newest = max(newest, info.st_mtime_ns)
            if count <= MAX_FILES:
                rel = path.relative_to(workspace)
                digest.update(f"{rel}\0{info.st_size}\0{info.st_mtime_ns}\0".encode())
    digest.update(f"#{count}:{newest}".encode())
