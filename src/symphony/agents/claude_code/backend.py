"""The Claude Code backend: ``agent.kind: claude_code`` (docs/agents/claude-code.md).

Registered through the ``symphony.agents`` entry point
``claude_code = "symphony.agents.claude_code:BACKEND"``. Settings come from the workflow's
``claude_code:`` section; the session is ``ClaudeCodeSession``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from symphony.agents.base import AgentBackend, EventSink, HumanChannel
from symphony.agents.claude_code.preflight import claude_checks, preflight_warnings
from symphony.agents.claude_code.session import ClaudeCodeSession
from symphony.agents.tools import ToolRegistry
from symphony.agents.transcript import Transcript
from symphony.checks import Check
from symphony.issue import Issue
from symphony.workflow.store import Workflow

KIND = "claude_code"
VALIDATE_PROBE_TIMEOUT_S = 5.0


class ClaudeCodeBackend(AgentBackend):
    kind = KIND

    async def start_session(
        self,
        *,
        workspace: Path,
        issue: Issue,
        tools: ToolRegistry,
        strip_env: frozenset[str],
        on_event: EventSink,
        transcript: Transcript | None,
        workflow: Workflow,
        human: HumanChannel | None = None,
        resume_thread_id: str | None = None,
    ) -> ClaudeCodeSession:
        config = workflow.config
        return await ClaudeCodeSession.start(
            workspace=workspace,
            workspace_root=config.workspace.root,
            config=config.claude_code,
            tools=tools,
            strip_env=strip_env,
            on_event=on_event,
            issue=issue,
            transcript=transcript,
            human=human,
            resume_thread_id=resume_thread_id,
            sandbox=config.sandbox,
        )

    async def preflight(self, workflow: Workflow, *, env: Mapping[str, str]) -> Sequence[str]:
        return await preflight_warnings(
            workflow.config.claude_code,
            env=env,
            cwd=workflow.path.parent,
            strip_env=frozenset(workflow.loaded.secret_env_names),
            timeout_s=VALIDATE_PROBE_TIMEOUT_S,
        )

    async def doctor(self, workflow: Workflow, *, env: Mapping[str, str]) -> Sequence[Check]:
        return await claude_checks(
            workflow.config.claude_code,
            env=env,
            cwd=workflow.path.parent,
            strip_env=frozenset(workflow.loaded.secret_env_names),
            timeout_s=VALIDATE_PROBE_TIMEOUT_S,
        )

    def describe(self, workflow: Workflow) -> str:
        config = workflow.config.claude_code
        sandbox = "sandboxed" if config.sandbox else "unsandboxed"
        return f"{KIND}: {config.command} ({config.permission_mode}, {sandbox})"


BACKEND = ClaudeCodeBackend()
