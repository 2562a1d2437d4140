"""Server-sent events: runtime changes fanned out to dashboard clients.

The runtime calls our listener on its own loop for every change; the listener only hands a shared
frame to each client's bounded backlog (never waiting), so a slow client can never slow the
orchestrator. Snapshots supersede each other; agent events queue up to a limit. A client whose
backlog overflows is disconnected; its browser reconnects by itself and starts again from a
fresh snapshot. Frames are serialized once, lazily, by the first client that sends them. The
hub listens to the runtime only while a client is connected: with no dashboard open, agent
events cost nothing here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
from starlette.types import Receive, Scope, Send

from symphony.logs import get_logger
from symphony.observability.http.presenter import present_agent_event, present_state
from symphony.runtime_view import RuntimeChange, RuntimeView
from symphony.view import SnapshotChanged

log = get_logger("symphony.observability.http")

DEFAULT_QUEUE_SIZE = 512
DEFAULT_KEEPALIVE_S = 15.0
DEFAULT_SEND_TIMEOUT_S = 10.0
RECONNECT_MS = 2000


def encode_json_bytes(value: Any) -> bytes:
    # default=str: an odd value from the runtime must degrade to text, not kill the stream.
    return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS)


def encode_json(value: Any) -> str:
    return encode_json_bytes(value).decode()


class Frame:
    """One SSE message, encoded on first use and shared by every client."""

    __slots__ = ("_encoded", "_render", "kind")

    def __init__(self, kind: str, render: Callable[[], Any]) -> None:
        self.kind = kind
        self._render = render
        self._encoded: bytes | None = None

    def encode(self) -> bytes:
        if self._encoded is None:
            data = encode_json(self._render())
            self._encoded = f"event: {self.kind}\ndata: {data}\n\n".encode()
        return self._encoded


def _change_frame(change: RuntimeChange) -> Frame:
    if isinstance(change, SnapshotChanged):
        snapshot = change.snapshot
        return Frame("snapshot", lambda: present_state(snapshot))
    activity = change
    return Frame("agent_event", lambda: present_agent_event(activity))


class _Client:
    """One stream's backlog: agent events in order (bounded), plus only the newest snapshot.

    Snapshots supersede each other, so a burst of scheduling changes costs one frame, not a
    queue slot each; only a client that cannot keep up with agent events overflows.
    """

    __slots__ = ("closed", "events", "limit", "reason", "snapshot", "wake")

    def __init__(self, limit: int) -> None:
        self.events: deque[Frame] = deque()
        self.limit = limit
        self.snapshot: Frame | None = None
        self.wake = asyncio.Event()
        self.closed = False
        self.reason = ""

    def offer(self, frame: Frame) -> bool:
        """Queue a frame without waiting; False when the backlog is full."""
        if frame.kind == "snapshot":
            self.snapshot = frame
        elif len(self.events) >= self.limit:
            return False
        else:
            self.events.append(frame)
        self.wake.set()
        return True

    def take(self) -> list[Frame]:
        """Everything pending: the agent events first, then the snapshot that followed them."""
        batch = list(self.events)
        self.events.clear()
        if self.snapshot is not None:
            batch.append(self.snapshot)
            self.snapshot = None
        self.wake.clear()
        return batch

    def close(self, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        self.reason = reason
        self.wake.set()


class EventHub:
    """Subscribes to the runtime once and serves ``GET /api/v1/events`` as an ASGI app."""

    def __init__(
        self,
        view: RuntimeView,
        *,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        keepalive_s: float = DEFAULT_KEEPALIVE_S,
        send_timeout_s: float = DEFAULT_SEND_TIMEOUT_S,
    ) -> None:
        self._view = view
        self._queue_size = queue_size
        self._keepalive_s = keepalive_s
        self._send_timeout_s = send_timeout_s
        self._clients: set[_Client] = set()
        self._unsubscribe: Callable[[], None] | None = None
        self._started = False
        self._closed = False
        self.dropped = 0

    @property
    def client_count(self) -> int:
        return len(self._clients)

    def start(self) -> None:
        """Serve changes from now on; the hub subscribes when the first client connects."""
        self._started = True
        if self._clients:
            self._listen()

    def _listen(self) -> None:
        if self._unsubscribe is None and self._started and not self._closed:
            self._unsubscribe = self._view.subscribe(self._on_change)

    def _stop_listening(self) -> None:
        if self._unsubscribe is not None:
            unsubscribe, self._unsubscribe = self._unsubscribe, None
            try:
                unsubscribe()
            except Exception:
                log.exception("runtime unsubscribe failed", component="sse")

    def close(self) -> None:
        """Ends every stream (clean shutdown) and stops listening to the runtime."""
        self._closed = True
        self._stop_listening()
        for client in list(self._clients):
            client.close("shutdown")
        self._clients.clear()

    def _on_change(self, change: RuntimeChange) -> None:
        if not self._clients:
            return
        frame = _change_frame(change)
        for client in list(self._clients):
            if not client.offer(frame):
                self._drop(client)

    def _drop(self, client: _Client) -> None:
        self._clients.discard(client)
        self.dropped += 1
        client.close("slow client")
        log.info("event stream client dropped", reason="backlog full", limit=self._queue_size)

    def _initial_frame(self) -> Frame:
        try:
            snapshot = self._view.snapshot()
        except Exception as exc:  # SPEC §17.6: a broken view is reported, never fatal
            log.warning("snapshot failed for event stream", error=repr(exc))
            error = {"error": {"code": "snapshot_unavailable", "message": "Snapshot unavailable"}}
            return Frame("unavailable", lambda: error)
        return Frame("snapshot", lambda: present_state(snapshot))

    async def _frames(self, client: _Client) -> AsyncIterator[bytes]:
        yield f"retry: {RECONNECT_MS}\n\n".encode()
        yield self._initial_frame().encode()
        while not client.closed:
            try:
                await asyncio.wait_for(client.wake.wait(), timeout=self._keepalive_s)
            except TimeoutError:
                yield b": keepalive\n\n"
                continue
            # Everything pending goes out in one write: a busy fleet queues many events per wake.
            chunks = []
            for frame in client.take():
                try:
                    chunks.append(frame.encode())
                except Exception as exc:
                    log.warning("event frame dropped", kind=frame.kind, error=repr(exc))
            if chunks:
                yield b"".join(chunks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = _Client(self._queue_size)
        if self._closed:
            client.close("shutdown")
        else:
            self._clients.add(client)
            self._listen()  # before the initial snapshot: no change falls in between
        watcher = asyncio.create_task(self._watch_disconnect(receive, client))
        try:
            await self._send(
                send,
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"text/event-stream; charset=utf-8"),
                        (b"cache-control", b"no-store"),
                        (b"x-accel-buffering", b"no"),
                    ],
                },
            )
            async for chunk in self._frames(client):
                await self._send(
                    send, {"type": "http.response.body", "body": chunk, "more_body": True}
                )
            await self._send(send, {"type": "http.response.body", "body": b"", "more_body": False})
        except TimeoutError:
            # The peer stopped reading; leaving the response unfinished makes the server drop it.
            log.info("event stream client dropped", reason="send timed out")
        except OSError:
            pass  # the client went away mid-write
        finally:
            self._clients.discard(client)
            if not self._clients:
                self._stop_listening()
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    async def _send(self, send: Send, message: dict[str, Any]) -> None:
        await asyncio.wait_for(send(message), timeout=self._send_timeout_s)

    @staticmethod
    async def _watch_disconnect(receive: Receive, client: _Client) -> None:
        while True:
            message = await receive()
            if message.get("type") == "http.disconnect":
                client.close("disconnected")
                return
