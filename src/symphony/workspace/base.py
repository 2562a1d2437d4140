"""Where a workspace's base commit is kept: ``<root>/.symphony~bases/<key>``.

The base is the commit the workspace stood at right after ``after_create``; the proof of work is
measured from it. It lives beside the workspaces, not inside one: the agent can rewrite anything
in its workspace (``.git`` included) but not the root. The directory name holds a ``~``, which
no workspace key can contain, so it never collides with an issue's workspace.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

BASES_DIR = ".symphony~bases"
_SHA = re.compile(r"\A[0-9a-f]{40}(?:[0-9a-f]{24})?\Z")  # SHA-1 or SHA-256 object names


def base_record_path(root: Path, key: str) -> Path:
    return Path(root) / BASES_DIR / key


def write_base(root: Path, key: str, sha: str) -> None:
    """Record ``sha`` as the base of workspace ``key``; replaces any earlier record atomically."""
    if not _SHA.match(sha):
        raise ValueError(f"not a commit id: {sha!r}")
    folder = Path(root) / BASES_DIR
    folder.mkdir(exist_ok=True)
    target = folder / key
    temporary = folder / f".{key}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w") as handle:
        handle.write(sha + "\n")
    temporary.replace(target)


def read_base(root: Path, key: str) -> str | None:
    """The recorded base of workspace ``key``; None when there is none or it is unreadable."""
    try:
        fd = os.open(base_record_path(root, key), os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as handle:
            text = handle.read(200).decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text if _SHA.match(text) else None


def remove_base(root: Path, key: str) -> None:
    """Forget the base of workspace ``key`` (no error when there was none)."""
    with contextlib.suppress(FileNotFoundError):
        base_record_path(root, key).unlink()
