"""The trackers' HTTP client: a burst of requests is sent a few at a time, in order; TLS
authorities are loaded once, and only for an ``https`` endpoint."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator

import pytest

from symphony.httpx_lean import httpx
from symphony.trackers import graphql_http
from symphony.trackers.graphql_http import MAX_IN_FLIGHT, new_http_client, tls_for


async def test_a_burst_of_requests_keeps_at_most_max_in_flight_and_all_complete() -> None:
    in_flight = 0
    peak = 0
    full = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        if in_flight >= MAX_IN_FLIGHT:
            full.set()
        # Every request waits until the client has as many in flight as it may: without the
        # bound, all of the burst would be in here at once.
        await asyncio.wait_for(full.wait(), timeout=10)
        in_flight -= 1
        return httpx.Response(200, json={"n": request.url.params["n"]})

    client = new_http_client(10.0, "http://127.0.0.1/graphql", httpx.MockTransport(handler))
    try:
        burst = [client.get("http://127.0.0.1/graphql", params={"n": n}) for n in range(60)]
        responses = await asyncio.wait_for(asyncio.gather(*burst), timeout=30)
    finally:
        await client.aclose()
    assert [r.json()["n"] for r in responses] == [str(n) for n in range(60)]
    assert peak == MAX_IN_FLIGHT


@pytest.fixture
def certifi_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """httpx's default authorities (certifi's bundle), built afresh for the test: a capath
    from SSL_CERT_DIR would load its certificates only on use."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    graphql_http._verified_tls.cache_clear()
    yield
    graphql_http._verified_tls.cache_clear()


@pytest.mark.usefixtures("certifi_only")
def test_an_https_endpoint_verifies_with_one_shared_context() -> None:
    linear = tls_for("https://api.linear.app/graphql")
    assert tls_for(" https://api.github.com/graphql ") is linear
    assert linear.verify_mode == ssl.CERT_REQUIRED and linear.check_hostname
    assert linear.cert_store_stats()["x509_ca"] > 0


def test_a_plain_http_endpoint_loads_no_authorities_and_would_refuse_any_tls() -> None:
    plain = tls_for("HTTP://127.0.0.1:8080/graphql")
    assert plain is not tls_for("https://api.linear.app/graphql")
    assert plain.cert_store_stats()["x509_ca"] == 0
    # Nothing is trusted, and nothing goes unverified.
    assert plain.verify_mode == ssl.CERT_REQUIRED and plain.check_hostname
