"""Symphony's side of a sandbox without network: Unix sockets the sandbox reaches the world by.

* A **bridge** socket forwards every connection to one fixed TCP endpoint on this machine's
  loopback (the session's MCP tool endpoint, a model server on 127.0.0.1). Inside, ``socat``
  listens on the same ``127.0.0.1:<port>`` and connects to the socket.
* The **proxy** socket is a small HTTP proxy (``CONNECT host:port`` and absolute-URI requests)
  that connects only to ``host:port`` pairs on its allowlist and answers 403 otherwise. Inside it
  is ``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY``. Hosts are matched by name; the proxy resolves
  them here, so DNS is never needed inside.

The policy is the allowlist: a command that ignores the proxy variables reaches nothing, as the
sandbox has only its own loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Final

from symphony.logs import get_logger

log = get_logger("symphony.agents.sandbox")

MAX_HEAD_BYTES: Final = 64 * 1024
DENIED_KEPT: Final = 64
HEAD_TIMEOUT_S: Final = 30.0
CONNECT_TIMEOUT_S: Final = 30.0
_CHUNK: Final = 64 * 1024
LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "[::1]"})

_Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def split_endpoint(endpoint: str) -> tuple[str, int]:
    """``host:port`` (``[v6]:port``) -> (lower-case host, port)."""
    host, _, port = endpoint.rpartition(":")
    return host.lower(), int(port)


def _connect_host(host: str) -> str:
    return host[1:-1] if host.startswith("[") else host


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(_CHUNK):
            writer.write(chunk)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        pass


async def _splice(
    a: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    b: tuple[asyncio.StreamReader, asyncio.StreamWriter],
) -> None:
    """Copy both ways until both directions ended, then close both."""
    try:
        await asyncio.gather(_pipe(a[0], b[1]), _pipe(b[0], a[1]))
    finally:
        for writer in (a[1], b[1]):
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


class Egress:
    """The Unix-socket servers of one sandbox, in a private directory; ``aclose`` ends them."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._servers: list[asyncio.Server] = []
        self._tasks: set[asyncio.Task[None]] = set()
        # The latest refusals (tests read them; an agent retrying in a loop must not grow it).
        self.denied: deque[str] = deque(maxlen=DENIED_KEPT)

    @classmethod
    def create(cls) -> Egress:
        # Short and private: a Unix socket path is limited to 107 bytes.
        return cls(Path(tempfile.mkdtemp(prefix="symphony-sbx-")))

    async def _serve(self, name: str, handler: _Handler) -> Path:
        path = self.directory / name

        async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            self._tasks.add(task)
            try:
                await handler(reader, writer)
            except Exception:
                log.debug("sandbox egress connection failed", exc_info=True)
            finally:
                self._tasks.discard(task)
                writer.close()

        server = await asyncio.start_unix_server(tracked, path=str(path))
        self._servers.append(server)
        return path

    async def bridge(self, port: int, *, host: str = "127.0.0.1") -> Path:
        """A socket whose connections go to ``host:port``."""

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            upstream = await asyncio.wait_for(
                asyncio.open_connection(host, port), timeout=CONNECT_TIMEOUT_S
            )
            await _splice((reader, writer), upstream)

        return await self._serve(f"port-{port}.sock", handle)

    async def proxy(self, allowed: Iterable[str]) -> Path:
        """The allowlisting HTTP proxy's socket; ``allowed`` holds ``host:port`` entries."""
        allow = {split_endpoint(entry) for entry in allowed}

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=HEAD_TIMEOUT_S)
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
                return
            request_line, _, rest = head.partition(b"\r\n")
            parts = request_line.decode("latin-1").split(" ")
            if len(parts) != 3:
                await _answer(writer, 400, "malformed request line")
                return
            method, target, version = parts
            forward: bytes | None = None
            if method.upper() == "CONNECT":
                authority = target
            elif target.lower().startswith("http://"):
                authority, slash, path = target[len("http://") :].partition("/")
                if ":" not in authority.rsplit("]", 1)[-1]:
                    authority += ":80"
                forward = f"{method} {slash}{path or ''} {version}\r\n".encode("latin-1") + rest
            else:
                await _answer(writer, 400, "only CONNECT and absolute http:// URIs are proxied")
                return
            try:
                endpoint = split_endpoint(authority)
            except ValueError:
                await _answer(writer, 400, f"bad target {authority!r}")
                return
            if endpoint not in allow:
                if authority not in self.denied:
                    # Once per target in the recent refusals: an agent retrying in a loop
                    # does not flood the log.
                    log.info("sandbox egress denied", target=authority)
                self.denied.append(authority)
                await _answer(
                    writer,
                    403,
                    f"{authority} is not allowed from the sandbox (sandbox.allowed_hosts)",
                )
                return
            try:
                upstream = await asyncio.wait_for(
                    asyncio.open_connection(_connect_host(endpoint[0]), endpoint[1]),
                    timeout=CONNECT_TIMEOUT_S,
                )
            except (OSError, TimeoutError) as exc:
                await _answer(writer, 502, f"cannot reach {authority}: {exc}")
                return
            if forward is None:
                writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                await writer.drain()
            else:
                upstream[1].write(forward)
            # Bytes the client sent after its head (a pipelined body) are in `reader`'s buffer.
            await _splice((reader, writer), upstream)

        return await self._serve("proxy.sock", handle)

    async def aclose(self) -> None:
        for server in self._servers:
            server.close()
        for task in list(self._tasks):
            task.cancel()
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), timeout=2.0)
        self._servers.clear()
        shutil.rmtree(self.directory, ignore_errors=True)


async def _answer(writer: asyncio.StreamWriter, status: int, text: str) -> None:
    reasons = {400: "Bad Request", 403: "Forbidden", 502: "Bad Gateway"}
    body = (text + "\n").encode()
    writer.write(
        f"HTTP/1.1 {status} {reasons[status]}\r\ncontent-type: text/plain\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode()
        + body
    )
    with contextlib.suppress(ConnectionError):
        await writer.drain()
