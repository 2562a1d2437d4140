"""Workspace errors (SPEC §9): every refusal names the path, the root and what to do."""

from __future__ import annotations

from pathlib import Path

from symphony.errors import SymphonyError

INVALID_WORKSPACE_CWD = "invalid_workspace_cwd"
WORKSPACE_OUTSIDE_ROOT = "workspace_outside_root"
WORKSPACE_SYMLINK_ESCAPE = "workspace_symlink_escape"
WORKSPACE_EQUALS_ROOT = "workspace_equals_root"
WORKSPACE_HOOK_FAILED = "workspace_hook_failed"
WORKSPACE_HOOK_TIMEOUT = "workspace_hook_timeout"
WORKSPACE_CREATE_FAILED = "workspace_create_failed"
WORKSPACE_NOT_DIRECTORY = "workspace_not_directory"
WORKSPACE_REMOVE_FAILED = "workspace_remove_failed"
WORKSPACE_PATH_INVALID = "workspace_path_invalid"


class WorkspaceError(SymphonyError):
    """A workspace could not be created, validated, prepared by a hook, or removed."""

    code = "workspace_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        path: Path | None = None,
        hook: str | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.path = path
        self.hook = hook
