"""Bind rules, the access token, Host and Origin checks, and startup errors."""

from __future__ import annotations

import asyncio
import signal
import socket
from collections.abc import AsyncIterator
from types import FrameType

import httpx
import pytest

from symphony.observability.http import (
    HttpServerError,
    HttpSettings,
    check_bind,
    display_url,
    http_settings,
    serve_http,
)
from symphony.observability.http.auth import COOKIE_NAME
from symphony.workflow.config import ServerConfig
from tests.observability.conftest import RunningServer, start_server
from tests.observability.fakes import FakeView

WILDCARD = "0.0.0.0"  # noqa: S104 (only checked, never bound)
TOKEN = "s3cret-dashboard-token"


@pytest.fixture
async def guarded() -> AsyncIterator[RunningServer]:
    async with start_server(FakeView(), access_token=TOKEN, keepalive_s=0.5) as running:
        yield running


@pytest.mark.parametrize("host", [WILDCARD, "::", "192.168.1.20", "example.com", "10.0.0.1"])
def test_binding_beyond_loopback_requires_an_access_token(host: str) -> None:
    with pytest.raises(HttpServerError) as caught:
        check_bind(host, None)
    assert caught.value.code == "insecure_server_bind"
    assert "server.access_token" in caught.value.message and host in caught.value.message
    check_bind(host, "token")  # with a token it is allowed


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"])
def test_loopback_needs_no_token(host: str) -> None:
    check_bind(host, None)


def test_empty_host_is_refused() -> None:
    with pytest.raises(HttpServerError) as caught:
        check_bind("  ", None)
    assert caught.value.code == "invalid_server_host"


async def test_serve_http_refuses_an_unsafe_bind_before_listening() -> None:
    stop = asyncio.Event()
    bound: list[str] = []
    with pytest.raises(HttpServerError) as caught:
        await serve_http(
            FakeView(), host=WILDCARD, port=0, access_token=None, stop=stop, on_bound=bound.append
        )
    assert caught.value.code == "insecure_server_bind"
    assert bound == []


async def test_a_taken_port_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(HttpServerError) as caught:
            await serve_http(
                FakeView(),
                host="127.0.0.1",
                port=port,
                access_token=None,
                stop=asyncio.Event(),
                on_bound=lambda _url: None,
            )
    assert caught.value.code == "http_bind_failed"
    assert str(port) in caught.value.message and "--port" in caught.value.message


async def test_ephemeral_port_is_reported_through_on_bound(server: RunningServer) -> None:
    assert server.url.startswith("http://127.0.0.1:")
    port = int(server.url.rsplit(":", 1)[1].rstrip("/"))
    assert port > 0
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"http://127.0.0.1:{port}/api/v1/state")).status_code == 200


def test_display_url_maps_wildcards_and_brackets_ipv6() -> None:
    assert display_url(WILDCARD, 4000) == "http://127.0.0.1:4000/"
    assert display_url("::", 4000) == "http://[::1]:4000/"
    assert display_url("::1", 81) == "http://[::1]:81/"
    assert display_url("[::1]", 81) == "http://[::1]:81/"
    assert display_url("localhost", 4000) == "http://localhost:4000/"


@pytest.mark.parametrize(
    "path", ["/", "/api/v1/state", "/api/v1/MT-1", "/api/v1/events", "/assets/dashboard.js"]
)
async def test_every_request_needs_the_token(guarded: RunningServer, path: str) -> None:
    async with httpx.AsyncClient(base_url=guarded.url) as client:
        response = await client.get(path)
        wrong = await client.get(path, headers={"Authorization": "Bearer nope"})
        refresh = await client.post("/api/v1/refresh")
    for denied in (response, wrong, refresh):
        assert denied.status_code == 401
        assert denied.json()["error"]["code"] == "unauthorized"
        assert denied.headers["www-authenticate"].startswith("Bearer")
    assert guarded.view.refreshes == 0


async def test_bearer_header_and_query_token_are_accepted(guarded: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=guarded.url) as client:
        by_header = await client.get("/api/v1/state", headers={"Authorization": f"Bearer {TOKEN}"})
        by_query = await client.get("/api/v1/state", params={"token": TOKEN})
        refresh = await client.post("/api/v1/refresh", headers={"Authorization": f"bearer {TOKEN}"})
    assert by_header.status_code == 200
    assert by_query.status_code == 200
    assert refresh.status_code == 202


async def test_dashboard_visit_with_token_sets_a_session_cookie(guarded: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=guarded.url) as client:
        page = await client.get("/", params={"token": TOKEN})
        assert page.status_code == 200
        set_cookie = page.headers["set-cookie"]
        assert set_cookie.startswith(f"{COOKIE_NAME}=")
        assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie
        assert TOKEN not in set_cookie  # a derived value, not the secret itself
        # The client now carries the cookie: assets, API and stream work without the token.
        assert (await client.get("/assets/dashboard.css")).status_code == 200
        assert (await client.get("/api/v1/state")).status_code == 200
    async with httpx.AsyncClient(base_url=guarded.url) as stranger:
        stranger.cookies.set(COOKIE_NAME, "0" * 64)
        assert (await stranger.get("/api/v1/state")).status_code == 401


async def test_event_stream_accepts_the_query_token(guarded: RunningServer) -> None:
    async with (
        httpx.AsyncClient(base_url=guarded.url) as client,
        client.stream("GET", "/api/v1/events", params={"token": TOKEN}) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")


async def test_foreign_host_header_is_refused_without_a_token(server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        rebinding = await client.get("/api/v1/state", headers={"Host": "evil.example"})
        local = await client.get("/api/v1/state", headers={"Host": "localhost:4000"})
    assert rebinding.status_code == 403
    assert rebinding.json()["error"]["code"] == "forbidden_host"
    assert local.status_code == 200


async def test_cross_origin_post_is_refused(server: RunningServer) -> None:
    host = server.url.removeprefix("http://").rstrip("/")
    async with httpx.AsyncClient(base_url=server.url) as client:
        foreign = await client.post("/api/v1/refresh", headers={"Origin": "http://evil.example"})
        same = await client.post("/api/v1/refresh", headers={"Origin": f"http://{host}"})
    assert foreign.status_code == 403
    assert foreign.json()["error"]["code"] == "cross_origin"
    assert same.status_code == 202
    assert server.view.refreshes == 1


def test_cli_port_overrides_server_port() -> None:
    assert http_settings(ServerConfig(), None) is None
    assert http_settings(ServerConfig(port=4000), None) == HttpSettings("127.0.0.1", 4000, None)
    assert http_settings(ServerConfig(port=4000), 0) == HttpSettings("127.0.0.1", 0, None)
    configured = ServerConfig(port=None, host="::1", access_token="tok-123456")
    assert http_settings(configured, 8080) == HttpSettings("::1", 8080, "tok-123456")


async def test_the_service_keeps_its_signal_handlers_while_the_server_runs() -> None:
    def service_handler(_sig: int, _frame: FrameType | None) -> None:
        pass

    previous = signal.signal(signal.SIGTERM, service_handler)
    try:
        async with start_server(FakeView()) as running:
            async with httpx.AsyncClient(base_url=running.url) as client:
                assert (await client.get("/api/v1/state")).status_code == 200
            assert signal.getsignal(signal.SIGTERM) is service_handler
        assert signal.getsignal(signal.SIGTERM) is service_handler
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_listening_socket_is_tcp_so_responses_are_not_delayed() -> None:
    from symphony.observability.http.server import _bind

    sock = _bind("127.0.0.1", 0)
    try:
        # asyncio disables Nagle only for IPPROTO_TCP sockets; without it keep-alive responses
        # wait ~40 ms for delayed ACKs.
        assert sock.proto == socket.IPPROTO_TCP
        assert sock.getsockname()[0] == "127.0.0.1"
    finally:
        sock.close()
