"""Runs the HTTP surface inside the service's own event loop (SPEC §13.7).

Only uvicorn's public API is used: ``uvicorn.Config`` and ``uvicorn.Server.serve(sockets=...)``
(documented), plus the server's public ``started`` and ``should_exit`` flags. We bind the
listening socket ourselves, so a taken port or an unknown host is a clear ``HttpServerError``
before anything serves (uvicorn would ``sys.exit``) and the port that ``--port 0`` got is known.
``serve()`` takes SIGINT/SIGTERM over while it runs; the signals belong to the service, so its
handlers are put back once uvicorn has started, and again when it has stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import uvicorn

from symphony.hosts import is_loopback
from symphony.logs import get_logger
from symphony.observability.http.app import create_app
from symphony.observability.http.errors import HttpServerError
from symphony.observability.http.events import (
    DEFAULT_KEEPALIVE_S,
    DEFAULT_QUEUE_SIZE,
    DEFAULT_SEND_TIMEOUT_S,
    EventHub,
)
from symphony.runtime_view import RuntimeView
from symphony.workflow.config import ServerConfig

log = get_logger("symphony.observability.http")

SHUTDOWN_GRACE_S = 3
# What ``uvicorn.Server.serve`` takes over while it runs (and restores when it returns).
_SERVER_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass(frozen=True, slots=True)
class HttpSettings:
    host: str
    port: int
    access_token: str | None


def http_settings(server: ServerConfig, cli_port: int | None) -> HttpSettings | None:
    """SPEC §13.7: ``--port`` overrides ``server.port``; neither set means no HTTP server.

    Read once at startup: listener changes in a reloaded workflow need a restart.
    """
    port = cli_port if cli_port is not None else server.port
    if port is None:
        return None
    return HttpSettings(host=server.host, port=port, access_token=server.access_token or None)


def check_bind(host: str, access_token: str | None) -> None:
    """Refuse to expose the API beyond loopback without an access token."""
    if not host.strip():
        raise HttpServerError(
            "server.host is empty: use 127.0.0.1 (default) or an address of this machine",
            code="invalid_server_host",
        )
    if not is_loopback(host) and not access_token:
        raise HttpServerError(
            f"server.host {host!r} is not a loopback address, so the dashboard and API would be "
            "reachable from other machines: set server.access_token in WORKFLOW.md (for example "
            "access_token: $SYMPHONY_ACCESS_TOKEN) or bind 127.0.0.1",
            code="insecure_server_bind",
        )


def display_url(host: str, port: int) -> str:
    """A URL a person can open: wildcard binds are shown as loopback, IPv6 in brackets."""
    name = host.strip().strip("[]")
    if name in ("0.0.0.0", ""):  # noqa: S104 (mapping the wildcard for display only)
        name = "127.0.0.1"
    elif name == "::":
        name = "::1"
    if ":" in name:
        name = f"[{name}]"
    return f"http://{name}:{port}/"


def _bind(host: str, port: int) -> socket.socket:
    name = host.strip().strip("[]")
    try:
        infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise HttpServerError(
            f"server.host {host!r} cannot be resolved ({exc.strerror}): use an IP address such as "
            "127.0.0.1",
            code="invalid_server_host",
        ) from exc
    family, kind, proto, _, address = infos[0]
    # The explicit protocol matters: asyncio only turns Nagle off (TCP_NODELAY) for sockets whose
    # proto is IPPROTO_TCP, and without it keep-alive responses stall ~40 ms on delayed ACKs.
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
        sock.listen(128)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        hint = "pick another --port (0 = any free port)" if port else "check server.host"
        raise HttpServerError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; {hint}",
            code="http_bind_failed",
        ) from exc
    return sock


class _ForwardToSymphony(logging.Handler):
    """uvicorn's own messages go through our log sinks (and their redaction)."""

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno < logging.WARNING:
            return
        # structlog knows the standard levels only: WARNING, ERROR or CRITICAL from here.
        level = min(record.levelno // 10 * 10, logging.CRITICAL)
        log.log(level, "http server", detail=record.getMessage(), exc_info=record.exc_info)


def _route_uvicorn_logs() -> None:
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.propagate = False
        if not any(isinstance(h, _ForwardToSymphony) for h in logger.handlers):
            logger.addHandler(_ForwardToSymphony())


def _signal_handlers() -> dict[signal.Signals, Any]:
    """The current Python-level handlers of the signals uvicorn takes (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.getsignal(sig) for sig in _SERVER_SIGNALS}


def _restore_signal_handlers(handlers: dict[signal.Signals, Any]) -> None:
    for sig, handler in handlers.items():
        if handler is not None and signal.getsignal(sig) is not handler:
            signal.signal(sig, handler)


async def _until_started(server: uvicorn.Server, serving: asyncio.Task[None]) -> None:
    while not server.started:
        if serving.done():
            error = serving.exception()
            raise HttpServerError(
                f"the HTTP server stopped while starting: {error!r}", code="http_start_failed"
            ) from error
        await asyncio.sleep(0.005)


async def serve_http(
    view: RuntimeView,
    *,
    host: str,
    port: int,
    access_token: str | None,
    stop: asyncio.Event,
    on_bound: Callable[[str], None],
    keepalive_s: float = DEFAULT_KEEPALIVE_S,
    queue_size: int = DEFAULT_QUEUE_SIZE,
    send_timeout_s: float = DEFAULT_SEND_TIMEOUT_S,
) -> None:
    """Serve until ``stop`` is set. Raises ``HttpServerError`` only before serving starts."""
    check_bind(host, access_token)
    sock = _bind(host, port)
    bound_port = sock.getsockname()[1]
    hub = EventHub(
        view, queue_size=queue_size, keepalive_s=keepalive_s, send_timeout_s=send_timeout_s
    )
    app = create_app(view, hub=hub, access_token=access_token, loopback_only=is_loopback(host))
    _route_uvicorn_logs()
    config = uvicorn.Config(
        app,
        lifespan="off",
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
    )
    server = uvicorn.Server(config)
    handlers = _signal_handlers()
    serving = asyncio.create_task(server.serve(sockets=[sock]), name="uvicorn")
    try:
        await _until_started(server, serving)
    except BaseException:
        server.should_exit = True
        with contextlib.suppress(BaseException):
            await serving
        sock.close()
        raise
    finally:
        _restore_signal_handlers(handlers)
    hub.start()
    url = display_url(host, bound_port)
    log.info("http server listening", url=url, host=host, port=bound_port)
    try:
        on_bound(url)
    except Exception:
        log.exception("on_bound callback failed", url=url)
    stopping = asyncio.create_task(stop.wait(), name="http-stop")
    try:
        await asyncio.wait({stopping, serving}, return_when=asyncio.FIRST_COMPLETED)
        if serving.done() and not stop.is_set():
            log.warning("http server stopped on its own", url=url)
    finally:
        stopping.cancel()
        hub.close()  # ends the event streams first, so no connection holds the shutdown up
        handlers = _signal_handlers()
        server.should_exit = True
        with contextlib.suppress(Exception):
            await serving
        _restore_signal_handlers(handlers)
        log.info("http server stopped", url=url)
