"""Runs the HTTP surface inside the service's own event loop (SPEC §13.7).

uvicorn's ``Server.serve`` would install its own signal handlers and call ``sys.exit`` when the
port is taken; we bind the socket ourselves (so a bind failure is a clear ``HttpServerError``) and
drive ``startup``/``shutdown`` directly, leaving signals to the service.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass

import uvicorn

from symphony.logs import kv
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

log = logging.getLogger("symphony.observability.http")

SHUTDOWN_GRACE_S = 3


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


def is_loopback(host: str) -> bool:
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


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
        log.log(
            record.levelno,
            "http server %s",
            kv(detail=record.getMessage()),
            exc_info=record.exc_info,
        )


def _route_uvicorn_logs() -> None:
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.propagate = False
        if not any(isinstance(h, _ForwardToSymphony) for h in logger.handlers):
            logger.addHandler(_ForwardToSymphony())


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
        loop="none",
        lifespan="off",
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
    )
    config.load()
    server = uvicorn.Server(config)
    server.lifespan = config.lifespan_class(config)  # what Server._serve would have set up
    try:
        await server.startup(sockets=[sock])
    except BaseException:
        sock.close()
        raise
    hub.start()
    url = display_url(host, bound_port)
    log.info("http server listening %s", kv(url=url, host=host, port=bound_port))
    try:
        on_bound(url)
    except Exception:
        log.exception("on_bound callback failed %s", kv(url=url))
    try:
        await stop.wait()
    finally:
        hub.close()
        with contextlib.suppress(Exception):
            await server.shutdown(sockets=[sock])
        log.info("http server stopped %s", kv(url=url))
