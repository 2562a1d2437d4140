"""Per-issue workspaces: safe keys and paths, create/reuse/remove, lifecycle hooks (SPEC §9)."""

from symphony.workspace.errors import WorkspaceError
from symphony.workspace.paths import validate_agent_cwd, workspace_key

__all__ = ["WorkspaceError", "validate_agent_cwd", "workspace_key"]
