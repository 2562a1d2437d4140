"""The generic Agent Client Protocol backend: ``agent.kind: acp`` (docs/agents/acp.md).

Registered through the ``symphony.agents`` entry point ``acp = "symphony.agents.acp:BACKEND"``.
Settings come from the workflow's ``acp:`` section; the session is ``AcpSession``.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from symphony.agents.acp.session import AcpSession
from symphony.agents.base import AgentBackend, EventSink, HumanChannel
from symphony.agents.tools import ToolRegistry
from symphony.agents.transcript import Transcript
from symphony.checks import Check
from symphony.issue import Issue
from symphony.process import ENV_ASSIGNMENT, child_environment, login_shell_argv
from symphony.workflow.store import Workflow

KIND = "acp"
# `symphony validate` must not hang on a slow login profile.
VALIDATE_PROBE_TIMEOUT_S = 5.0


class AcpBackend(AgentBackend):
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
    ) -> AcpSession:
        config = workflow.config
        return await AcpSession.start(
            workspace=workspace,
            workspace_root=config.workspace.root,
            acp=config.acp,
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
        """The program ``acp.command`` starts must be found by the login shell."""
        command = workflow.config.acp.command
        if command is None:
            return ["acp.command is not set (required when agent.kind is acp)"]
        program = _program(command)
        if program is None:
            return []  # a shell construct Symphony cannot see through; the launch will tell
        found = await _login_shell_which(
            program,
            env=env,
            cwd=workflow.path.parent,
            strip_env=frozenset(workflow.loaded.secret_env_names),
        )
        if found is False:
            return [
                f"acp.command: {program!r} is not found by `bash -lc` (until it is, every agent "
                "attempt fails: acp_agent_not_found)"
            ]
        return []

    async def doctor(self, workflow: Workflow, *, env: Mapping[str, str]) -> Sequence[Check]:
        problems = await self.preflight(workflow, env=env)
        if problems:
            return [
                Check.fail(
                    "acp agent",
                    problem.split(" (until")[0],
                    "install the agent, or set acp.command to the command that starts it",
                )
                for problem in problems
            ]
        return [Check.ok("acp agent", f"{workflow.config.acp.command} found")]

    def describe(self, workflow: Workflow) -> str:
        return f"{KIND}: {workflow.config.acp.command}"


BACKEND = AcpBackend()


def _program(command: str) -> str | None:
    """The program a simple command runs (after ``VAR=value`` prefixes and ``exec``)."""
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    for word in words:
        if ENV_ASSIGNMENT.match(word):
            continue
        if word == "exec":
            continue
        if any(c in word for c in "$`|;&<>(){}"):
            return None
        return word
    return None


async def _login_shell_which(
    program: str, *, env: Mapping[str, str], cwd: Path, strip_env: frozenset[str]
) -> bool | None:
    """Whether the login shell finds ``program``; None when the probe itself failed."""
    if os.sep in program:
        path = Path(program) if Path(program).is_absolute() else cwd / program
        return path.is_file() and os.access(path, os.X_OK)
    if shutil.which("bash") is None:
        return None
    argv = login_shell_argv(f"command -v -- {shlex.quote(program)}", strip_env)
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            cwd=os.fspath(cwd),
            env=child_environment(strip_env, base=env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError:
        return None
    try:
        code = await asyncio.wait_for(process.wait(), timeout=VALIDATE_PROBE_TIMEOUT_S)
    except TimeoutError:
        process.kill()
        await process.wait()
        return None
    return code == 0
