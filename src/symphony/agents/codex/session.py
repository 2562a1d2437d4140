"""A codex app-server session over a subprocess: the IO shell around ``CodexProtocol``.

Launch (SPEC §10.1): ``bash -lc <codex.command>`` in the validated workspace, in its own process
group, tracker secrets removed from the environment and unset after the login profile. Every
request waits at most ``read_timeout_ms``; a turn fails after ``turn_timeout_ms`` of silence from
the app-server (any stdout or stderr line resets it, and so does the end of a host-side tool
call, during which codex is waiting on us). Tool calls run as tasks so the stream keeps flowing,
and so do requests parked for a human (docs/human-requests.md): codex waits on us then too, so the
silence timer is paused until the answer is sent.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shlex
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from symphony.agents.base import EventSink, GuardedSink, HumanChannel, TurnOutcome
from symphony.agents.codex.actions import (
    HELD,
    Action,
    Emit,
    ParkRequest,
    RequestId,
    Resolved,
    RunTool,
    Send,
    TurnEnded,
    WithdrawRequest,
)
from symphony.agents.codex.credentials import codex_home as default_codex_home
from symphony.agents.codex.errors import (
    CODEX_NOT_FOUND,
    INVALID_WORKSPACE_CWD,
    PORT_EXIT,
    RESPONSE_ERROR,
    RESPONSE_TIMEOUT,
    SESSION_CLOSED,
    TURN_TIMEOUT,
    AgentError,
)
from symphony.agents.codex.launch import agent_cwd, exit_error, launch
from symphony.agents.codex.lines import MAX_LINE_BYTES
from symphony.agents.codex.linux_sandbox import helper_root, launch_prefix
from symphony.agents.codex.policy import SessionPolicy, thread_title
from symphony.agents.codex.preflight import ensure_credentials
from symphony.agents.codex.protocol import CodexProtocol
from symphony.agents.codex.tools import dynamic_tools
from symphony.agents.codex.transport import STOP_GRACE_S, StdioTransport
from symphony.agents.events import SESSION_STARTED, STEERED, AgentEvent
from symphony.agents.sandbox import Sandbox, open_sandbox
from symphony.agents.sandbox.endpoints import codex_endpoints
from symphony.agents.tools import ToolRegistry
from symphony.agents.transcript import Transcript
from symphony.human import HumanAnswer, SteerDelivery
from symphony.issue import Issue
from symphony.linestream import LinePipes, Oversized
from symphony.logs import get_logger
from symphony.ssh import HOST_UNREACHABLE, agent_script, valid_remote_path
from symphony.ssh_exec import (
    RemoteHost,
    RemoteProcess,
    RemoteStartError,
    kill_remote_group,
    spawn_remote_lines,
)
from symphony.tools import ToolContext
from symphony.usage import TokenUsage
from symphony.workflow.config import CodexConfig, SandboxConfig

log = get_logger("symphony.agents.codex")

# While the app-server of the run a restart cut short still exits, codex refuses to resume its
# thread ("already has an active writer"); it is asked again for this long.
RESUME_RETRY_S = 10.0
# How long a streaming fragment may wait to be emitted: the dashboard's liveliness, at a
# fraction of the events (docs/orchestrator.md, "Agent events").
CHATTER_HOLD_S = 0.25
RESUME_RETRY_INTERVAL_S = 0.25
ACTIVE_WRITER = "active writer"


def _now() -> datetime:
    return datetime.now(UTC)


class CodexSession:
    """One app-server process, one thread, turns run one at a time. Use ``start()``.

    Implements ``symphony.agents.base.AgentSession``.
    """

    def __init__(
        self,
        *,
        process: asyncio.subprocess.Process,
        pipes: LinePipes,
        protocol: CodexProtocol,
        workspace: Path,
        codex: CodexConfig,
        tools: ToolRegistry,
        on_event: EventSink,
        issue: Issue,
        transcript: Transcript | None,
        human: HumanChannel | None = None,
    ) -> None:
        self._protocol = protocol
        self._human = human
        self.workspace = workspace
        self._codex = codex
        self._tools = tools
        self._on_event = GuardedSink(on_event, self._sink_failed)
        self._issue = issue
        self._loop = asyncio.get_running_loop()
        self._transport = StdioTransport(process, pipes, transcript=transcript, log=self._log)
        self._waiters: dict[RequestId, asyncio.Future[Resolved]] = {}
        self._turn_end: asyncio.Future[TurnEnded] | None = None
        # Done once codex answered turn/start (the turn's id is known from then on).
        self._turn_starting: asyncio.Future[None] | None = None
        self._tool_tasks: set[asyncio.Task[None]] = set()
        # The timer that emits a held-back streaming fragment (``HeldChatter``).
        self._chatter_due: asyncio.TimerHandle | None = None
        # Requests parked with the human channel; codex waits on us while any is open.
        self._human_tasks: set[asyncio.Task[None]] = set()
        self._parked_tasks: dict[RequestId, asyncio.Task[None]] = {}
        self._initialized = False
        self._closed_error: AgentError | None = None
        self._stopping = False
        self._thread_name: str | None = None
        self._sandbox: Sandbox | None = None
        self.turn_count = 0
        # True when the session continues a stored thread (``resume_thread_id`` of ``start``).
        self.resumed = False
        # Set for a session on an SSH worker host: its process group there is stopped too.
        self._remote: RemoteProcess | None = None
        self._strip_env: frozenset[str] = frozenset()
        self._transport.start(self._on_line, self._on_closed)

    # -- public surface ---------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self._transport.pid

    @property
    def thread_id(self) -> str | None:
        return self._protocol.thread_id

    @property
    def turn_id(self) -> str | None:
        return self._protocol.turn_id

    @property
    def session_id(self) -> str | None:
        return self._protocol.session_id

    @property
    def usage(self) -> TokenUsage | None:
        """Latest absolute token totals of the thread."""
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
        codex: CodexConfig,
        tools: ToolRegistry,
        strip_env: frozenset[str],
        on_event: EventSink,
        issue: Issue,
        transcript: Transcript | None = None,
        env: Mapping[str, str] | None = None,
        human: HumanChannel | None = None,
        resume_thread_id: str | None = None,
        codex_home: Path | None = None,
        sandbox: SandboxConfig | None = None,
        remote: RemoteHost | None = None,
    ) -> CodexSession:
        """Launch the app-server in ``workspace`` and run the handshake up to ``thread/start``
        (``thread/resume`` of ``resume_thread_id`` when given and codex accepts it).

        ``codex_home``, when given, is the CODEX_HOME codex gets whatever the login profile
        exports (``agents/codex/home.py``). ``sandbox`` with ``kind: bwrap`` runs the app-server
        in a bubblewrap sandbox (docs/sandbox.md).

        ``remote``: run codex on that SSH worker host, in ``workspace`` (a path on the host);
        the host's login profile provides codex, its credentials and ``codex-linux-sandbox``
        (docs/workers.md).

        Raises ``AgentError`` (``invalid_workspace_cwd``, ``codex_not_authenticated``,
        ``codex_not_found``, ``port_exit``, ``response_timeout``, ``response_error``,
        ``host_unreachable``); nothing is left running when it does.
        """
        if remote is not None:
            return await cls._start_remote(
                remote,
                workspace=workspace,
                codex=codex,
                tools=tools,
                strip_env=strip_env,
                on_event=on_event,
                issue=issue,
                transcript=transcript,
                env=env,
                human=human,
                resume_thread_id=resume_thread_id,
            )
        cwd = agent_cwd(workspace, workspace_root)
        base_env = os.environ if env is None else env
        # The home is assigned after the login profile, so a profile's CODEX_HOME cannot win;
        # the credentials check reads the command the same way (an assignment prefix).
        home = "" if codex_home is None else f"CODEX_HOME={shlex.quote(str(codex_home))}"
        checked = f"{home} {codex.command}" if home else codex.command
        # Without credentials codex accepts the turn and retries forever; fail before spawning.
        await ensure_credentials(checked, env=base_env, cwd=cwd, strip_env=strip_env)
        # A system bwrap runs `codex-linux-sandbox` by name: put the native codex there.
        prelude = await launch_prefix(codex.command, env=base_env, cwd=cwd, strip_env=strip_env)
        if home:
            prelude = f"export {home}\n{prelude}"
        box = await _open_sandbox(
            sandbox, cwd=cwd, env=base_env, codex_home=codex_home, command=codex.command
        )
        try:
            process, pipes = await launch(
                codex.command,
                cwd=cwd,
                base_env=base_env,
                strip_env=strip_env,
                prelude=prelude,
                wrap=None if box is None else box.wrap,
            )
        except BaseException:
            if box is not None:
                await box.aclose()
            raise
        return await cls._attach(
            process,
            pipes,
            workspace=cwd,
            codex=codex,
            tools=tools,
            on_event=on_event,
            issue=issue,
            transcript=transcript,
            human=human,
            resume_thread_id=resume_thread_id,
            sandbox=box,
            launched={"cwd": cwd, "sandboxed": box is not None},
        )

    @classmethod
    async def _start_remote(
        cls,
        remote: RemoteHost,
        *,
        workspace: Path,
        codex: CodexConfig,
        tools: ToolRegistry,
        strip_env: frozenset[str],
        on_event: EventSink,
        issue: Issue,
        transcript: Transcript | None,
        env: Mapping[str, str] | None,
        human: HumanChannel | None,
        resume_thread_id: str | None,
    ) -> CodexSession:
        path = str(workspace)
        if not valid_remote_path(path):
            raise AgentError(
                INVALID_WORKSPACE_CWD,
                f"workspace {path!r} on worker host {remote.name} is not a valid absolute path",
            )
        script = agent_script(path, codex.command, secrets=strip_env)
        try:
            started = await spawn_remote_lines(
                remote,
                script,
                base_env=os.environ if env is None else env,
                strip_env=strip_env,
                limit=MAX_LINE_BYTES,
            )
        except RemoteStartError as exc:
            code = exc.code if exc.code == HOST_UNREACHABLE else PORT_EXIT
            raise AgentError(code, exc.message) from None
        except OSError as exc:
            raise AgentError(CODEX_NOT_FOUND, f"could not launch ssh: {exc}") from exc
        return await cls._attach(
            started.process,
            started.pipes,
            workspace=workspace,
            codex=codex,
            tools=tools,
            on_event=on_event,
            issue=issue,
            transcript=transcript,
            human=human,
            resume_thread_id=resume_thread_id,
            remote=started,
            strip_env=strip_env,
            launched={"cwd": path, "worker_host": remote.name, "remote_pgid": started.pgid},
        )

    @classmethod
    async def _attach(
        cls,
        process: asyncio.subprocess.Process,
        pipes: LinePipes,
        *,
        workspace: Path,
        codex: CodexConfig,
        tools: ToolRegistry,
        on_event: EventSink,
        issue: Issue,
        transcript: Transcript | None,
        human: HumanChannel | None,
        resume_thread_id: str | None,
        launched: dict[str, Any],
        sandbox: Sandbox | None = None,
        remote: RemoteProcess | None = None,
        strip_env: frozenset[str] = frozenset(),
    ) -> CodexSession:
        """The session around a launched app-server (here, in a sandbox or on a worker host):
        the handshake up to ``thread/start``; nothing is left running when it fails."""
        protocol = CodexProtocol(
            SessionPolicy.from_config(codex, workspace),
            tool_names=sorted(tools.names),
            pid=process.pid,
            ask_human=human is not None,
        )
        session = cls(
            process=process,
            pipes=pipes,
            protocol=protocol,
            workspace=workspace,
            codex=codex,
            tools=tools,
            on_event=on_event,
            issue=issue,
            transcript=transcript,
            human=human,
        )
        session._sandbox = sandbox
        session._remote = remote
        session._strip_env = strip_env
        session._log(logging.INFO, "codex app-server launched", **launched)
        try:
            await session._handshake(resume_thread_id)
        except BaseException:
            await session.stop()
            raise
        return session

    async def run_turn(self, prompt: str, *, issue: Issue) -> TurnOutcome:
        """Start a turn with ``prompt`` on the session's thread and wait until it ends.

        The first turn gets the rendered issue prompt, later ones continuation guidance only.
        ``issue`` is the current snapshot, the context of tool calls during this turn. Every
        ending other than ``completed`` raises ``AgentError``.
        """
        self._ensure_open()
        if self._turn_end is not None:
            raise RuntimeError("run_turn while another turn is running")
        self._issue = issue
        title = thread_title(issue)
        if title != self._thread_name:
            self._name_thread(title)
        usage_before = self._protocol.latest_usage or TokenUsage()
        request_id, send = self._protocol.start_turn(prompt, self.workspace)
        self._turn_end = self._loop.create_future()
        starting: asyncio.Future[None] = self._loop.create_future()
        self._turn_starting = starting
        self.turn_count += 1
        started = self._loop.time()
        self._transport.touch()
        try:
            await self._call(request_id, send)
            starting.set_result(None)
            self._log(logging.INFO, "codex turn started", turn=self.turn_count)
            self._transport.streaming(True)
            ended = await self._await_turn_end()
        except BaseException:
            # Whatever codex still says about this turn is stale; the next turn may start.
            self._protocol.abandon_turn()
            raise
        finally:
            self._transport.streaming(False)
            self._turn_end = None
            self._turn_starting = None
            if not starting.done():
                starting.cancel()
            # A request still parked belongs to the turn that just ended: withdraw it.
            self._cancel_human_requests()
        duration_ms = int((self._loop.time() - started) * 1000)
        usage = self._protocol.latest_usage
        if ended.error is not None:
            self._log(
                logging.WARNING,
                "codex turn ended with error",
                code=ended.error.code,
                error=ended.error.message,
                duration_ms=duration_ms,
            )
            raise ended.error
        self._log(
            logging.INFO,
            "codex turn completed",
            turn=self.turn_count,
            duration_ms=duration_ms,
            total_tokens=usage.total_tokens if usage else None,
        )
        assert self.thread_id is not None and self.session_id is not None
        return TurnOutcome(
            thread_id=self.thread_id,
            turn_id=ended.turn_id or self.turn_id or "",
            session_id=self.session_id,
            turn_number=self.turn_count,
            status=ended.status,
            usage=usage,
            usage_delta=(usage or TokenUsage()).minus(usage_before),
            last_message=_last_agent_message(ended.turn) or self._protocol.last_agent_message,
            duration_ms=duration_ms,
            commands=tuple(self._protocol.turn_commands),
        )

    async def steer(self, message: str) -> SteerDelivery:
        """``turn/steer`` into the running turn; without one (or when codex refuses because the
        turn just ended) the message opens the next turn's input instead."""
        self._ensure_open()
        starting = self._turn_starting
        if starting is not None and not starting.done():
            # A turn is starting: steer into it once its id is known, not into the next one.
            await asyncio.wait({starting}, timeout=self._codex.read_timeout_ms / 1000)
        call = self._protocol.steer(message)
        delivery: SteerDelivery = "next_turn"
        if call is not None:
            try:
                await self._call(*call)
                delivery = "running_turn"
            except AgentError as exc:
                if exc.code != RESPONSE_ERROR:
                    raise
                self._log(logging.INFO, "codex refused turn/steer", error=exc.message)
        if delivery == "next_turn":
            self._protocol.queue_steer(message)
        self._emit(
            AgentEvent(
                event=STEERED,
                timestamp=_now(),
                pid=self.pid,
                session_id=self.session_id,
                thread_id=self.thread_id,
                turn_id=self.turn_id,
                message=f"operator guidance ({delivery.replace('_', ' ')}): {message}"[:500],
                payload={"delivery": delivery, "text": message},
            )
        )
        return delivery

    async def stop(self) -> None:
        """End the session: close stdin, give codex a moment to exit, then kill its group."""
        if self._stopping:
            return
        self._stopping = True
        for task in [*self._tool_tasks, *self._human_tasks]:
            task.cancel()
        exit_code = await self._transport.close()
        if self._chatter_due is not None:
            self._chatter_due.cancel()
            self._chatter_due = None
        remote = self._remote
        closed = self._closed_error
        if remote is not None and (closed is None or closed.code != HOST_UNREACHABLE):
            # Closing the stream ends codex; anything it left in its group on the host is
            # killed over a second connection (a lost host is not waited for).
            await kill_remote_group(
                remote.host, remote.pgid, grace_s=STOP_GRACE_S, strip_env=self._strip_env
            )
        if self._sandbox is not None:
            await self._sandbox.aclose()
        if self._tool_tasks or self._human_tasks:
            await asyncio.gather(*self._tool_tasks, *self._human_tasks, return_exceptions=True)
        stderr = self._transport.stderr
        self._log(
            logging.INFO,
            "codex app-server stopped",
            exit_code=exit_code,
            stderr_lines=stderr.count,
            stderr_noteworthy=stderr.noteworthy,
        )

    async def __aenter__(self) -> CodexSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _log(self, level: int, message: str, *, exc_info: bool = False, **fields: Any) -> None:
        # The issue fields come from the worker's log context.
        log.log(
            level, message, session_id=self.session_id, pid=self.pid, exc_info=exc_info, **fields
        )

    # -- handshake ----------------------------------------------------------------------------

    async def _handshake(self, resume_thread_id: str | None) -> None:
        request_id, send = self._protocol.initialize()
        await self._call(request_id, send)
        self._initialized = True
        await self._transport.send(self._protocol.initialized().message)
        if resume_thread_id is not None and await self._resume(resume_thread_id):
            self.resumed = True
            self._name_thread(thread_title(self._issue))
            return
        request_id, send = self._protocol.start_thread(
            self.workspace, dynamic_tools(self._tools.specs)
        )
        await self._call(request_id, send)
        self._name_thread(thread_title(self._issue))

    async def _resume(self, thread_id: str) -> bool:
        """``thread/resume``, asked again while the old app-server still holds the thread;
        False (logged) when codex will not resume it, so a new thread starts instead."""
        deadline = self._loop.time() + RESUME_RETRY_S
        while True:
            request_id, send = self._protocol.resume_thread(thread_id, self.workspace)
            try:
                await self._call(request_id, send)
                self._log(logging.INFO, "codex thread resumed", thread_id=thread_id)
                return True
            except AgentError as exc:
                if exc.code != RESPONSE_ERROR:
                    raise  # the app-server died or hung: no point in a new thread either
                busy = ACTIVE_WRITER in exc.message
                if busy and self._loop.time() < deadline:
                    await asyncio.sleep(RESUME_RETRY_INTERVAL_S)
                    continue
                self._log(
                    logging.WARNING,
                    "codex could not resume the thread, starting a new one",
                    thread_id=thread_id,
                    error=exc.message,
                )
                return False

    def _name_thread(self, name: str) -> None:
        """Name the thread without waiting for the answer: naming is cosmetic, and a round trip
        here would delay every first turn. Asked once per title; a refusal is only logged."""
        request_id, send = self._protocol.set_thread_name(name)
        answer: asyncio.Future[Resolved] = self._loop.create_future()
        self._waiters[request_id] = answer

        def answered(future: asyncio.Future[Resolved]) -> None:
            self._waiters.pop(request_id, None)
            error = None if future.cancelled() else future.result().error
            if error is not None:
                self._log(logging.INFO, "codex refused thread/name/set", error=error.message)

        answer.add_done_callback(answered)
        self._thread_name = name
        self._transport.send_nowait(send.message)

    # -- requests and the turn wait ----------------------------------------------------------

    def _ensure_open(self) -> None:
        if self._closed_error is not None:
            raise self._closed_error
        if self._stopping:
            raise AgentError(SESSION_CLOSED, "the codex session was stopped")

    async def _call(self, request_id: RequestId, send: Send) -> dict[str, Any]:
        self._ensure_open()
        method = self._protocol.pending_method(request_id) or str(send.message.get("method"))
        waiter: asyncio.Future[Resolved] = self._loop.create_future()
        self._waiters[request_id] = waiter
        try:
            await self._transport.send(send.message)
            try:
                resolved = await asyncio.wait_for(
                    waiter, timeout=self._codex.read_timeout_ms / 1000
                )
            except TimeoutError:
                raise AgentError(
                    RESPONSE_TIMEOUT,
                    f"codex did not answer {method} within {self._codex.read_timeout_ms} ms "
                    "(codex.read_timeout_ms)",
                    session_id=self.session_id,
                    details={"method": method},
                ) from None
        finally:
            self._waiters.pop(request_id, None)
        if resolved.error is not None:
            raise resolved.error
        return resolved.result or {}

    async def _await_turn_end(self) -> TurnEnded:
        future = self._turn_end
        assert future is not None
        silence_s = self._codex.turn_timeout_ms / 1000
        while True:
            if self._tool_tasks or self._human_tasks:
                # Codex waits on us; the clock restarts when the tools or the human answered.
                remaining = silence_s
            else:
                remaining = self._transport.last_activity + silence_s - self._loop.time()
            if remaining <= 0:
                self._protocol.abandon_turn()
                interrupt = self._protocol.interrupt_turn()
                if interrupt is not None:
                    await self._transport.send(interrupt.message)
                raise AgentError(
                    TURN_TIMEOUT,
                    f"codex sent nothing for {self._codex.turn_timeout_ms} ms during a turn "
                    "(codex.turn_timeout_ms)",
                    session_id=self.session_id,
                )
            done, _ = await asyncio.wait({future}, timeout=remaining)
            if done:
                return future.result()

    # -- stream callbacks and actions ---------------------------------------------------------

    def _on_line(self, line: str | Oversized) -> None:
        if isinstance(line, Oversized):
            self._apply(self._protocol.oversized_line(line.size, MAX_LINE_BYTES, _now()))
        else:
            self._apply(self._protocol.receive_line(line, _now()))

    async def _on_closed(self, returncode: int | None) -> None:
        error = exit_error(
            returncode=returncode,
            command=self._codex.command,
            stderr=self._transport.stderr,
            initialized=self._initialized,
            stopping=self._stopping,
            session_id=self.session_id,
            worker_host=self._remote.host.name if self._remote is not None else None,
        )
        self._closed_error = error
        if not self._stopping:
            self._log(
                logging.WARNING,
                "codex app-server exited",
                code=error.code,
                exit_code=returncode,
                stderr_tail=self._transport.stderr.tail(3),
            )
        self._apply(self._protocol.connection_lost(error, _now()))

    def _apply(self, actions: list[Action]) -> None:
        # Synchronous: stdout lines are handled from the loop's read callback, in order.
        for action in actions:
            if action is HELD:
                if self._chatter_due is None and not self._stopping:
                    self._chatter_due = self._loop.call_later(CHATTER_HOLD_S, self._release_chatter)
            elif isinstance(action, Send):
                self._transport.send_nowait(action.message)
            elif isinstance(action, Emit):
                self._emit(action.event)
            elif isinstance(action, RunTool):
                task = asyncio.create_task(self._run_tool(action), name=f"tool-{action.name}")
                self._tool_tasks.add(task)
                task.add_done_callback(self._tool_tasks.discard)
            elif isinstance(action, ParkRequest):
                self._park(action)
            elif isinstance(action, WithdrawRequest):
                parked = self._parked_tasks.pop(action.request_id, None)
                if parked is not None:
                    parked.cancel()  # the human desk marks the request canceled
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

    def _release_chatter(self) -> None:
        self._chatter_due = None
        self._apply(self._protocol.take_chatter())

    def _sink_failed(self, event: AgentEvent) -> None:
        self._log(
            logging.ERROR,
            "agent event listener raised; continuing",
            exc_info=True,
            agent_event=event.event,
        )

    def _emit(self, event: AgentEvent) -> None:
        if event.event == SESSION_STARTED:
            self._log(logging.INFO, "codex session started")
        self._on_event(event)

    def _park(self, park: ParkRequest) -> None:
        human = self._human
        if human is None:  # the protocol parks only when a channel exists
            raise RuntimeError("request parked without a human channel")
        task = asyncio.create_task(self._ask_human(human, park), name="human-request")
        self._human_tasks.add(task)
        self._parked_tasks[park.request_id] = task
        task.add_done_callback(self._human_tasks.discard)
        task.add_done_callback(lambda _: self._parked_tasks.pop(park.request_id, None))

    async def _ask_human(self, human: HumanChannel, park: ParkRequest) -> None:
        try:
            answer = await human.ask(park.ask.request)
        except asyncio.CancelledError:
            raise
        except Exception:
            # A broken channel must not leave codex waiting: decline, as after a time-out.
            self._log(logging.ERROR, "human channel failed; declining", exc_info=True)
            answer = HumanAnswer.declined()
        self._transport.touch()
        if self.alive:
            self._apply(self._protocol.human_answered(park, answer, _now()))

    def _cancel_human_requests(self) -> None:
        for task in list(self._human_tasks):
            task.cancel()

    async def _run_tool(self, call: RunTool) -> None:
        started = self._loop.time()
        context = ToolContext(
            issue=self._issue,
            extra={"thread_id": self.thread_id, "turn_id": call.turn_id, "call_id": call.call_id},
        )
        result = await self._tools.execute(call.name, call.arguments, context)
        self._transport.touch()
        duration_ms = int((self._loop.time() - started) * 1000)
        self._apply(self._protocol.tool_finished(call, result, _now(), duration_ms=duration_ms))


def _last_agent_message(turn: Mapping[str, Any]) -> str | None:
    items = turn.get("items")
    if not isinstance(items, list):
        return None
    for item in reversed(items):
        if isinstance(item, Mapping) and item.get("type") == "agentMessage":
            text = item.get("text")
            if isinstance(text, str):
                return text
    return None


async def _open_sandbox(
    config: SandboxConfig | None,
    *,
    cwd: Path,
    env: Mapping[str, str],
    codex_home: Path | None,
    command: str,
) -> Sandbox | None:
    """The app-server's bwrap sandbox: CODEX_HOME writable, the model endpoints reachable, the
    ``codex-linux-sandbox`` links visible even when they live under /tmp."""
    if config is None or config.kind != "bwrap":
        return None
    home = codex_home or _codex_home(env)
    return await open_sandbox(
        config,
        workspace=cwd,
        env=env,
        state=[home],
        read_only=[helper_root()],
        endpoints=codex_endpoints(env, home),
        command=command,
    )


def _codex_home(env: Mapping[str, str]) -> Path:
    """The CODEX_HOME codex uses without Symphony's (this user's when the environment names
    none)."""
    return default_codex_home(env) or Path.home() / ".codex"
