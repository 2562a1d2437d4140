from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from symphony.observability.http import serve_http
from tests.observability.fakes import FakeView

START_TIMEOUT_S = 5.0


@dataclass
class RunningServer:
    view: FakeView
    url: str
    stop: asyncio.Event
    task: asyncio.Task[None]
    options: dict[str, Any] = field(default_factory=dict)


@contextlib.asynccontextmanager
async def start_server(
    view: FakeView,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    access_token: str | None = None,
    **options: Any,
) -> AsyncIterator[RunningServer]:
    stop = asyncio.Event()
    bound: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        serve_http(
            view,
            host=host,
            port=port,
            access_token=access_token,
            stop=stop,
            on_bound=bound.set_result,
            **options,
        )
    )
    done, _ = await asyncio.wait(
        {task, bound}, timeout=START_TIMEOUT_S, return_when="FIRST_COMPLETED"
    )
    if task in done:
        task.result()  # re-raise the startup error
    assert bound in done, "server did not report its URL in time"
    server = RunningServer(view=view, url=bound.result(), stop=stop, task=task, options=options)
    try:
        yield server
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)


@pytest.fixture
async def server() -> AsyncIterator[RunningServer]:
    async with start_server(FakeView(), keepalive_s=0.5) as running:
        yield running
