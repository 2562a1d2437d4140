"""The real HTTP server in front of a runtime on a loopback port, with a client for it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from symphony.observability.http.server import serve_http
from symphony.runtime_view import RuntimeView

STOP_TIMEOUT_S = 10.0


@asynccontextmanager
async def api_client(
    runtime: RuntimeView, *, start_timeout_s: float, client_timeout_s: float
) -> AsyncIterator[httpx.AsyncClient]:
    stop = asyncio.Event()
    bound: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    server = asyncio.create_task(
        serve_http(
            runtime,
            host="127.0.0.1",
            port=0,
            access_token=None,
            stop=stop,
            on_bound=bound.set_result,
        )
    )
    try:
        url = await asyncio.wait_for(bound, timeout=start_timeout_s)
        async with httpx.AsyncClient(base_url=url, timeout=client_timeout_s) as client:
            yield client
    finally:
        stop.set()
        await asyncio.wait_for(server, timeout=STOP_TIMEOUT_S)
