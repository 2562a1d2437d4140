"""A session's tracker tools served over MCP, for agents that take tools so (Claude Code, ACP).

Codex receives Symphony's tools as app-server dynamic tools; other agents connect to an MCP
server instead. Each agent session gets its own endpoint: ``http://127.0.0.1:<port>/mcp/<id>``
with a per-session bearer secret, serving exactly that session's ``ToolRegistry`` (the snapshot
bound at dispatch) and executing calls with that session's current issue. Nothing else can reach
it: loopback only, the secret compared in constant time, and the endpoint answers 404 as soon as
the session closes.

One listener serves every session of the process (one uvicorn server in the service's own
event loop, started with the first session and stopped with the last), so a hundred agents cost
one socket and one timer, not a hundred. The MCP side is the official ``mcp`` SDK: a low-level
``Server`` (our tools come with ready JSON Schemas, which the high-level decorator API would
re-derive from Python signatures) behind a stateless streamable-HTTP session manager per session.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import secrets
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import mcp_types as types
import uvicorn
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings

from symphony.agents.tools import ToolRegistry
from symphony.logs import get_logger
from symphony.tools import ToolContext, ToolResult

log = get_logger("symphony.agents.mcp_tools")

SERVER_NAME = "symphony"
PATH_PREFIX = "/mcp/"
# How long closing waits for the session manager's task group and, for the last session, for
# the listener's open keep-alive connections; agents never need longer to be told goodbye.
CLOSE_TIMEOUT_S = 3
_LOOPBACK = "127.0.0.1"
# The host header must name the loopback listener: a page in a browser cannot reach the endpoint
# through a DNS name that resolves to 127.0.0.1 (DNS rebinding).
_SECURITY = TransportSecuritySettings(
    enable_dns_rebinding_protection=True,
    allowed_hosts=[f"{_LOOPBACK}:*", "localhost:*"],
    allowed_origins=[f"http://{_LOOPBACK}:*", "http://localhost:*"],
)


@dataclass(frozen=True, slots=True)
class ToolCallRecord:
    """One finished tool call, for the backend's events and transcript."""

    name: str
    arguments: Any
    result: ToolResult
    duration_ms: int


class SessionToolServer:
    """One agent session's MCP endpoint (see the module docstring)."""

    def __init__(self, host: _Host, session_id: str, token: str, name: str) -> None:
        self._host = host
        self._session_id = session_id
        self._token = token
        self.name = name
        self.url = f"http://{_LOOPBACK}:{host.port}{PATH_PREFIX}{session_id}"
        self.headers: dict[str, str] = {"Authorization": f"Bearer {token}"}
        self._closed = False

    @classmethod
    async def start(
        cls,
        tools: ToolRegistry,
        *,
        context: Callable[[], ToolContext],
        on_call: Callable[[ToolCallRecord], None] | None = None,
        name: str = SERVER_NAME,
    ) -> SessionToolServer:
        """Serve ``tools`` until ``aclose``; ``context`` gives each call its current issue."""
        host = await _Host.for_running_loop()
        session_id = secrets.token_urlsafe(12)
        token = secrets.token_urlsafe(32)
        endpoint = _Endpoint(_build_server(tools, context, on_call, name), token)
        await host.add(session_id, endpoint)
        return cls(host, session_id, token, name)

    def claude_mcp_config(self) -> dict[str, Any]:
        """The ``--mcp-config`` JSON of the Claude Code CLI for this endpoint."""
        return {
            "mcpServers": {
                self.name: {"type": "http", "url": self.url, "headers": dict(self.headers)}
            }
        }

    @property
    def closed(self) -> bool:
        return self._closed

    async def aclose(self) -> None:
        """Stop serving; the URL answers 404 from now on. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        await self._host.remove(self._session_id)


def _build_server(
    tools: ToolRegistry,
    context: Callable[[], ToolContext],
    on_call: Callable[[ToolCallRecord], None] | None,
    name: str,
) -> Server[Any]:
    listing = types.ListToolsResult(
        tools=[
            types.Tool(
                name=spec.name,
                description=spec.description,
                input_schema=dict(spec.input_schema),
            )
            for spec in tools.specs
        ]
    )

    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return listing

    async def call_tool(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        started = time.monotonic()
        arguments = params.arguments if params.arguments is not None else {}
        result = await tools.execute(params.name, arguments, context())
        if on_call is not None:
            record = ToolCallRecord(
                params.name, arguments, result, int((time.monotonic() - started) * 1000)
            )
            try:
                on_call(record)
            except Exception:
                log.exception("tool call listener failed", tool=params.name)
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=result.text())],
            is_error=not result.success,
        )

    return Server(name, on_list_tools=list_tools, on_call_tool=call_tool)


class _Endpoint:
    """A registered session: its MCP server, its secret and the task running its manager."""

    def __init__(self, server: Server[Any], token: str) -> None:
        self.token = token.encode()
        # Stateless and JSON: every call is one POST answered with one JSON body, so there is no
        # per-client MCP session to expire or leak between an agent's reconnects.
        self.manager = StreamableHTTPSessionManager(
            app=server, stateless=True, json_response=True, security_settings=_SECURITY
        )
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        ready = asyncio.Event()

        async def run() -> None:
            async with self.manager.run():
                ready.set()
                await self._stop.wait()

        self._task = asyncio.create_task(run(), name="mcp-session")
        waiter = asyncio.create_task(ready.wait())
        try:
            await asyncio.wait(
                {waiter, self._task}, timeout=CLOSE_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            waiter.cancel()
        if not ready.is_set():
            await self.stop()
            raise RuntimeError("the MCP session manager did not start")

    def authorized(self, header: bytes | None) -> bool:
        if header is None or not header.startswith(b"Bearer "):
            return False
        return hmac.compare_digest(header.removeprefix(b"Bearer "), self.token)

    async def stop(self) -> None:
        self._stop.set()
        task = self._task
        if task is None:
            return
        try:
            await asyncio.wait_for(task, CLOSE_TIMEOUT_S)
        except TimeoutError:
            log.warning("MCP session manager did not stop in time; cancelled")
        except Exception:
            log.exception("MCP session manager failed")


class _QuietServer(uvicorn.Server):
    """uvicorn without its signal handlers: SIGINT/SIGTERM belong to the service."""

    @contextlib.contextmanager
    def capture_signals(self) -> Any:
        yield


class _Host:
    """The process's one MCP listener, per event loop (tests run several loops in turn)."""

    _hosts: ClassVar[dict[asyncio.AbstractEventLoop, _Host]] = {}

    def __init__(self) -> None:
        self.port = 0
        self._endpoints: dict[str, _Endpoint] = {}
        self._server: uvicorn.Server | None = None
        self._serving: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    @classmethod
    async def for_running_loop(cls) -> _Host:
        loop = asyncio.get_running_loop()
        host = cls._hosts.get(loop)
        if host is None:
            host = cls._hosts[loop] = cls()
        return host

    async def add(self, session_id: str, endpoint: _Endpoint) -> None:
        async with self._lock:
            await self._ensure_serving()
            await endpoint.start()
            self._endpoints[session_id] = endpoint

    async def remove(self, session_id: str) -> None:
        async with self._lock:
            endpoint = self._endpoints.pop(session_id, None)
            if endpoint is not None:
                await endpoint.stop()
            if not self._endpoints:
                await self._stop_serving()
                _Host._hosts.pop(asyncio.get_running_loop(), None)

    async def _ensure_serving(self) -> None:
        if self._serving is not None and not self._serving.done():
            return
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.bind((_LOOPBACK, 0))
            sock.listen(128)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        _quiet_library_logs()
        config = uvicorn.Config(
            self._asgi,
            interface="asgi3",
            lifespan="off",
            log_config=None,
            access_log=False,
            proxy_headers=False,
            server_header=False,
            timeout_graceful_shutdown=CLOSE_TIMEOUT_S,
        )
        server = self._server = _QuietServer(config)
        serving = self._serving = asyncio.create_task(server.serve(sockets=[sock]), name="mcp-http")
        deadline = time.monotonic() + CLOSE_TIMEOUT_S
        while not server.started:
            if serving.done() or time.monotonic() > deadline:
                server.should_exit = True
                sock.close()
                raise RuntimeError(f"the MCP listener did not start: {serving!r}")
            await asyncio.sleep(0.002)

    async def _stop_serving(self) -> None:
        server, serving = self._server, self._serving
        self._server = self._serving = None
        if server is None or serving is None:
            return
        server.should_exit = True
        try:
            await asyncio.wait_for(serving, CLOSE_TIMEOUT_S * 2)
        except TimeoutError:
            log.warning("MCP listener did not stop in time; cancelled")
        except Exception:
            log.exception("MCP listener failed")

    async def _asgi(self, scope: Mapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        path: str = scope.get("path", "")
        endpoint = self._endpoints.get(path.removeprefix(PATH_PREFIX).rstrip("/"))
        if not path.startswith(PATH_PREFIX) or endpoint is None:
            await _respond(send, 404, b"no such MCP endpoint")
            return
        header = dict(scope.get("headers", ())).get(b"authorization")
        if not endpoint.authorized(header):
            await _respond(send, 401, b"missing or wrong bearer token")
            return
        await endpoint.manager.handle_request(dict(scope), receive, send)


async def _respond(send: Any, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _quiet_library_logs() -> None:
    # The SDK logs every session start and request at INFO; the agent's own events say enough.
    for name in ("mcp", "uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        if logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)
