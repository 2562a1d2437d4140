"""Blocking filesystem steps for workspaces; callers run them in a thread (``asyncio.to_thread``).

Nothing here follows a symlink at a workspace path: creation refuses one (see ``paths``), and
deletion uses ``shutil.rmtree``'s file-descriptor walk, which unlinks symlinks found inside the
tree instead of descending into their targets.
"""

from __future__ import annotations

import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from symphony.logs import get_logger
from symphony.workspace.errors import (
    WORKSPACE_CREATE_FAILED,
    WORKSPACE_NOT_DIRECTORY,
    WORKSPACE_REMOVE_FAILED,
    WORKSPACE_SYMLINK_ESCAPE,
    WorkspaceError,
)
from symphony.workspace.paths import canonicalize, validate_workspace_path

log = get_logger("symphony.workspace")

# Creation retries only when another process changes the entry between our checks.
_CREATE_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Ensured:
    path: Path
    created_now: bool
    replaced: str | None  # the kind of non-directory entry that was replaced, if any


def ensure_root(root: Path) -> Path:
    """The canonical workspace root, created (with parents) when missing."""
    canonical = canonicalize(root, what="workspace root")
    try:
        canonical.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:
        raise WorkspaceError(
            f"workspace root {str(canonical)!r} exists but is not a directory; "
            "point workspace.root at a directory",
            code=WORKSPACE_NOT_DIRECTORY,
            path=canonical,
        ) from exc
    except OSError as exc:
        raise WorkspaceError(
            f"cannot create workspace root {str(canonical)!r}: {exc.strerror or exc}",
            code=WORKSPACE_CREATE_FAILED,
            path=canonical,
        ) from exc
    return canonicalize(canonical, what="workspace root")


def entry_kind(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "regular file"
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device node"
    return "non-directory entry"


def ensure_directory(path: Path, root: Path) -> Ensured:
    """Create the workspace directory or reuse it (SPEC §9.2).

    A non-directory entry (regular file, fifo, socket, device node) at the path is replaced by a
    fresh directory; a symlink is refused, whatever it points to.
    """
    replaced: str | None = None
    try:
        for _ in range(_CREATE_ATTEMPTS):
            validate_workspace_path(path, root)
            try:
                mode = os.lstat(path).st_mode
            except FileNotFoundError:
                try:
                    path.mkdir()
                except FileExistsError:
                    continue
                return Ensured(_verified_directory(path, root), True, replaced)
            if stat.S_ISDIR(mode):
                return Ensured(_verified_directory(path, root), replaced is not None, replaced)
            replaced = entry_kind(mode)
            log.warning("replacing non-directory at workspace path", workspace=path, found=replaced)
            path.unlink()
    except WorkspaceError:
        raise
    except OSError as exc:
        raise WorkspaceError(
            f"cannot create workspace {str(path)!r}: {exc.strerror or exc}",
            code=WORKSPACE_CREATE_FAILED,
            path=path,
        ) from exc
    raise WorkspaceError(
        f"workspace path {str(path)!r} kept changing while it was being created; "
        "is another process writing to the workspace root?",
        code=WORKSPACE_CREATE_FAILED,
        path=path,
    )


def _verified_directory(path: Path, root: Path) -> Path:
    canonical = validate_workspace_path(path, root)
    if not stat.S_ISDIR(os.lstat(canonical).st_mode):
        raise WorkspaceError(
            f"workspace path {str(path)!r} is not a directory",
            code=WORKSPACE_NOT_DIRECTORY,
            path=path,
        )
    return canonical


def is_real_directory(path: Path) -> bool:
    """A directory entry that is not a symlink."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except (OSError, ValueError):
        return False


def remove_entry(path: Path) -> None:
    """Delete the workspace at ``path`` without ever following a symlink out of it."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise _remove_failed(path, exc) from exc
    if stat.S_ISLNK(mode):
        raise WorkspaceError(
            f"workspace path {str(path)!r} is a symlink; refusing to delete through it",
            code=WORKSPACE_SYMLINK_ESCAPE,
            path=path,
        )
    try:
        if not stat.S_ISDIR(mode):
            path.unlink()
            return
        try:
            shutil.rmtree(path)
        except PermissionError:
            # Read-only directories inside the tree (e.g. a Go module cache) block unlinking
            # their entries; make our own directories writable and try once more.
            make_directories_writable(path)
            shutil.rmtree(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise _remove_failed(path, exc) from exc


def make_directories_writable(top: Path) -> None:
    def fix(directory: Path) -> None:
        st = directory.lstat()
        if stat.S_ISDIR(st.st_mode):  # lstat: never chmod through a symlink
            directory.chmod(stat.S_IMODE(st.st_mode) | stat.S_IRWXU)

    fix(top)
    for dirpath, dirnames, _files in os.walk(top, topdown=True, followlinks=False):
        for name in dirnames:
            fix(Path(dirpath) / name)


def _remove_failed(path: Path, exc: OSError) -> WorkspaceError:
    where = f" ({exc.filename})" if exc.filename and exc.filename != os.fspath(path) else ""
    return WorkspaceError(
        f"cannot delete workspace {str(path)!r}{where}: {exc.strerror or exc}",
        code=WORKSPACE_REMOVE_FAILED,
        path=path,
    )
