"""The plumbing every fake model API of the tests shares: scripted replies, recorded requests.

A subclass (``fake_model.FakeModelServer`` for OpenAI's Responses API, ``fake_anthropic`` for
Anthropic's Messages API) names its routes, how a request is recorded and what to answer when
nothing is scripted; this class runs uvicorn in a daemon thread on 127.0.0.1 with its own event
loop (so sync and async tests, and the end-to-end suites, can share one server) and guards its
state with one lock. Each request pops the next scripted reply, unless ``responder`` (a callable
``recorded request -> reply``) decides every answer instead.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Generic, Self, TypeVar

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

ReplyT = TypeVar("ReplyT")
RequestT = TypeVar("RequestT")

START_TIMEOUT_S = 10.0


class ScriptedServer(Generic[ReplyT, RequestT]):
    #: How errors and the server thread name this fake (e.g. "fake model").
    label = "fake server"
    #: Where it listens; another loopback address (127.0.0.2) makes a client's traffic to it
    #: look like any host's (no NO_PROXY loopback exemption applies).
    bind_host = "127.0.0.1"

    def __init__(
        self,
        replies: Iterable[ReplyT] = (),
        *,
        default: ReplyT | None = None,
        responder: Callable[[RequestT], ReplyT] | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._queue: list[ReplyT] = list(replies)
        self._requests: list[RequestT] = []
        self._request_seen = threading.Condition(self._lock)
        self.default = default
        self.responder = responder
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- what a subclass provides ----------------------------------------------------------

    def routes(self) -> Sequence[Route]:
        raise NotImplementedError

    def record(self, path: str, headers: Mapping[str, str], body: Mapping[str, Any]) -> RequestT:
        raise NotImplementedError

    def unscripted(self) -> ReplyT:
        """The answer when the script is empty and no default is set (an HTTP error reply)."""
        raise NotImplementedError

    # -- scripting -------------------------------------------------------------------------

    def script(self, *replies: ReplyT) -> None:
        """Append replies; each request consumes one, in order."""
        with self._lock:
            self._queue.extend(replies)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    @property
    def requests(self) -> list[RequestT]:
        with self._lock:
            return list(self._requests)

    def wait_for_requests(self, count: int, timeout_s: float = 10.0) -> list[RequestT]:
        """Block until at least ``count`` requests arrived (or raise TimeoutError)."""
        with self._request_seen:
            if not self._request_seen.wait_for(
                lambda: len(self._requests) >= count, timeout=timeout_s
            ):
                raise TimeoutError(f"{self.label} saw {len(self._requests)} of {count} requests")
            return list(self._requests)

    async def next_reply(self, request: Request) -> tuple[RequestT, ReplyT]:
        """Record ``request`` and pick its reply: the responder's, the next scripted one, the
        default, else ``unscripted()`` (so a test that under-scripts fails visibly)."""
        raw = await request.body()
        try:
            body = json.loads(raw)
        except ValueError:
            body = {"_unparsed": raw.decode("utf-8", "replace")}
        recorded = self.record(
            request.url.path,
            {k.lower(): v for k, v in request.headers.items()},
            body if isinstance(body, dict) else {"_body": body},
        )
        with self._lock:
            self._requests.append(recorded)
            self._request_seen.notify_all()
            reply: ReplyT | None = None
            if self.responder is None:
                reply = self._queue.pop(0) if self._queue else self.default
        if self.responder is not None:
            reply = self.responder(recorded)
        return recorded, reply if reply is not None else self.unscripted()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.bind_host, 0))
        self.port = sock.getsockname()[1]
        app = Starlette(routes=list(self.routes()))
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [sock]},
            daemon=True,
            name=self.label.replace(" ", "-"),
        )
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"{self.label} did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            # A delayed answer whose client has gone must not hold the shutdown.
            self._server.force_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
