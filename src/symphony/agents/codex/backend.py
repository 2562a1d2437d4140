"""The Codex app-server backend: ``agent.kind: codex`` (the default).

Registered through the ``symphony.agents`` entry point ``codex = "symphony.agents.codex:BACKEND"``.
Settings come from the workflow's ``codex:`` section; the session is ``CodexSession``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from symphony.agents.base import AgentBackend, EventSink, HumanChannel
from symphony.agents.codex import linux_sandbox
from symphony.agents.codex.preflight import assess_credentials
from symphony.agents.codex.session import CodexSession
from symphony.agents.tools import ToolRegistry
from symphony.agents.transcript import Transcript
from symphony.issue import Issue
from symphony.workflow.store import Workflow

KIND = "codex"
# `symphony validate` must not hang on a slow login profile.
VALIDATE_PROBE_TIMEOUT_S = 5.0


class CodexBackend(AgentBackend):
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
    ) -> CodexSession:
        config = workflow.config
        return await CodexSession.start(
            workspace=workspace,
            workspace_root=config.workspace.root,
            codex=config.codex,
            tools=tools,
            strip_env=strip_env,
            on_event=on_event,
            issue=issue,
            transcript=transcript,
            human=human,
            resume_thread_id=resume_thread_id,
        )

    async def preflight(self, workflow: Workflow, *, env: Mapping[str, str]) -> Sequence[str]:
        """The launch-time credentials rule, applied to ``env`` (see docs/codex.md)."""
        check = await assess_credentials(
            workflow.config.codex.command,
            env=env,
            cwd=workflow.path.parent,
            strip_env=frozenset(workflow.loaded.secret_env_names),
            probe_timeout_s=VALIDATE_PROBE_TIMEOUT_S,
        )
        warnings: list[str] = []
        if check.missing:
            warnings.append(
                f"{check.message} (until then every agent attempt fails: codex_not_authenticated)"
            )
        warnings.extend(await _sandbox_warnings(workflow, env))
        return warnings

    def describe(self, workflow: Workflow) -> str:
        return f"{KIND}: {workflow.config.codex.command}"


BACKEND = CodexBackend()


async def _sandbox_warnings(workflow: Workflow, env: Mapping[str, str]) -> list[str]:
    """A system bwrap that codex's sandbox cannot use, because no helper can be put on PATH."""
    codex = workflow.config.codex
    policy = codex.turn_sandbox_policy
    if not linux_sandbox.applies() or (policy or {}).get("type") == "dangerFullAccess":
        return []
    setup = await linux_sandbox.inspect_sandbox(
        codex.command,
        env=env,
        cwd=workflow.path.parent,
        strip_env=frozenset(workflow.loaded.secret_env_names),
        probe_login_shell=True,
        probe_timeout_s=VALIDATE_PROBE_TIMEOUT_S,
    )
    return [setup.warning(codex.command)] if setup.broken and not setup.native.missing else []
