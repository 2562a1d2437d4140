"""A Claude Code session over a subprocess: the IO shell around ``ClaudeProtocol``.

One ``claude -p`` process per worker session, launched as ``bash -lc`` in the validated
workspace, in its own process group, tracker secrets stripped (``symphony.process``). The
tracker tools are served to it by the session's own MCP endpoint (``agents/mcp_tools``).

Timeouts: ``read_timeout_ms`` bounds the ``initialize`` control request (claude prints nothing
before the first user message, so that is the first answer to wait for); ``turn_timeout_ms``
bounds a turn's wall time, not counting time parked with a human; ``stall_timeout_ms`` is the
orchestrator's. Stop: SIGTERM (claude then kills its running Bash commands), up to
``STOP_GRACE_S``, then SIGKILL to claude's group *and* to the sessions of its descendants: the
Bash tool runs every command under ``setsid``, out of reach of the group.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from symphony.agents.base import EventSink, GuardedSink, HumanChannel, TurnOutcome
from symphony.agents.claude_code.launch import (
    ENV_FILE_VAR,
    cli_args,
    exclude_sandbox_masks,
    missing_sandbox_tools,
    sandbox_settings,
    shell_command,
    write_env_file,
    write_private_json,
)
from symphony.agents.claude_code.permissions import PermissionPolicy
from symphony.agents.claude_code.preflight import claude_config_dir
from symphony.agents.claude_code.protocol import (
    Action,
    ClaudeProtocol,
    Emit,
    Park,
    Resolved,
    Send,
    TurnEnded,
    Withdraw,
)
from symphony.agents.codex.launch import agent_cwd
from symphony.agents.codex.lines import MAX_LINE_BYTES
from symphony.agents.codex.transport import StdioTransport
from symphony.agents.errors import (
    PORT_EXIT,
    RESPONSE_TIMEOUT,
    SESSION_CLOSED,
    TURN_TIMEOUT,
    AgentError,
    environment_codes,
)
from symphony.agents.events import (
    SESSION_STARTED,
    STEERED,
    TOOL_CALL_COMPLETED,
    TOOL_CALL_FAILED,
    AgentEvent,
)
from symphony.agents.mcp_tools import SessionToolServer, ToolCallRecord
from symphony.agents.sandbox import Sandbox, open_sandbox
from symphony.agents.sandbox.endpoints import claude_endpoints, url_endpoints
from symphony.agents.tools import ToolRegistry
from symphony.agents.transcript import Transcript
from symphony.human import HumanAnswer, SteerDelivery
from symphony.issue import Issue
from symphony.linestream import LinePipes, Oversized
from symphony.logs import get_logger
from symphony.process import (
    child_environment,
    descendant_sessions,
    kill_sessions,
    signal_group,
    spawn_login_shell_lines,
)
from symphony.tools import ToolContext
from symphony.usage import TokenUsage
from symphony.workflow.config import ClaudeCodeConfig, SandboxConfig

log = get_logger("symphony.agents.claude_code")

CLAUDE_NOT_FOUND = "claude_not_found"
CLAUDE_SANDBOX_UNAVAILABLE = "claude_sandbox_unavailable"
environment_codes(CLAUDE_NOT_FOUND, CLAUDE_SANDBOX_UNAVAILABLE)
STOP_GRACE_S = 5.0
COMMAND_NOT_FOUND_EXIT = 127
NO_CONVERSATION = "No conversation found"


def _now() -> datetime:
    return datetime.now(UTC)


class ClaudeCodeSession:
    """One claude process, one Claude Code session, turns one at a time. Use ``start()``.

    Implements ``symphony.agents.base.AgentSession``.
    """

    def __init__(
        self,
        *,
        process: asyncio.subprocess.Process,
        pipes: LinePipes,
        protocol: ClaudeProtocol,
        config: ClaudeCodeConfig,
        workspace: Path,
        on_event: EventSink,
        transcript: Transcript | None,
        human: HumanChannel | None,
        tool_server: SessionToolServer,
        state_dir: Path,
        box: Sandbox | None = None,
    ) -> None:
        self._protocol = protocol
        self._config = config
        self.workspace = workspace
        self._on_event = GuardedSink(on_event, self._sink_failed)
        self._human = human
        self._tool_server = tool_server
        self._state_dir = state_dir
        self._sandbox = box
        self._loop = asyncio.get_running_loop()
        self._transport = StdioTransport(
            process, pipes, transcript=transcript, log=self._log, name="claude"
        )
        self._waiters: dict[str, asyncio.Future[Resolved]] = {}
        self._turn_end: asyncio.Future[TurnEnded] | None = None
        self._human_tasks: dict[str, asyncio.Task[None]] = {}
        self._closed_error: AgentError | None = None
        self._stopping = False
        self._stopped = False
        self._issue: Issue | None = None
        self.turn_count = 0
        self.resumed = False
        self._transport.start(self._on_line, self._on_closed)

    # -- public surface ---------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self._transport.pid

    @property
    def thread_id(self) -> str | None:
        return self._protocol.thread_id

    @property
    def session_id(self) -> str | None:
        return self._protocol.session_id

    @property
    def usage(self) -> TokenUsage | None:
        return self._protocol.latest_usage

    @property
    def rate_limits(self) -> dict[str, Any] | None:
        return self._protocol.latest_rate_limits

    @property
    def alive(self) -> bool:
        return self._closed_error is None and not self._stopping

    @classmethod
    async def start(
        cls,
        *,
        workspace: Path,
        workspace_root: Path,
        config: ClaudeCodeConfig,
        tools: ToolRegistry,
        strip_env: frozenset[str],
        on_event: EventSink,
        issue: Issue,
        transcript: Transcript | None = None,
        env: Mapping[str, str] | None = None,
        human: HumanChannel | None = None,
        resume_thread_id: str | None = None,
        sandbox: SandboxConfig | None = None,
    ) -> ClaudeCodeSession:
        """Launch claude in ``workspace`` and check it answers (``initialize``).

        ``sandbox`` with ``kind: bwrap`` runs claude in a bubblewrap sandbox (docs/sandbox.md).

        With ``resume_thread_id``, ``--resume`` it; when claude no longer knows the session a
        new one starts (``resumed`` stays false). Raises ``AgentError``; nothing is left
        running when it does.
        """
        cwd = agent_cwd(workspace, workspace_root)
        base_env = os.environ if env is None else env
        child_env = child_environment(strip_env, base=base_env)
        if config.sandbox:
            missing = missing_sandbox_tools(child_env)
            if missing:
                raise AgentError(
                    CLAUDE_SANDBOX_UNAVAILABLE,
                    f"Claude Code's sandbox needs {' and '.join(missing)} on PATH, which "
                    "cannot be found; install them (Debian: apt-get install bubblewrap socat) "
                    "or set claude_code.sandbox: false to run the agent unsandboxed",
                    details={"missing": missing},
                )
            exclude_sandbox_masks(cwd)
        session_issue = [issue]
        holder: list[ClaudeCodeSession] = []

        def on_call(record: ToolCallRecord) -> None:
            if holder:
                holder[0]._tool_called(record)

        tool_server = await SessionToolServer.start(
            tools,
            context=lambda: ToolContext(
                issue=(holder[0]._issue if holder else None) or session_issue[0],
                extra={"thread_id": holder[0].thread_id if holder else None},
            ),
            on_call=on_call,
        )
        state_dir = Path(tempfile.mkdtemp(prefix="symphony-claude-"))
        box: Sandbox | None = None
        try:
            box = await _open_sandbox(
                sandbox,
                cwd=cwd,
                env=child_env,
                state_dir=state_dir,
                tool_url=tool_server.url,
                command=config.command,
            )
            session = await cls._launch(
                cwd=cwd,
                config=config,
                child_env=child_env,
                strip_env=strip_env,
                on_event=on_event,
                transcript=transcript,
                human=human,
                tool_server=tool_server,
                state_dir=state_dir,
                resume=resume_thread_id,
                box=box,
            )
            if resume_thread_id and session is None:
                session = await cls._launch(
                    cwd=cwd,
                    config=config,
                    child_env=child_env,
                    strip_env=strip_env,
                    on_event=on_event,
                    transcript=transcript,
                    human=human,
                    tool_server=tool_server,
                    state_dir=state_dir,
                    resume=None,
                    box=box,
                )
        except BaseException:
            await tool_server.aclose()
            if box is not None:
                await box.aclose()
            shutil.rmtree(state_dir, ignore_errors=True)
            raise
        assert session is not None
        session._issue = issue
        holder.append(session)
        return session

    @classmethod
    async def _launch(
        cls,
        *,
        cwd: Path,
        config: ClaudeCodeConfig,
        child_env: dict[str, str],
        strip_env: frozenset[str],
        on_event: EventSink,
        transcript: Transcript | None,
        human: HumanChannel | None,
        tool_server: SessionToolServer,
        state_dir: Path,
        resume: str | None,
        box: Sandbox | None,
    ) -> ClaudeCodeSession | None:
        """One launch; None when ``resume`` names a session claude does not know."""
        policy = PermissionPolicy(
            cwd,
            allowed_tools=config.allowed_tools,
            disallowed_tools=config.disallowed_tools,
            ask_human=human is not None,
        )
        mcp = state_dir / "mcp.json"
        if not mcp.exists():
            write_private_json(state_dir, "mcp.json", tool_server.claude_mcp_config())
        settings_data = sandbox_settings(config, nested=box is not None)
        settings = None
        if settings_data:
            settings = state_dir / "settings.json"
            if not settings.exists():
                write_private_json(state_dir, "settings.json", settings_data)
        env_file = write_env_file(state_dir, strip_env, child_env)
        launch_env = {**child_env, ENV_FILE_VAR: str(env_file)}
        args = cli_args(
            config,
            allowed_tools=policy.cli_allowed_tools(),
            mcp_config=mcp,
            settings=settings,
            resume=resume,
        )
        script = shell_command(config.command, args)
        if box is not None:
            script = box.wrap(script)
        try:
            process, pipes = await spawn_login_shell_lines(
                script, cwd=cwd, env=launch_env, strip=strip_env, limit=MAX_LINE_BYTES
            )
        except OSError as exc:
            raise AgentError(
                CLAUDE_NOT_FOUND, f"could not launch `bash -lc {config.command}` in {cwd}: {exc}"
            ) from exc
        protocol = ClaudeProtocol(policy, pid=process.pid)
        if resume:
            protocol.thread_id = resume
        session = cls(
            process=process,
            pipes=pipes,
            protocol=protocol,
            config=config,
            workspace=cwd,
            on_event=on_event,
            transcript=transcript,
            human=human,
            tool_server=tool_server,
            state_dir=state_dir,
            box=box,
        )
        session._log(
            logging.INFO, "claude launched", cwd=cwd, resume=resume, sandboxed=box is not None
        )
        try:
            await session._initialize()
        except AgentError as exc:
            await session._kill()
            if resume and NO_CONVERSATION in (exc.message + session._transport.stderr.tail(20)):
                session._log(logging.INFO, "claude no longer knows the session; starting anew")
                return None
            raise
        except BaseException:
            await session._kill()
            raise
        session.resumed = resume is not None
        return session

    async def _initialize(self) -> None:
        request_id, send = self._protocol.control_request("initialize")
        waiter: asyncio.Future[Resolved] = self._loop.create_future()
        self._waiters[request_id] = waiter
        self._transport.send_nowait(send.message)
        timeout_s = self._config.read_timeout_ms / 1000
        try:
            done, _ = await asyncio.wait({waiter}, timeout=timeout_s)
        finally:
            self._waiters.pop(request_id, None)
        if not done:
            if self._closed_error is not None:
                raise self._closed_error
            raise AgentError(
                RESPONSE_TIMEOUT,
                f"claude did not answer initialize within {self._config.read_timeout_ms} ms "
                "(claude_code.read_timeout_ms)",
            )
        resolved = waiter.result()
        if resolved.error is not None:
            raise AgentError(PORT_EXIT, f"claude refused initialize: {resolved.error}")

    async def run_turn(self, prompt: str, *, issue: Issue) -> TurnOutcome:
        """Send ``prompt`` as the next user message and wait for the turn's ``result``."""
        self._ensure_open()
        if self._turn_end is not None:
            raise RuntimeError("run_turn while another turn is running")
        self._issue = issue
        usage_before = self._protocol.latest_usage or TokenUsage()
        self._turn_end = self._loop.create_future()
        send = self._protocol.start_turn(prompt)
        self.turn_count += 1
        started = self._loop.time()
        try:
            await self._transport.send(send.message)
            self._transport.streaming(True)
            ended = await self._await_turn_end()
        except BaseException:
            if self._protocol.turn_active:
                self._protocol.abandon_turn()
                # Stop claude's work on it; its result is ignored when it comes.
                with contextlib.suppress(Exception):
                    self._transport.send_nowait(
                        self._protocol.control_request("interrupt")[1].message
                    )
            raise
        finally:
            self._transport.streaming(False)
            self._turn_end = None
            self._cancel_human_requests()
        duration_ms = int((self._loop.time() - started) * 1000)
        usage = self._protocol.latest_usage
        if ended.error is not None:
            self._log(
                logging.WARNING,
                "claude turn failed",
                code=ended.error.code,
                error=ended.error.message,
                duration_ms=duration_ms,
            )
            raise ended.error
        self._log(
            logging.INFO,
            "claude turn completed",
            turn=self.turn_count,
            duration_ms=duration_ms,
            total_tokens=usage.total_tokens if usage else None,
        )
        thread_id = self.thread_id or ""
        return TurnOutcome(
            session_id=self.session_id or f"{thread_id}-{self._protocol.turn_number}",
            thread_id=thread_id,
            turn_id=str(self._protocol.turn_number),
            turn_number=self.turn_count,
            status="completed",
            usage=usage,
            usage_delta=(usage or TokenUsage()).minus(usage_before),
            last_message=self._protocol.last_message,
            duration_ms=duration_ms,
            commands=tuple(self._protocol.turn_commands),
            cost_usd=ended.cost_usd,
        )

    async def steer(self, message: str) -> SteerDelivery:
        """Guidance opens the next turn's input: a user line written during a turn would become
        a turn of its own after this one (with its own result), not guidance for this one."""
        self._ensure_open()
        self._protocol.queue_steer(message)
        self._emit(
            AgentEvent(
                event=STEERED,
                timestamp=_now(),
                pid=self.pid,
                session_id=self.session_id,
                thread_id=self.thread_id,
                message=f"operator guidance (next turn): {message}"[:500],
                payload={"delivery": "next_turn", "text": message},
            )
        )
        return "next_turn"

    async def stop(self) -> None:
        """SIGTERM, up to ``STOP_GRACE_S``, then SIGKILL to the group and the descendants'
        sessions; the MCP endpoint and the private files go too. Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        self._stopping = True
        self._cancel_human_requests()
        try:
            await self._kill()
        finally:
            await self._tool_server.aclose()
            if self._sandbox is not None:
                await self._sandbox.aclose()
            shutil.rmtree(self._state_dir, ignore_errors=True)
            self._log(logging.INFO, "claude session stopped")

    async def _kill(self) -> None:
        self._stopping = True
        process = self._transport.process
        sessions = descendant_sessions(process.pid) if process.returncode is None else set()
        if process.returncode is None:
            signal_group(process.pid, signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), timeout=STOP_GRACE_S)
        if process.returncode is None:
            sessions |= descendant_sessions(process.pid)
        signal_group(process.pid, signal.SIGKILL)
        kill_sessions(sessions)
        await self._transport.close()

    # -- internals ------------------------------------------------------------------------------

    def _log(self, level: int, msg: str, **fields: Any) -> None:
        log.log(level, msg, pid=self.pid if hasattr(self, "_transport") else None, **fields)

    def _ensure_open(self) -> None:
        if self._closed_error is not None:
            raise self._closed_error
        if self._stopping:
            raise AgentError(SESSION_CLOSED, "the claude session was stopped")

    async def _await_turn_end(self) -> TurnEnded:
        future = self._turn_end
        assert future is not None
        budget = self._config.turn_timeout_ms / 1000
        deadline = self._loop.time() + budget
        while True:
            if self._human_tasks:
                # Claude waits on a human: the clock stops until the answer is sent.
                parked_at = self._loop.time()
                waits: set[asyncio.Future[Any]] = {future, *self._human_tasks.values()}
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                deadline += self._loop.time() - parked_at
            else:
                remaining = deadline - self._loop.time()
                if remaining <= 0:
                    raise AgentError(
                        TURN_TIMEOUT,
                        f"the claude turn ran longer than {self._config.turn_timeout_ms} ms "
                        "(claude_code.turn_timeout_ms)",
                        session_id=self.session_id,
                    )
                await asyncio.wait({future}, timeout=remaining)
            if future.done():
                return future.result()

    def _on_line(self, line: str | Oversized) -> None:
        if isinstance(line, Oversized):
            self._apply(self._protocol.oversized_line(line.size, MAX_LINE_BYTES, _now()))
        else:
            self._apply(self._protocol.receive_line(line, _now()))

    async def _on_closed(self, returncode: int | None) -> None:
        error = self._exit_error(returncode)
        self._closed_error = error
        if not self._stopping:
            self._log(
                logging.WARNING,
                "claude exited",
                code=error.code,
                exit_code=returncode,
                stderr_tail=self._transport.stderr.tail(3),
            )
        for waiter in self._waiters.values():
            if not waiter.done():
                waiter.set_exception(error)
        self._apply(self._protocol.connection_lost(error, _now()))

    def _exit_error(self, returncode: int | None) -> AgentError:
        if self._stopping:
            return AgentError(SESSION_CLOSED, "the claude session was stopped")
        tail = self._transport.stderr.tail()
        detail = f"; stderr: {tail}" if tail else ""
        details = {"exit_code": returncode, "stderr_tail": tail}
        stderr = self._transport.stderr
        if returncode == COMMAND_NOT_FOUND_EXIT or stderr.mentions("command not found"):
            return AgentError(
                CLAUDE_NOT_FOUND,
                f"claude_code.command {self._config.command!r} was not found by `bash -lc` "
                f"(exit {returncode}){detail}; install Claude Code or fix claude_code.command",
                details=details,
            )
        if stderr.mentions("sandbox required but unavailable"):
            return AgentError(
                CLAUDE_SANDBOX_UNAVAILABLE,
                f"Claude Code refused to start without a working sandbox{detail}; fix the "
                "sandbox (docs/agents/claude-code.md) or set claude_code.sandbox: false",
                details=details,
            )
        return AgentError(
            PORT_EXIT,
            f"claude exited (status {returncode}){detail}",
            session_id=self.session_id,
            details=details,
        )

    def _apply(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Send):
                self._transport.send_nowait(action.message)
            elif isinstance(action, Emit):
                self._emit(action.event)
            elif isinstance(action, Park):
                self._park(action)
            elif isinstance(action, Withdraw):
                task = self._human_tasks.pop(action.request_id, None)
                if task is not None:
                    task.cancel()
            elif isinstance(action, Resolved):
                waiter = self._waiters.get(action.request_id)
                if waiter is not None and not waiter.done():
                    waiter.set_result(action)
            elif (
                isinstance(action, TurnEnded)
                and self._turn_end is not None
                and not self._turn_end.done()
            ):
                self._turn_end.set_result(action)

    def _sink_failed(self, event: AgentEvent) -> None:
        self._log(
            logging.ERROR,
            "agent event listener raised; continuing",
            exc_info=True,
            agent_event=event.event,
        )

    def _emit(self, event: AgentEvent) -> None:
        if event.event == SESSION_STARTED:
            self._log(logging.INFO, "claude session started", thread_id=event.thread_id)
        self._on_event(event)

    def _park(self, park: Park) -> None:
        human = self._human
        if human is None:  # the policy asks only when a channel exists
            raise RuntimeError("request parked without a human channel")
        task = asyncio.create_task(self._ask_human(human, park), name="human-request")
        self._human_tasks[park.request_id] = task
        task.add_done_callback(lambda _: self._human_tasks.pop(park.request_id, None))

    async def _ask_human(self, human: HumanChannel, park: Park) -> None:
        try:
            answer = await human.ask(park.request)
        except asyncio.CancelledError:
            raise
        except Exception:
            self._log(logging.ERROR, "human channel failed; declining", exc_info=True)
            answer = HumanAnswer.declined()
        if self.alive:
            self._apply(self._protocol.human_answered(park, answer, _now()))

    def _cancel_human_requests(self) -> None:
        for task in list(self._human_tasks.values()):
            task.cancel()

    def _tool_called(self, record: ToolCallRecord) -> None:
        ok = record.result.success
        self._emit(
            AgentEvent(
                event=TOOL_CALL_COMPLETED if ok else TOOL_CALL_FAILED,
                timestamp=_now(),
                pid=self.pid,
                session_id=self.session_id,
                thread_id=self.thread_id,
                turn_id=str(self._protocol.turn_number),
                message=f"tool {record.name}: {'ok' if ok else 'failed'}",
                payload={
                    "tool": record.name,
                    "success": ok,
                    "duration_ms": record.duration_ms,
                    "output_preview": record.result.text()[:400],
                },
            )
        )


async def _open_sandbox(
    config: SandboxConfig | None,
    *,
    cwd: Path,
    env: Mapping[str, str],
    state_dir: Path,
    tool_url: str,
    command: str,
) -> Sandbox | None:
    """claude's bwrap sandbox: its config dir writable, the session's private files (under
    /tmp) visible, the Anthropic endpoints and the session's MCP endpoint reachable."""
    if config is None or config.kind != "bwrap":
        return None
    return await open_sandbox(
        config,
        workspace=cwd,
        env=env,
        state=[_config_dir(env)],
        read_only=[state_dir],
        endpoints=[*claude_endpoints(env), *url_endpoints([tool_url])],
        command=command,
    )


def _config_dir(env: Mapping[str, str]) -> Path:
    """Where claude keeps its state (this user's home when the environment names none)."""
    return claude_config_dir(env) or Path.home() / ".claude"
