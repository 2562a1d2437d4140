"""The trackers' HTTP client: a burst of requests is sent a few at a time, in order."""

from __future__ import annotations

import asyncio

from symphony.httpx_lean import httpx
from symphony.trackers.graphql_http import MAX_IN_FLIGHT, new_http_client


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

    client = new_http_client(10.0, httpx.MockTransport(handler))
    try:
        burst = [client.get("http://127.0.0.1/graphql", params={"n": n}) for n in range(60)]
        responses = await asyncio.wait_for(asyncio.gather(*burst), timeout=30)
    finally:
        await client.aclose()
    assert [r.json()["n"] for r in responses] == [str(n) for n in range(60)]
    assert peak == MAX_IN_FLIGHT
