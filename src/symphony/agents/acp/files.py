"""``fs/read_text_file`` and ``fs/write_text_file`` served inside the workspace only.

A path is taken only when it is absolute (the protocol requires it) and resolves, symlinks
followed, inside the canonical workspace; anything else is refused with a JSON-RPC error that
names the path, so an agent cannot read a host file or write through a link that points out.
"""

from __future__ import annotations

import os
from pathlib import Path

from acp import RequestError

INVALID_PARAMS = -32602
# An agent reading a huge file would otherwise fill memory and the transcript.
MAX_READ_BYTES = 16 * 1024 * 1024


def outside_error(
    path: str, workspace: Path, why: str = "is outside the workspace"
) -> RequestError:
    reason = f"{path!r} {why} {str(workspace)!r}; refused"
    return RequestError(INVALID_PARAMS, reason, {"path": path, "workspace": str(workspace)})


def confine(path: str, workspace: Path) -> Path:
    """``path`` resolved (symlinks followed), proven inside ``workspace`` (canonical), or a
    JSON-RPC ``invalid_params`` error."""
    if not path or not Path(path).is_absolute():
        raise outside_error(path, workspace, "is not an absolute path inside the workspace")
    resolved = Path(os.path.realpath(path))
    if resolved != workspace and not resolved.is_relative_to(workspace):
        raise outside_error(path, workspace)
    return resolved


def inside(path: str, workspace: Path) -> bool:
    """Whether ``path`` (absolute, or relative to the workspace) resolves inside it."""
    candidate = path if Path(path).is_absolute() else str(workspace / path)
    resolved = Path(os.path.realpath(candidate))
    return resolved == workspace or resolved.is_relative_to(workspace)


def read_text(path: str, workspace: Path, *, line: int | None, limit: int | None) -> str:
    """The file's text (from 1-based ``line``, at most ``limit`` lines), inside the workspace."""
    target = confine(path, workspace)
    try:
        if target.stat().st_size > MAX_READ_BYTES:
            raise RequestError.invalid_params(
                {"path": path, "reason": f"file is larger than {MAX_READ_BYTES} bytes"}
            )
        text = target.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise RequestError.resource_not_found(path) from None
    except (IsADirectoryError, NotADirectoryError, PermissionError) as exc:
        raise RequestError.invalid_params({"path": path, "reason": str(exc)}) from None
    if line is None and limit is None:
        return text
    lines = text.splitlines(keepends=True)
    start = max((line or 1) - 1, 0)
    end = None if limit is None else start + max(limit, 0)
    return "".join(lines[start:end])


def write_text(path: str, workspace: Path, content: str) -> None:
    """Write ``content`` to ``path`` inside the workspace (creating missing parent folders)."""
    target = confine(path, workspace)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # The parent may itself be a fresh link that points out: check what was created.
        confine(str(target.parent), workspace)
        target.write_text(content, encoding="utf-8")
    except (IsADirectoryError, NotADirectoryError, PermissionError, FileExistsError) as exc:
        raise RequestError.invalid_params({"path": path, "reason": str(exc)}) from None
