"""An ACP agent session over a subprocess: Symphony as the Agent Client Protocol client.

Launch: ``bash -lc <acp.command>`` in the validated workspace, in its own process group, tracker
secrets removed from the environment and unset after the login profile (``symphony.process``).
Handshake: ``initialize`` (Symphony offers ``fs`` read/write and ``terminal``), then
``session/new`` in the workspace with the session's MCP tool server (``session/load`` of a
stored session when resuming and the agent can). Each ``run_turn`` is one ``session/prompt``;
``session/update`` notifications become agent events as they stream (``updates.py``).
The agent's requests to the client are served here: permissions through ``policy.py`` and the
human channel, files and terminals inside the workspace only (``files.py``, ``terminals.py``).
The JSON-RPC itself is the ``acp`` library's ``ClientSideConnection`` over ``LineTransport``.

Every wait has a bound: ``initialize``, ``session/new`` and ``session/load`` wait at most
``acp.read_timeout_ms``; a turn fails after ``acp.turn_timeout_ms`` of silence from the agent
(any line in either direction resets it; so does the end of a request Symphony answered, and
the clock stops while a permission waits for a human), after which ``session/cancel`` is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Awaitable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

from acp import PROTOCOL_VERSION, Client, RequestError
from acp.client import ClientSideConnection
from acp.meta import CLIENT_METHODS
from acp.schema import (
    AcpMcpServer,
    AllowedOutcome,
    ClientCapabilities,
    CreateTerminalResponse,
    DeniedOutcome,
    EnvVariable,
    FileSystemCapabilities,
    HttpHeader,
    HttpMcpServer,
    Implementation,
    InitializeResponse,
    KillTerminalResponse,
    McpServerStdio,
    PermissionOption,
    PromptResponse,
    ReadTextFileResponse,
    ReleaseTerminalResponse,
    RequestPermissionResponse,
    SessionNotification,
    SseMcpServer,
    TerminalExitStatus,
    TerminalOutputResponse,
    TextContentBlock,
    ToolCallUpdate,
    WaitForTerminalExitResponse,
    WriteTextFileResponse,
)
from pydantic import ValidationError

from symphony import __version__
from symphony.agents import events
from symphony.agents.acp import files, policy
from symphony.agents.acp.terminals import Terminals
from symphony.agents.acp.transport import MAX_LINE_BYTES, LineTransport
from symphony.agents.acp.updates import UpdateMapper
from symphony.agents.base import EventSink, GuardedSink, HumanChannel, TurnOutcome
from symphony.agents.errors import (
    INVALID_WORKSPACE_CWD,
    PORT_EXIT,
    RESPONSE_ERROR,
    RESPONSE_TIMEOUT,
    SESSION_CLOSED,
    TURN_CANCELLED,
    TURN_FAILED,
    TURN_TIMEOUT,
    AgentError,
    environment_codes,
)
from symphony.agents.events import (
    APPROVAL_AUTO_APPROVED,
    APPROVAL_DECLINED,
    HUMAN_REQUEST,
    HUMAN_REQUEST_ANSWERED,
    NOTIFICATION,
    SESSION_STARTED,
    STEERED,
    TOOL_CALL_COMPLETED,
    TOOL_CALL_FAILED,
    TURN_COMPLETED,
    AgentEvent,
)
from symphony.agents.mcp_tools import SessionToolServer, ToolCallRecord
from symphony.agents.sandbox import Sandbox, open_sandbox
from symphony.agents.sandbox.endpoints import agent_url_endpoints, url_endpoints
from symphony.agents.tools import ToolRegistry
from symphony.agents.transcript import Transcript
from symphony.human import HumanAnswer, HumanRequest, SteerDelivery
from symphony.issue import Issue
from symphony.logs import get_logger
from symphony.process import child_environment, spawn_login_shell_lines
from symphony.text import clip
from symphony.tools import ToolContext
from symphony.usage import TokenUsage
from symphony.workflow.config import AcpConfig, SandboxConfig
from symphony.workspace.errors import WorkspaceError
from symphony.workspace.paths import validate_agent_cwd

log = get_logger("symphony.agents.acp")

AGENT_NOT_FOUND = "acp_agent_not_found"
environment_codes(AGENT_NOT_FOUND)
COMMAND_NOT_FOUND_EXIT = 127
# After session/cancel the agent must still answer the prompt (stopReason "cancelled").
CANCEL_WAIT_S = 5.0
# Stop reasons other than end_turn, as failures: (code, what happened).
STOP_REASONS: dict[str, tuple[str, str]] = {
    "refusal": (TURN_FAILED, "the agent refused to continue"),
    "max_tokens": (TURN_FAILED, "the model reached its token limit"),
    "max_turn_requests": (TURN_FAILED, "the agent reached its limit of model requests per turn"),
    "cancelled": (TURN_CANCELLED, "the turn was cancelled"),
}

T = TypeVar("T")
UPDATE_METHOD = CLIENT_METHODS["session_update"]
McpServers = list[HttpMcpServer | SseMcpServer | AcpMcpServer | McpServerStdio]


def _now() -> datetime:
    return datetime.now(UTC)


class AcpSession:
    """One ACP agent process, one ACP session, turns run one at a time. Use ``start()``.

    Implements ``symphony.agents.base.AgentSession``.
    """

    def __init__(
        self,
        *,
        transport: LineTransport,
        workspace: Path,
        acp: AcpConfig,
        tools: ToolRegistry,
        on_event: EventSink,
        issue: Issue,
        human: HumanChannel | None,
        terminals: Terminals,
    ) -> None:
        self._transport = transport
        transport.log = self._log
        self.workspace = workspace
        self._acp = acp
        self._tools = tools
        self._on_event = GuardedSink(on_event, self._sink_failed)
        self._issue = issue
        self._human = human
        self._terminals = terminals
        self._policy = policy.PermissionPolicy(acp.permissions, acp.default_permission)
        self._loop = asyncio.get_running_loop()
        self._mapper = UpdateMapper(transport.pid, thread_id="")
        self._conn = ClientSideConnection(cast("Client", _Client(self)), transport)
        transport.intercept = self._intercept
        self._tool_server: SessionToolServer | None = None
        self._sandbox: Sandbox | None = None
        self._closed_error: AgentError | None = None
        self._stopping = False
        self._stopped = asyncio.Event()
        self._initialized = False
        # Requests the agent waits on us for (a human's answer, a terminal's exit): the silence
        # clock stands still while any is open.
        self._serving = 0
        self._replaying = False
        self._prompting = False
        self._queued_steers: list[str] = []
        # Permission requests parked with the human channel; withdrawn when their turn ends.
        self._asks: set[asyncio.Future[HumanAnswer]] = set()
        self.agent_info: InitializeResponse | None = None
        self.turn_count = 0
        self.resumed = False
        self._exit_task = asyncio.create_task(self._watch_exit(), name="acp-exit")

    # -- public surface ---------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self._transport.pid

    @property
    def thread_id(self) -> str | None:
        return self._mapper.thread_id or None

    @property
    def session_id(self) -> str | None:
        return self._mapper.session_id

    @property
    def usage(self) -> TokenUsage | None:
        return self._mapper.usage

    @property
    def alive(self) -> bool:
        return self._closed_error is None and not self._stopping

    @property
    def terminal_pids(self) -> list[int]:
        return self._terminals.pids

    @classmethod
    async def start(
        cls,
        *,
        workspace: Path,
        workspace_root: Path,
        acp: AcpConfig,
        tools: ToolRegistry,
        strip_env: frozenset[str],
        on_event: EventSink,
        issue: Issue,
        transcript: Transcript | None = None,
        env: Mapping[str, str] | None = None,
        human: HumanChannel | None = None,
        resume_thread_id: str | None = None,
        sandbox: SandboxConfig | None = None,
    ) -> AcpSession:
        """Launch the agent in ``workspace`` and run ``initialize`` and ``session/new`` (or
        ``session/load`` of ``resume_thread_id`` when given and the agent can).

        ``sandbox`` with ``kind: bwrap`` runs the agent and the terminals it asks for in
        bubblewrap sandboxes (docs/sandbox.md).

        Raises ``AgentError`` (``invalid_workspace_cwd``, ``acp_agent_not_found``, ``port_exit``,
        ``response_timeout``, ``response_error``); nothing is left running when it does.
        """
        if acp.command is None:
            raise AgentError(
                AGENT_NOT_FOUND, "acp.command is not set: name the command that starts the agent"
            )
        try:
            cwd = validate_agent_cwd(workspace, workspace, workspace_root)
        except WorkspaceError as exc:
            raise AgentError(INVALID_WORKSPACE_CWD, exc.message) from exc
        base_env = os.environ if env is None else env
        environment = child_environment(strip_env, base=base_env, extra=acp.env)
        holder: list[AcpSession] = []
        tool_server: SessionToolServer | None = None
        box: Sandbox | None = None
        try:
            if sandbox is not None and sandbox.kind == "bwrap":
                # Inside, the tool endpoint is reached through a bridge made at launch: the
                # server has to exist (and have its port) before the agent does.
                if tools.specs:
                    tool_server = await SessionToolServer.start(
                        tools,
                        context=lambda: holder[0]._tool_context(),
                        on_call=lambda record: holder[0]._tool_called(record),
                    )
                box = await open_sandbox(
                    sandbox,
                    workspace=cwd,
                    env=environment,
                    endpoints=_acp_endpoints(environment, tool_server),
                    command=acp.command,
                )
            script = acp.command if box is None else box.wrap(acp.command)
            process, pipes = await spawn_login_shell_lines(
                script, cwd=cwd, env=environment, strip=strip_env, limit=MAX_LINE_BYTES
            )
        except BaseException as exc:
            if tool_server is not None:
                await tool_server.aclose()
            if box is not None:
                await box.aclose()
            if isinstance(exc, OSError):
                raise AgentError(
                    AGENT_NOT_FOUND, f"could not launch `bash -lc {acp.command}` in {cwd}: {exc}"
                ) from exc
            raise
        transport = LineTransport(
            process,
            pipes,
            transcript=transcript,
            log=log.log,
        )
        terminals = Terminals(
            cwd,
            base_env=base_env,
            strip_env=strip_env,
            extra_env=acp.env,
            default_limit=acp.terminal_output_limit_bytes,
            wrap=None if box is None else box.wrap,
        )
        session = cls(
            transport=transport,
            workspace=cwd,
            acp=acp,
            tools=tools,
            on_event=on_event,
            issue=issue,
            human=human,
            terminals=terminals,
        )
        holder.append(session)
        session._tool_server = tool_server
        session._sandbox = box
        session._log(logging.INFO, "ACP agent launched", cwd=cwd, sandboxed=box is not None)
        try:
            await session._handshake(resume_thread_id)
        except BaseException:
            await session.stop()
            raise
        return session

    async def run_turn(self, prompt: str, *, issue: Issue) -> TurnOutcome:
        """One ``session/prompt`` with ``prompt`` (after any queued operator guidance); waits
        until the agent answers. Every stop reason other than ``end_turn`` raises."""
        self._ensure_open()
        self._issue = issue
        self.turn_count += 1
        self._mapper.begin_turn(str(self.turn_count))
        text = prompt
        if self._queued_steers:
            guidance = "\n\n".join(f"Operator guidance: {m}" for m in self._queued_steers)
            self._queued_steers.clear()
            text = f"{guidance}\n\n{prompt}"
        usage_before = self._mapper.usage or TokenUsage()
        self._emit(
            self._mapper.event(
                SESSION_STARTED, _now(), f"turn {self.turn_count} started", payload={}
            )
        )
        started = self._loop.time()
        self._transport.touch()
        thread_id = self._mapper.thread_id
        self._prompting = True
        prompt_task = asyncio.ensure_future(
            self._conn.prompt(
                session_id=thread_id, prompt=[TextContentBlock(type="text", text=text)]
            )
        )
        self._transport.streaming(True)
        try:
            response = await self._await_prompt(prompt_task)
        except AgentError as exc:
            self._emit(
                self._mapper.event(
                    events.TURN_FAILED, _now(), exc.message, payload={"error": exc.to_dict()}
                )
            )
            raise
        finally:
            self._transport.streaming(False)
            self._prompting = False
            if not prompt_task.done():
                prompt_task.cancel()
            self._withdraw_human_requests()
        duration_ms = int((self._loop.time() - started) * 1000)
        usage_event = self._mapper.add_turn_usage(response.usage, _now())
        if usage_event is not None:
            self._emit(usage_event)
        reason = response.stop_reason
        if reason != "end_turn":
            code, what = STOP_REASONS.get(reason, (TURN_FAILED, f"stop reason {reason!r}"))
            name = events.TURN_CANCELLED if code == TURN_CANCELLED else events.TURN_FAILED
            self._emit(self._mapper.event(name, _now(), what, payload={"stopReason": reason}))
            self._log(logging.WARNING, "ACP turn ended without success", stop_reason=reason)
            raise AgentError(
                code,
                f"ACP turn ended: {what} (stopReason {reason})",
                session_id=self.session_id,
                details={"stop_reason": reason},
            )
        self._emit(
            self._mapper.event(
                TURN_COMPLETED,
                _now(),
                f"turn {self.turn_count} completed",
                usage=self._mapper.usage,
                payload={"stopReason": reason},
            )
        )
        self._log(logging.INFO, "ACP turn completed", turn=self.turn_count, duration_ms=duration_ms)
        usage = self._mapper.usage
        assert self.session_id is not None
        return TurnOutcome(
            session_id=self.session_id,
            thread_id=thread_id,
            turn_id=str(self.turn_count),
            turn_number=self.turn_count,
            status="completed",
            usage=usage,
            usage_delta=(usage or TokenUsage()).minus(usage_before),
            last_message=self._mapper.last_message,
            duration_ms=duration_ms,
            commands=tuple(self._mapper.commands),
        )

    async def steer(self, message: str) -> SteerDelivery:
        """ACP has no way into a running prompt turn: the guidance opens the next turn's input."""
        self._ensure_open()
        self._queued_steers.append(message)
        self._emit(
            self._mapper.event(
                STEERED,
                _now(),
                f"operator guidance (next turn): {message}",
                payload={"delivery": "next_turn", "text": message},
            )
        )
        return "next_turn"

    async def stop(self) -> None:
        """Close the MCP endpoint, the terminals and the connection; kill the agent's group."""
        if self._stopping:
            await self._stopped.wait()
            return
        self._stopping = True
        try:
            if self._prompting and self._closed_error is None:
                # Tell the agent first, so it can end its tools before its group is killed.
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(
                        self._conn.cancel(session_id=self._mapper.thread_id), timeout=1.0
                    )
            if self._tool_server is not None:
                with contextlib.suppress(Exception):
                    await self._tool_server.aclose()
            await self._terminals.close_all()
            with contextlib.suppress(Exception):
                await self._conn.close()  # closes the transport: stdin, then the whole group
            await self._transport.close()
            if self._sandbox is not None:
                await self._sandbox.aclose()
            self._exit_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._exit_task
            self._log(
                logging.INFO,
                "ACP agent stopped",
                exit_code=self._transport.process.returncode,
                stderr_lines=self._transport.stderr.count,
            )
        finally:
            self._stopped.set()

    def _log(self, level: int, message: str, *, exc_info: bool = False, **fields: Any) -> None:
        log.log(
            level, message, session_id=self.session_id, pid=self.pid, exc_info=exc_info, **fields
        )

    # -- handshake ----------------------------------------------------------------------------

    async def _handshake(self, resume_thread_id: str | None) -> None:
        capabilities = ClientCapabilities(
            fs=FileSystemCapabilities(read_text_file=True, write_text_file=True), terminal=True
        )
        info = await self._request(
            "initialize",
            self._conn.initialize(
                protocol_version=PROTOCOL_VERSION,
                client_capabilities=capabilities,
                client_info=Implementation(name="symphony", title="Symphony", version=__version__),
            ),
        )
        self.agent_info = info
        self._initialized = True
        agent = info.agent_capabilities
        servers = await self._mcp_servers(
            agent is not None
            and bool(agent.mcp_capabilities is not None and agent.mcp_capabilities.http)
        )
        cwd = str(self.workspace)
        if resume_thread_id is not None:
            if agent is not None and agent.load_session:
                self._replaying = True
                try:
                    await self._request(
                        "session/load",
                        self._conn.load_session(
                            cwd=cwd, session_id=resume_thread_id, mcp_servers=servers
                        ),
                    )
                    self._mapper.thread_id = resume_thread_id
                    self.resumed = True
                    self._log(logging.INFO, "ACP session loaded", thread_id=resume_thread_id)
                    return
                except AgentError as exc:
                    if exc.code != RESPONSE_ERROR:
                        raise
                    self._log(
                        logging.WARNING,
                        "ACP agent could not load the session, starting a new one",
                        thread_id=resume_thread_id,
                        error=exc.message,
                    )
                finally:
                    self._replaying = False
            else:
                self._log(
                    logging.INFO,
                    "ACP agent cannot load sessions (no loadSession capability); starting anew",
                )
        created = await self._request(
            "session/new", self._conn.new_session(cwd=cwd, mcp_servers=servers)
        )
        self._mapper.thread_id = created.session_id

    async def _mcp_servers(self, http: bool) -> McpServers:
        """The session's tool server, when there are tools and the agent takes HTTP MCP."""
        if not self._tools.specs:
            return []
        if not http:
            message = (
                "the ACP agent does not advertise mcpCapabilities.http: the tracker tools "
                f"({', '.join(sorted(self._tools.names))}) are unavailable to it"
            )
            self._log(logging.WARNING, message)
            self._emit(self._mapper.event(NOTIFICATION, _now(), message, payload={}))
            return []
        if self._tool_server is None:  # a sandboxed session made its server before the launch
            self._tool_server = await SessionToolServer.start(
                self._tools, context=self._tool_context, on_call=self._tool_called
            )
        server = self._tool_server
        headers = [HttpHeader(name=k, value=v) for k, v in server.headers.items()]
        servers: McpServers = [
            HttpMcpServer(type="http", name=server.name, url=server.url, headers=headers)
        ]
        return servers

    def _tool_context(self) -> ToolContext:
        self._transport.touch()
        return ToolContext(
            issue=self._issue,
            extra={"thread_id": self.thread_id, "turn_id": self._mapper.turn_id},
        )

    def _tool_called(self, record: ToolCallRecord) -> None:
        self._transport.touch()
        name = TOOL_CALL_COMPLETED if record.result.success else TOOL_CALL_FAILED
        outcome = "completed" if record.result.success else "failed"
        self._emit(
            self._mapper.event(
                name,
                _now(),
                f"tool {record.name} {outcome} ({record.duration_ms} ms)",
                payload={
                    "tool": record.name,
                    "arguments": record.arguments,
                    "success": record.result.success,
                    "duration_ms": record.duration_ms,
                },
            )
        )

    # -- requests and the turn wait ------------------------------------------------------------

    def _ensure_open(self) -> None:
        if self._closed_error is not None:
            raise self._closed_error
        if self._stopping:
            raise AgentError(SESSION_CLOSED, "the ACP session was stopped")

    async def _request(self, method: str, call: Awaitable[T]) -> T:
        """One handshake request, bounded by ``acp.read_timeout_ms``."""
        self._ensure_open()
        task = asyncio.ensure_future(call)
        timeout_s = self._acp.read_timeout_ms / 1000
        try:
            waiting: set[asyncio.Future[Any]] = {task, self._exit_task}
            done, _ = await asyncio.wait(
                waiting, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED
            )
            if task in done:
                return await self._result(task, method)
            if self._exit_task in done:
                raise self._closed()
            raise AgentError(
                RESPONSE_TIMEOUT,
                f"the ACP agent did not answer {method} within {self._acp.read_timeout_ms} ms "
                "(acp.read_timeout_ms)",
                details={"method": method},
            )
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task

    async def _result(self, task: asyncio.Future[T], method: str) -> T:
        try:
            return task.result()
        except RequestError as exc:
            raise AgentError(
                RESPONSE_ERROR,
                f"the ACP agent answered {method} with error {exc.code}: {exc}{_data(exc)}",
                session_id=self.session_id,
                details={"method": method, "error": exc.to_error_obj()},
            ) from None
        except ConnectionError:
            await asyncio.wait({self._exit_task}, timeout=CANCEL_WAIT_S)
            raise self._closed() from None

    async def _await_prompt(self, task: asyncio.Future[PromptResponse]) -> PromptResponse:
        silence_s = self._acp.turn_timeout_ms / 1000
        while True:
            if self._serving:
                remaining = silence_s
            else:
                remaining = self._transport.last_activity + silence_s - self._loop.time()
            if remaining <= 0:
                await self._cancel_turn(task)
                raise AgentError(
                    TURN_TIMEOUT,
                    f"the ACP agent sent nothing for {self._acp.turn_timeout_ms} ms during a "
                    "turn (acp.turn_timeout_ms)",
                    session_id=self.session_id,
                )
            waiting: set[asyncio.Future[Any]] = {task, self._exit_task}
            done, _ = await asyncio.wait(
                waiting, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
            )
            if task in done:
                try:
                    return await self._result(task, "session/prompt")
                except AgentError as exc:
                    if exc.code == RESPONSE_ERROR:
                        raise AgentError(
                            TURN_FAILED,
                            exc.message,
                            session_id=self.session_id,
                            details=exc.details,
                        ) from None
                    raise
            if self._exit_task in done:
                raise self._closed()

    async def _cancel_turn(self, task: asyncio.Future[PromptResponse]) -> None:
        """``session/cancel``, then a bounded wait for the agent to end the prompt. Open
        permission requests are answered ``cancelled``, as the protocol asks of a client."""
        self._withdraw_human_requests()
        with contextlib.suppress(Exception):
            await self._conn.cancel(session_id=self._mapper.thread_id)
        with contextlib.suppress(Exception):
            await asyncio.wait({task}, timeout=min(CANCEL_WAIT_S, self._acp.read_timeout_ms / 1000))

    def _closed(self) -> AgentError:
        if self._closed_error is not None:
            return self._closed_error
        return AgentError(SESSION_CLOSED, "the ACP session was stopped", session_id=self.session_id)

    async def _watch_exit(self) -> None:
        returncode = await self._transport.exited()
        tail = self._transport.stderr.tail()
        detail = f"; stderr: {tail}" if tail else ""
        details = {"exit_code": returncode, "stderr_tail": tail}
        if self._stopping:
            self._closed_error = AgentError(
                SESSION_CLOSED, "the ACP session was stopped", session_id=self.session_id
            )
        elif not self._initialized and returncode == COMMAND_NOT_FOUND_EXIT:
            self._closed_error = AgentError(
                AGENT_NOT_FOUND,
                f"acp.command {self._acp.command!r} was not found by `bash -lc` "
                f"(exit {returncode}){detail}; install the agent or fix acp.command",
                details=details,
            )
        else:
            self._closed_error = AgentError(
                PORT_EXIT,
                f"the ACP agent exited (status {returncode}){detail}",
                session_id=self.session_id,
                details=details,
            )
            self._log(logging.WARNING, "ACP agent exited", exit_code=returncode, stderr_tail=tail)

    # -- what the agent asks of the client ----------------------------------------------------

    def _sink_failed(self, event: AgentEvent) -> None:
        self._log(
            logging.ERROR,
            "agent event listener raised; continuing",
            exc_info=True,
            agent_event=event.event,
        )

    def _emit(self, event: AgentEvent) -> None:
        self._on_event(event)

    def _intercept(self, message: dict[str, Any]) -> bool:
        """``session/update`` notifications, handled in the read callback: the bulk of the
        stream. The library's dispatcher would spend a task, a telemetry span and a future on
        each (about 70 µs, five times the rest); the library's own schema still validates it.
        Handled here, every update is mapped before any later message, the prompt's answer
        included."""
        if message.get("method") != UPDATE_METHOD or "id" in message:
            return False
        try:
            notification = SessionNotification.model_validate(message.get("params"))
        except ValidationError as exc:
            self._log(logging.WARNING, "ACP agent sent an invalid session/update", error=str(exc))
            return True
        self.on_update(notification.update)
        return True

    def on_update(self, update: Any) -> None:
        if self._replaying:
            return  # session/load replays the stored conversation; it was shown back then
        self._emit(self._mapper.update(update, _now(), self._loop.time()))

    async def on_permission(
        self, tool_call: ToolCallUpdate, options: list[PermissionOption]
    ) -> RequestPermissionResponse:
        choices = [policy.PermissionOption(o.option_id, o.kind, o.name) for o in options]
        paths = tuple(loc.path for loc in tool_call.locations or ())
        raw = tool_call.raw_input
        if isinstance(raw, Mapping) and isinstance(raw.get("cwd"), str):
            paths += (raw["cwd"],)  # where a command would run (codex-acp, among others)
        command = None
        if tool_call.kind == "execute":
            command = tool_call.title
        server = self._tool_server
        own = policy.own_tool_call(
            tool_call.title,
            tool_call.raw_input,
            server=server.name if server is not None else None,
            tools=self._tools.names,
        )
        call = policy.PermissionCall(tool_call.kind, tool_call.title, paths, command, own)
        verdict = self._policy.verdict(
            call,
            inside=lambda p: files.inside(p, self.workspace),
            has_human=self._human is not None,
        )
        payload = {"toolCall": tool_call.model_dump(mode="json", by_alias=True, exclude_none=True)}
        summary = call.title or call.kind or "tool call"
        if verdict == "ask" and self._human is not None:
            request = policy.human_request(call, cwd=str(self.workspace))
            self._emit(self._mapper.event(HUMAN_REQUEST, _now(), request.summary, payload=payload))
            answer = await self._ask_human(self._human, request)
            if answer is None:  # the turn ended first: the request was withdrawn
                return _permission_response(None)
            option = policy.answered_option(answer, choices)
            self._emit(
                self._mapper.event(
                    HUMAN_REQUEST_ANSWERED,
                    _now(),
                    f"{answer.decision or 'answered'}: {summary}",
                    payload={**payload, "decision": answer.decision, "optionId": option},
                )
            )
            return _permission_response(option)
        allow = verdict == "allow"
        option = policy.pick_option(choices, allow=allow)
        self._emit(
            self._mapper.event(
                APPROVAL_AUTO_APPROVED if allow else APPROVAL_DECLINED,
                _now(),
                f"{'allowed' if allow else 'rejected'} by acp.permissions: {summary}",
                payload={**payload, "optionId": option},
            )
        )
        return _permission_response(option)

    async def _ask_human(self, human: HumanChannel, request: HumanRequest) -> HumanAnswer | None:
        """The human's answer; None when the request was withdrawn because its turn ended."""
        ask = asyncio.ensure_future(human.ask(request))
        self._asks.add(ask)
        self._serving += 1
        try:
            await asyncio.wait({ask})
        finally:
            self._asks.discard(ask)
            if not ask.done():
                ask.cancel()  # the session stops: the human desk marks the request canceled
            self._serving -= 1
            self._transport.touch()
        if ask.cancelled():
            return None
        error = ask.exception()
        if error is not None:
            # A broken channel must not leave the agent waiting: reject, as after a time-out.
            self._log(logging.ERROR, "human channel failed; rejecting", error=repr(error))
            return HumanAnswer.declined()
        return ask.result()

    def _withdraw_human_requests(self) -> None:
        for ask in list(self._asks):
            ask.cancel()

    def read_text_file(self, path: str, line: int | None, limit: int | None) -> str:
        return files.read_text(path, self.workspace, line=line, limit=limit)

    def write_text_file(self, path: str, content: str) -> None:
        files.write_text(path, self.workspace, content)

    async def create_terminal(
        self,
        command: str,
        args: list[str] | None,
        env: list[EnvVariable] | None,
        cwd: str | None,
        output_byte_limit: int | None,
    ) -> str:
        pairs = [(v.name, v.value) for v in env or ()]
        terminal_id = await self._terminals.create(command, args, pairs, cwd, output_byte_limit)
        shown = " ".join([command, *(args or ())])
        self._emit(
            self._mapper.event(
                NOTIFICATION,
                _now(),
                f"terminal: {clip(shown, 200)}",
                payload={"terminalId": terminal_id, "command": command, "args": args or []},
            )
        )
        return terminal_id

    def terminal_output(self, terminal_id: str) -> TerminalOutputResponse:
        terminal = self._terminals.get(terminal_id)
        return TerminalOutputResponse(
            output=terminal.text(),
            truncated=terminal.truncated,
            exit_status=_exit_status(terminal.exit_status),
        )

    async def wait_for_terminal_exit(self, terminal_id: str) -> WaitForTerminalExitResponse:
        self._serving += 1
        try:
            terminal = await self._terminals.wait(terminal_id, self._acp.turn_timeout_ms / 1000)
        finally:
            self._serving -= 1
            self._transport.touch()
        status = terminal.exit_status or (None, None)
        return WaitForTerminalExitResponse(exit_code=status[0], signal=status[1])

    async def kill_terminal(self, terminal_id: str) -> None:
        await self._terminals.kill(terminal_id)

    async def release_terminal(self, terminal_id: str) -> None:
        await self._terminals.release(terminal_id)


def _permission_response(option_id: str | None) -> RequestPermissionResponse:
    if option_id is None:
        return RequestPermissionResponse(outcome=DeniedOutcome(outcome="cancelled"))
    return RequestPermissionResponse(
        outcome=AllowedOutcome(outcome="selected", option_id=option_id)
    )


def _data(exc: RequestError) -> str:
    if exc.data is None:
        return ""
    return f" ({clip(json.dumps(exc.data, default=str), 300, marker='...')})"


def _exit_status(status: tuple[int | None, str | None] | None) -> TerminalExitStatus | None:
    if status is None:
        return None
    return TerminalExitStatus(exit_code=status[0], signal=status[1])


class _Client:
    """The ``acp.Client`` the connection dispatches the agent's requests to."""

    def __init__(self, session: AcpSession) -> None:
        self._session = session

    async def session_update(self, session_id: str, update: Any, **_: Any) -> None:
        self._session.on_update(update)

    async def request_permission(
        self, session_id: str, tool_call: ToolCallUpdate, options: list[PermissionOption], **_: Any
    ) -> RequestPermissionResponse:
        return await self._session.on_permission(tool_call, options)

    async def read_text_file(
        self,
        session_id: str,
        path: str,
        line: int | None = None,
        limit: int | None = None,
        **_: Any,
    ) -> ReadTextFileResponse:
        return ReadTextFileResponse(content=self._session.read_text_file(path, line, limit))

    async def write_text_file(
        self, session_id: str, path: str, content: str, **_: Any
    ) -> WriteTextFileResponse:
        self._session.write_text_file(path, content)
        return WriteTextFileResponse()

    async def create_terminal(
        self,
        session_id: str,
        command: str,
        args: list[str] | None = None,
        env: list[EnvVariable] | None = None,
        cwd: str | None = None,
        output_byte_limit: int | None = None,
        **_: Any,
    ) -> CreateTerminalResponse:
        terminal_id = await self._session.create_terminal(
            command, args, env, cwd, output_byte_limit
        )
        return CreateTerminalResponse(terminal_id=terminal_id)

    async def terminal_output(
        self, session_id: str, terminal_id: str, **_: Any
    ) -> TerminalOutputResponse:
        return self._session.terminal_output(terminal_id)

    async def wait_for_terminal_exit(
        self, session_id: str, terminal_id: str, **_: Any
    ) -> WaitForTerminalExitResponse:
        return await self._session.wait_for_terminal_exit(terminal_id)

    async def kill_terminal(
        self, session_id: str, terminal_id: str, **_: Any
    ) -> KillTerminalResponse:
        await self._session.kill_terminal(terminal_id)
        return KillTerminalResponse()

    async def release_terminal(
        self, session_id: str, terminal_id: str, **_: Any
    ) -> ReleaseTerminalResponse:
        await self._session.release_terminal(terminal_id)
        return ReleaseTerminalResponse()

    async def ext_method(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        raise RequestError.method_not_found(f"_{method}")

    async def ext_notification(self, method: str, params: dict[str, Any]) -> None:
        return None


def _acp_endpoints(env: Mapping[str, str], tool_server: SessionToolServer | None) -> list[str]:
    """The model endpoints the environment names (an ACP agent's are its own business; the
    rest is ``sandbox.allowed_hosts``) and the session's tool endpoint."""
    tools = url_endpoints([tool_server.url]) if tool_server is not None else []
    return [*agent_url_endpoints(env), *tools]
