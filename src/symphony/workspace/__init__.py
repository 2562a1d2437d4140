"""Per-issue workspaces: safe keys and paths, create/reuse/remove, lifecycle hooks (SPEC §9)."""

from symphony.workspace.errors import WorkspaceError
from symphony.workspace.hooks import HOOK_NAMES, HookResult
from symphony.workspace.keys import workspace_key
from symphony.workspace.manager import Workspace, WorkspaceManager
from symphony.workspace.paths import validate_agent_cwd, validate_workspace_path

__all__ = [
    "HOOK_NAMES",
    "HookResult",
    "Workspace",
    "WorkspaceError",
    "WorkspaceManager",
    "validate_agent_cwd",
    "validate_workspace_path",
    "workspace_key",
]
