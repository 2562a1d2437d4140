"""The live event stream: initial snapshot, pushed changes, keep-alives, slow clients, shutdown."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import httpx

from symphony.observability.http.events import EventHub
from symphony.view import SnapshotChanged
from tests.observability.conftest import RunningServer, start_server
from tests.observability.fakes import FakeView, activity, running_row, snapshot
from tests.support.waiting import wait_until

WAIT_S = 5.0


@dataclass
class Message:
    event: str | None
    data: str | None
    comment: str | None = None

    def json(self) -> Any:
        assert self.data is not None
        return json.loads(self.data)


async def messages(response: httpx.Response) -> AsyncIterator[Message]:
    event: str | None = None
    data: list[str] = []
    async for line in response.aiter_lines():
        if line == "":
            if event is not None or data:
                yield Message(event, "\n".join(data) if data else None)
            event, data = None, []
        elif line.startswith(":"):
            yield Message(None, None, comment=line[1:].strip())
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())


async def next_event(stream: AsyncIterator[Message], kind: str) -> Message:
    async def find() -> Message:
        async for message in stream:
            if message.event == kind:
                return message
        raise AssertionError(f"stream ended before a {kind!r} event")

    return await asyncio.wait_for(find(), timeout=WAIT_S)


async def test_stream_starts_with_a_snapshot_then_pushes_changes(server: RunningServer) -> None:
    async with (
        httpx.AsyncClient(base_url=server.url) as client,
        client.stream("GET", "/api/v1/events") as response,
    ):
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
        stream = messages(response)
        first = await next_event(stream, "snapshot")
        assert first.json()["counts"] == {"running": 0, "retrying": 0, "blocked": 0, "held": 0}

        row = running_row("MT-9", turn_count=3, last_event="turn_completed", last_message=None)
        server.view.publish(snapshot(running=[row]))
        pushed = (await next_event(stream, "snapshot")).json()
        assert pushed["running"][0]["issue_identifier"] == "MT-9"
        assert pushed["running"][0]["summary"] == "turn completed"

        server.view.agent_event(
            activity(
                "MT-9",
                session_id="t-1",
                at=datetime(2026, 2, 24, 20, 15, 31, tzinfo=UTC),
                event="notification",
                message="ran: git status (exit 0)",
                tokens={"input_tokens": 1, "output_tokens": 2, "total_tokens": 3},
            )
        )
        event = (await next_event(stream, "agent_event")).json()
        assert event["issue_identifier"] == "MT-9"
        assert event["summary"] == "ran: git status (exit 0)"
        assert event["tokens"]["total_tokens"] == 3


async def test_idle_stream_sends_keepalive_comments(server: RunningServer) -> None:
    async with (
        httpx.AsyncClient(base_url=server.url) as client,
        client.stream("GET", "/api/v1/events") as response,
    ):
        stream = messages(response)

        async def keepalive() -> Message:
            async for message in stream:
                if message.comment == "keepalive":
                    return message
            raise AssertionError("stream ended")

        assert (await asyncio.wait_for(keepalive(), timeout=WAIT_S)).comment == "keepalive"


async def test_broken_snapshot_is_reported_on_the_stream(server: RunningServer) -> None:
    server.view.snapshot_error = RuntimeError("down")
    async with (
        httpx.AsyncClient(base_url=server.url) as client,
        client.stream("GET", "/api/v1/events") as response,
    ):
        stream = messages(response)
        body = (await next_event(stream, "unavailable")).json()
        assert body["error"]["code"] == "snapshot_unavailable"
        server.view.publish(snapshot())  # pushed changes still flow
        assert (await next_event(stream, "snapshot")).json()["counts"]["running"] == 0


async def test_shutdown_ends_open_streams_and_returns() -> None:
    view = FakeView()
    async with start_server(view, keepalive_s=30) as running:
        client = httpx.AsyncClient(base_url=running.url)
        async with client.stream("GET", "/api/v1/events") as response:
            stream = messages(response)
            await next_event(stream, "snapshot")
            running.stop.set()
            # The server finishes the response itself: the stream ends instead of hanging.
            rest = [m async for m in stream]
            assert all(m.event != "snapshot" for m in rest)
            await asyncio.wait_for(running.task, timeout=WAIT_S)
        await client.aclose()
    assert view.listeners == []  # the hub unsubscribed from the runtime


class _StuckSend:
    """An ASGI ``send`` whose peer stops reading after the response headers."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.blocked = asyncio.Event()

    async def __call__(self, message: Any) -> None:
        self.messages.append(message)
        if len(self.messages) > 2:  # headers and the retry hint went out, then nothing more
            self.blocked.set()
            await asyncio.Event().wait()


async def _no_disconnect() -> dict[str, Any]:
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


async def test_slow_client_is_dropped_without_slowing_the_runtime() -> None:
    view = FakeView()
    hub = EventHub(view, queue_size=4, keepalive_s=30, send_timeout_s=0.3)
    hub.start()
    assert view.listeners == []  # nobody watches: agent events cost the runtime nothing
    send = _StuckSend()
    scope = {"type": "http", "method": "GET", "path": "/api/v1/events", "headers": []}
    task = asyncio.create_task(hub(scope, _no_disconnect, send))
    await asyncio.wait_for(send.blocked.wait(), timeout=WAIT_S)
    assert hub.client_count == 1

    for turn in range(50):  # snapshots supersede each other: no backlog builds up
        view.publish(snapshot(running=[running_row("MT-1", turn_count=turn)]))
    assert hub.client_count == 1
    for index in range(50):  # far more agent events than the client's backlog holds
        view.agent_event(activity("MT-1", message=f"event {index}"))
    # Publishing returned synchronously every time; the client was cut off at the bound.
    assert hub.client_count == 0
    assert hub.dropped == 1
    assert len(view.listeners) == 1  # the hub's own listener never raised

    await asyncio.wait_for(task, timeout=WAIT_S)  # its stuck write times out; the task ends
    assert view.listeners == []  # the last client left
    hub.close()
    assert view.listeners == []


def sse_frames(bodies: Iterable[bytes]) -> list[bytes]:
    """The ``event:`` frames in response bodies (one body may carry several)."""
    return [f for f in b"".join(bodies).split(b"\n\n") if f.startswith(b"event:")]


class _GatedSend:
    """An ASGI ``send`` that stalls after the initial snapshot until the test opens the gate."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.gate = asyncio.Event()
        self.stalled = asyncio.Event()

    async def __call__(self, message: Any) -> None:
        if message["type"] != "http.response.body":
            return
        self.bodies.append(message["body"])
        if len(self.bodies) == 2:  # retry hint and initial snapshot went out
            self.stalled.set()
            await self.gate.wait()


async def test_a_lagging_client_gets_events_in_order_and_only_the_newest_snapshot() -> None:
    view = FakeView()
    hub = EventHub(view, queue_size=100, keepalive_s=30)
    hub.start()
    send = _GatedSend()
    scope = {"type": "http", "method": "GET", "path": "/api/v1/events", "headers": []}
    task = asyncio.create_task(hub(scope, _no_disconnect, send))
    await asyncio.wait_for(send.stalled.wait(), timeout=WAIT_S)
    for turn in range(1, 31):
        view.agent_event(activity("MT-1", message=str(turn)))
        view.publish(snapshot(running=[running_row("MT-1", turn_count=turn)]))
    send.gate.set()
    await wait_until(lambda: b'turn_count":30' in b"".join(send.bodies))
    frames = sse_frames(send.bodies[2:])
    kinds = [f.split(b"\n", 1)[0] for f in frames]
    assert kinds == [b"event: agent_event"] * 30 + [b"event: snapshot"]
    numbers = [int(json.loads(f.split(b"data: ", 1)[1])["message"]) for f in frames[:30]]
    assert numbers == list(range(1, 31))
    hub.close()
    await asyncio.wait_for(task, timeout=WAIT_S)


async def test_the_hub_listener_never_raises_on_odd_changes() -> None:
    view = FakeView()
    hub = EventHub(view, queue_size=8, keepalive_s=30)
    hub.start()
    sent: list[dict[str, Any]] = []

    async def record(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/api/v1/events", "headers": []}
    task = asyncio.create_task(hub(scope, _no_disconnect, record))
    await wait_until(lambda: len(sent) >= 3)  # headers, retry hint, initial snapshot
    listener = view.listeners[0]
    odd = object()  # values the types do not allow still degrade to text
    listener(replace(activity("MT-1", event=None), message=odd))
    listener(SnapshotChanged(replace(snapshot(), rate_limits={"odd": odd})))
    await wait_until(lambda: len(sse_frames(m.get("body", b"") for m in sent[3:])) >= 2)
    frames = sse_frames(m.get("body", b"") for m in sent[3:])
    assert frames[0].startswith(b"event: agent_event\ndata: {")
    assert frames[1].startswith(b"event: snapshot\ndata: {")
    hub.close()
    await asyncio.wait_for(task, timeout=WAIT_S)
    assert sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    listener(SnapshotChanged(snapshot()))  # a late change after close is ignored
    assert view.listeners == []


async def test_unserializable_values_degrade_to_text(server: RunningServer) -> None:
    async with (
        httpx.AsyncClient(base_url=server.url) as client,
        client.stream("GET", "/api/v1/events") as response,
    ):
        stream = messages(response)
        await next_event(stream, "snapshot")
        odd = replace(activity("MT-1"), message={1, 2})  # not text, as the types demand
        server.view.agent_event(odd)
        event = (await next_event(stream, "agent_event")).json()
        assert event["issue_identifier"] == "MT-1"
        assert isinstance(event["message"], str)
