"""The Codex app-server backend: ``agent.kind: codex`` (the default).

Registered through the ``symphony.agents`` entry point ``codex = "symphony.agents.codex:BACKEND"``.
Settings come from the workflow's ``codex:`` section; the session is ``CodexSession``.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

from symphony.agents.base import AgentBackend, EventSink, HumanChannel
from symphony.agents.codex import linux_sandbox
from symphony.agents.codex.home import isolated_home, resolve_home
from symphony.agents.codex.launch import TESTED_VERSION
from symphony.agents.codex.preflight import assess_credentials
from symphony.agents.codex.session import CodexSession
from symphony.agents.tools import ToolRegistry
from symphony.agents.transcript import Transcript
from symphony.agents.versions import command_version
from symphony.checks import Check
from symphony.issue import Issue
from symphony.process import ENV_ASSIGNMENT, child_environment
from symphony.ssh_exec import RemoteHost
from symphony.workflow.config import CODEX_HOME_INHERIT, CODEX_HOME_ISOLATED
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
        remote: RemoteHost | None = None,
    ) -> CodexSession:
        config = workflow.config
        if remote is not None:
            # codex.home is this machine's directory; the host's profile sets its own.
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
                remote=remote,
            )
        home = resolve_home(
            config.codex, storage_path=config.storage.path, env=os.environ, cwd=workspace
        )
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
            codex_home=home,
            sandbox=config.sandbox,
        )

    async def preflight(self, workflow: Workflow, *, env: Mapping[str, str]) -> Sequence[str]:
        """The launch-time credentials rule, applied to ``env`` (see docs/codex.md)."""
        check = await assess_credentials(
            _command_with_home(workflow),
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

    async def doctor(self, workflow: Workflow, *, env: Mapping[str, str]) -> Sequence[Check]:
        codex = workflow.config.codex
        strip = frozenset(workflow.loaded.secret_env_names)
        cwd = workflow.path.parent
        binary = await _binary_check(codex.command, env=env, cwd=cwd, strip_env=strip)
        checks = [binary]
        credentials = await assess_credentials(
            _command_with_home(workflow),
            env=env,
            cwd=cwd,
            strip_env=strip,
            probe_timeout_s=VALIDATE_PROBE_TIMEOUT_S,
        )
        if credentials.missing:
            problem, _, fix = credentials.message.partition(": ")
            checks.append(Check.fail("codex credentials", problem, fix))
        elif credentials.status == "unknown" and not credentials.program_found:
            pass  # the binary check says it
        elif credentials.status == "unknown":
            checks.append(
                Check.warn(
                    "codex credentials",
                    credentials.reason,
                    "make sure `codex login status` says logged in, as the user running symphony",
                )
            )
        else:
            checks.append(Check.ok("codex credentials", credentials.reason))
        for warning in await _sandbox_warnings(workflow, env):
            problem, _, fix = warning.partition(" Fix: ")
            checks.append(Check.fail("codex sandbox", problem, fix or "see docs/codex.md"))
        return checks

    def describe(self, workflow: Workflow) -> str:
        codex = workflow.config.codex
        if codex.home == CODEX_HOME_INHERIT:
            return f"{KIND}: {codex.command}"
        home = codex.home
        if home == CODEX_HOME_ISOLATED:
            home = f"isolated, {isolated_home(workflow.config.storage.path)}"
        return f"{KIND}: {codex.command} (CODEX_HOME: {home})"


BACKEND = CodexBackend()


def _command_with_home(workflow: Workflow) -> str:
    codex = workflow.config.codex
    if codex.home in (CODEX_HOME_INHERIT, CODEX_HOME_ISOLATED):
        return codex.command
    # A configured home holds its own credentials (an isolated one links the operator's).
    return f"CODEX_HOME={shlex.quote(str(codex.home))} {codex.command}"


async def _binary_check(
    command: str, *, env: Mapping[str, str], cwd: Path, strip_env: frozenset[str]
) -> Check:
    """The program of ``codex.command`` and its version, asked through the login shell."""
    install = f"npm install -g @openai/codex@{TESTED_VERSION}, or fix codex.command"
    try:
        program = shlex.split(command)[0] if command.strip() else None
    except ValueError:
        program = None
    if program is None or ENV_ASSIGNMENT.match(program):
        return Check.warn("codex binary", f"codex.command {command!r} is not inspected", install)
    version, problem = await command_version(
        _shell_word(command),
        env=child_environment(strip_env, base=env),
        cwd=cwd,
        strip_env=strip_env,
        timeout_s=VALIDATE_PROBE_TIMEOUT_S,
    )
    if version is None:
        return Check.fail("codex binary", f"codex.command does not run ({problem})", install)
    if version != TESTED_VERSION:
        return Check.warn(
            "codex binary",
            f"codex {version}; Symphony is tested with {TESTED_VERSION} (the app-server "
            "protocol changes between versions)",
            f"npm install -g @openai/codex@{TESTED_VERSION}",
        )
    return Check.ok("codex binary", f"codex {version} (tested)")


def _shell_word(command: str) -> str:
    """The first word of ``command`` as written (expansions such as ``${X:-codex}`` intact)."""
    return command.strip().split(None, 1)[0]


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
