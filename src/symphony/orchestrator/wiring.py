"""Default collaborators of the runtime: the tracker adapter and the Codex session factory.

Imports of the Execution layer happen inside the functions, so the scheduling core and its tests
never load subprocess code.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from symphony.errors import SymphonyError
from symphony.issue import Issue
from symphony.orchestrator.ports import AgentSession
from symphony.orchestrator.runtime import OrchestratorRuntime
from symphony.orchestrator.worker import child_secret_names
from symphony.trackers import get_profile
from symphony.trackers.base import UNSUPPORTED_TRACKER_KIND, TrackerAdapter
from symphony.workflow.store import Workflow, WorkflowStore


def create_adapter(workflow: Workflow) -> TrackerAdapter:
    """The adapter for this workflow's ``tracker.*`` (SPEC §11.2: built from effective config)."""
    tracker = workflow.config.tracker
    profile = get_profile(tracker.kind or "")
    if profile is None:
        raise SymphonyError(
            f"{workflow.path}: tracker.kind {tracker.kind!r} has no installed adapter",
            code=UNSUPPORTED_TRACKER_KIND,
        )
    return profile.create(tracker, workflow_dir=workflow.path.parent, environ=os.environ)


async def start_codex_session(
    *,
    workspace: Path,
    workflow: Workflow,
    adapter: TrackerAdapter,
    issue: Issue,
    on_event: Callable[[Any], None],
    transcript: Any | None,
) -> AgentSession:
    """A Codex app-server session whose tools are bound to this adapter for its lifetime."""
    from symphony.agents.codex import CodexSession, ToolRegistry

    config = workflow.config
    tools = ToolRegistry(adapter.agent_tool_specs(), adapter.execute_agent_tool)
    strip = child_secret_names(workflow, adapter.secret_environment_names())
    return await CodexSession.start(
        workspace=workspace,
        workspace_root=config.workspace.root,
        codex=config.codex,
        tools=tools,
        strip_env=strip,
        on_event=on_event,
        issue=issue,
        transcript=transcript,
    )


def codex_continuation(turn: int, max_turns: int, issue: Issue) -> str:
    from symphony.agents.codex import continuation_guidance

    return continuation_guidance(turn, max_turns, issue_identifier=issue.identifier)


def build_runtime(store: WorkflowStore, *, logs_root: Path | None) -> OrchestratorRuntime:
    """The production runtime: real workspaces, Codex sessions, per-issue agent transcripts."""
    from symphony.observability.transcript import AgentLogs
    from symphony.workspace import WorkspaceManager

    return OrchestratorRuntime(
        store,
        workspaces=WorkspaceManager(),
        sessions=start_codex_session,
        continuation=codex_continuation,
        adapter_factory=create_adapter,
        agent_logs=AgentLogs(logs_root) if logs_root is not None else None,
    )
