"""``POST /api/v1/webhooks/<provider>`` over real HTTP on 127.0.0.1: the body cap, the receipt
as a status code, and the exemption from the access token and the host check."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import pytest

from symphony.webhooks import MAX_BODY_BYTES, WebhookReceipt
from tests.observability.conftest import RunningServer, start_server
from tests.observability.fakes import FakeView

TOKEN = "s3cret-dashboard-token"
URL = "/api/v1/webhooks/linear"


@pytest.fixture
async def guarded() -> AsyncIterator[RunningServer]:
    async with start_server(FakeView(), access_token=TOKEN, keepalive_s=0.5) as running:
        yield running


def error_code(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    code: str = response.json()["error"]["code"]
    return code


async def test_the_raw_body_and_headers_reach_the_runtime_and_its_receipt_answers(
    server: RunningServer,
) -> None:
    body = b'{"type": "Issue",  "data": {"id": "x"}}'  # spacing kept: signatures cover bytes
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.post(
            URL, content=body, headers={"Linear-Signature": "abc", "Linear-Delivery": "d-1"}
        )
    assert response.status_code == 202, response.text
    assert response.json() == {
        "status": "accepted",
        "message": "refreshing Issue MT-1 (update)",
        "issue_ids": ["id-MT-1"],
    }
    assert response.headers["cache-control"] == "no-store"
    [(provider, delivery)] = server.view.webhooks
    assert provider == "linear" and delivery.body == body
    assert delivery.headers["linear-signature"] == "abc"
    assert delivery.headers["linear-delivery"] == "d-1"


async def test_ignored_and_refused_receipts_become_200_and_error_envelopes(
    server: RunningServer,
) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        server.view.webhook_receipt = WebhookReceipt(200, "ignored", "not in project x")
        response = await client.post(URL, content=b"{}")
        assert response.status_code == 200
        assert response.json() == {
            "status": "ignored",
            "message": "not in project x",
            "issue_ids": [],
        }
        server.view.webhook_receipt = WebhookReceipt(401, "invalid_signature", "wrong signature")
        response = await client.post(URL, content=b"{}")
        assert error_code(response, 401) == "invalid_signature"
        assert response.json()["error"]["message"] == "wrong signature"
        server.view.webhook_receipt = WebhookReceipt(
            404, "webhooks_not_enabled", "tracker is local"
        )
        assert error_code(await client.post("/api/v1/webhooks/github", content=b"{}"), 404) == (
            "webhooks_not_enabled"
        )
    assert [p for p, _ in server.view.webhooks] == ["linear", "linear", "github"]


async def test_a_body_over_one_mebibyte_is_refused_without_reaching_the_runtime(
    server: RunningServer,
) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        declared = await client.post(URL, content=b"x" * (MAX_BODY_BYTES + 1))
        assert error_code(declared, 413) == "payload_too_large"

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(MAX_BODY_BYTES // 65_536 + 1):
                yield b"x" * 65_536

        # No Content-Length (chunked): the streamed read stops at the cap.
        streamed = await client.post(URL, content=chunks())
        assert error_code(streamed, 413) == "payload_too_large"
        assert server.view.webhooks == []
        exact = await client.post(URL, content=b"x" * MAX_BODY_BYTES)
        assert exact.status_code == 202
    assert len(server.view.webhooks[0][1].body) == MAX_BODY_BYTES


async def test_a_declared_oversize_body_is_refused_before_any_of_it_is_read(
    server: RunningServer,
) -> None:
    url = urlsplit(server.url)
    assert url.hostname is not None and url.port is not None
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    try:
        # Headers only: a server that waited for the announced body would never answer.
        writer.write(
            f"POST {URL} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Length: {MAX_BODY_BYTES + 1}\r\n\r\n".encode()
        )
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), timeout=10)
    finally:
        writer.close()
    assert status_line.split()[1] == b"413", status_line
    assert server.view.webhooks == []


async def test_a_runtime_failure_is_a_503_envelope(server: RunningServer) -> None:
    async def broken(*_: object) -> WebhookReceipt:
        raise RuntimeError("orchestrator gone")

    server.view.receive_webhook = broken  # type: ignore[method-assign]
    async with httpx.AsyncClient(base_url=server.url) as client:
        assert error_code(await client.post(URL, content=b"{}"), 503) == "orchestrator_unavailable"


async def test_webhooks_need_no_token_and_pass_the_host_and_origin_checks(
    guarded: RunningServer, server: RunningServer
) -> None:
    # As forwarded by a public reverse proxy: a public Host, no token, the tracker's Origin.
    public = {"Host": "symphony.example.com", "Origin": "https://linear.app"}
    for running in (guarded, server):
        async with httpx.AsyncClient(base_url=running.url) as client:
            response = await client.post(URL, content=b"{}", headers=public)
            assert response.status_code == 202, response.text
            # Only that route: the rest of the API stays private under the same conditions.
            for method, path in (("POST", "/api/v1/refresh"), ("GET", "/api/v1/state")):
                refused = await client.request(method, path, headers=public)
                assert refused.status_code in (401, 403), (method, path, refused.text)
            for path in (URL + "/extra", "/api/v1/webhooks/"):
                refused = await client.post(path, headers=public)
                assert refused.status_code in (401, 403, 404), (path, refused.text)
                assert refused.status_code != 202
    assert len(guarded.view.webhooks) == len(server.view.webhooks) == 1


async def test_other_methods_on_the_webhook_route_stay_guarded(guarded: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=guarded.url) as client:
        assert error_code(await client.get(URL), 401) == "unauthorized"
        allowed = await client.get(URL, headers={"Authorization": f"Bearer {TOKEN}"})
        assert error_code(allowed, 405) == "method_not_allowed"
