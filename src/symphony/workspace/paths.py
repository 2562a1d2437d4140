"""Root containment for workspace paths and the agent cwd (SPEC §9.5, §15.2).

Every check compares *canonical* paths (absolute, every symlink resolved), so a symlinked root is
fine while a workspace, or a symlink inside the root, that leads outside the root is refused.
A workspace path must itself be a real directory entry in the root, never a symlink: a link
would let one issue's agent work in a directory that belongs to something else.
"""

from __future__ import annotations

import os
from pathlib import Path

from symphony.workspace.errors import (
    INVALID_WORKSPACE_CWD,
    WORKSPACE_EQUALS_ROOT,
    WORKSPACE_OUTSIDE_ROOT,
    WORKSPACE_PATH_INVALID,
    WORKSPACE_SYMLINK_ESCAPE,
    WorkspaceError,
)
from symphony.workspace.keys import workspace_key

__all__ = [
    "canonicalize",
    "is_within",
    "lexical_path",
    "validate_agent_cwd",
    "validate_workspace_path",
    "workspace_key",
    "workspace_path_for",
]


def canonicalize(path: Path, *, what: str = "workspace path") -> Path:
    """Absolute path with every existing symlink resolved; missing tail segments kept as-is."""
    try:
        return Path(path).resolve(strict=False)
    except (OSError, RuntimeError, ValueError) as exc:
        # RuntimeError is pathlib's symlink loop; ValueError an embedded NUL byte.
        raise WorkspaceError(
            f"cannot resolve {what} {str(path)!r}: {exc}", code=WORKSPACE_PATH_INVALID, path=path
        ) from exc


def lexical_path(path: Path) -> Path:
    """Absolute path with ``.``/``..`` collapsed textually, symlinks untouched."""
    return Path(os.path.normpath(Path(path).absolute()))


def is_within(path: Path, root: Path) -> bool:
    """True when ``path`` is strictly below ``root`` (both already canonical)."""
    return path != root and root in path.parents


def validate_workspace_path(path: Path, root: Path) -> Path:
    """Canonical ``path`` after proving it is a non-symlink entry strictly inside ``root``.

    Raises ``workspace_equals_root``, ``workspace_symlink_escape`` (looks inside the root but a
    symlink leads elsewhere) or ``workspace_outside_root``.
    """
    canonical_root = canonicalize(root, what="workspace root")
    canonical = canonicalize(path)
    lexical = lexical_path(path)
    looks_inside = is_within(lexical, canonical_root) or is_within(lexical, lexical_path(root))
    if canonical == canonical_root:
        raise WorkspaceError(
            f"workspace path {str(path)!r} is the workspace root {str(canonical_root)!r} itself; "
            "refusing to use or delete the root as a workspace",
            code=WORKSPACE_EQUALS_ROOT,
            path=path,
        )
    if not is_within(canonical, canonical_root):
        if looks_inside:
            raise WorkspaceError(
                f"workspace path {str(path)!r} resolves through a symlink to {str(canonical)!r}, "
                f"outside the workspace root {str(canonical_root)!r}; remove the symlink",
                code=WORKSPACE_SYMLINK_ESCAPE,
                path=path,
            )
        raise WorkspaceError(
            f"workspace path {str(path)!r} is outside the workspace root {str(canonical_root)!r}",
            code=WORKSPACE_OUTSIDE_ROOT,
            path=path,
        )
    if lexical.is_symlink():
        raise WorkspaceError(
            f"workspace path {str(lexical)!r} is a symlink (to {str(canonical)!r}); workspaces "
            "must be real directories inside the workspace root — remove the symlink",
            code=WORKSPACE_SYMLINK_ESCAPE,
            path=path,
        )
    return canonical


def workspace_path_for(root: Path, identifier: str) -> Path:
    """Canonical, contained path ``<canonical root>/<workspace key>`` for ``identifier``."""
    canonical_root = canonicalize(root, what="workspace root")
    return validate_workspace_path(canonical_root / workspace_key(identifier), canonical_root)


def validate_agent_cwd(cwd: Path, workspace_path: Path, workspace_root: Path) -> Path:
    """The canonical cwd, after proving it is this issue's workspace, inside the root (§9.5).

    Called right before the coding agent is launched; any failure raises
    ``WorkspaceError(code="invalid_workspace_cwd")`` and the agent must not start.
    """
    try:
        canonical_ws = validate_workspace_path(workspace_path, workspace_root)
        canonical_cwd = canonicalize(cwd, what="agent cwd")
    except WorkspaceError as exc:
        raise WorkspaceError(
            f"refusing to launch the agent: {exc.message}", code=INVALID_WORKSPACE_CWD, path=cwd
        ) from exc
    if canonical_cwd != canonical_ws:
        raise WorkspaceError(
            f"refusing to launch the agent: cwd {str(cwd)!r} (resolves to {str(canonical_cwd)!r}) "
            f"is not the issue's workspace {str(canonical_ws)!r}",
            code=INVALID_WORKSPACE_CWD,
            path=cwd,
        )
    if not canonical_cwd.is_dir():
        raise WorkspaceError(
            f"refusing to launch the agent: workspace {str(canonical_cwd)!r} does not exist or "
            "is not a directory",
            code=INVALID_WORKSPACE_CWD,
            path=cwd,
        )
    return canonical_cwd
