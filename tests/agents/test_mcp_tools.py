"""The per-session MCP tool server, driven by the official MCP client over real HTTP on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import mcp_types as types
import pytest
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from symphony.agents.mcp_tools import SessionToolServer, ToolCallRecord
from symphony.agents.tools import ToolRegistry
from symphony.issue import Issue
from symphony.tools import ToolContext, ToolResult, ToolSpec
from tests.agents.conftest import make_issue

MOVE = ToolSpec(
    "move_issue",
    "Move the issue.",
    {"type": "object", "properties": {"state": {"type": "string"}}, "required": ["state"]},
)


async def _move(name: str, arguments: Any, context: ToolContext) -> ToolResult:
    if arguments.get("state") == "Nowhere":
        return ToolResult.fail("unknown state 'Nowhere'")
    return ToolResult.ok({"moved": context.issue.identifier, "to": arguments["state"]})


@asynccontextmanager
async def _client(server: SessionToolServer) -> AsyncIterator[ClientSession]:
    async with (
        create_mcp_http_client(headers=server.headers) as http,
        streamable_http_client(server.url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


async def test_lists_the_session_tools_and_runs_calls_with_the_current_issue() -> None:
    issue: list[Issue] = [make_issue(identifier="SYM-1")]
    records: list[ToolCallRecord] = []
    server = await SessionToolServer.start(
        ToolRegistry([MOVE], _move),
        context=lambda: ToolContext(issue=issue[0]),
        on_call=records.append,
    )
    try:
        assert server.url.startswith("http://127.0.0.1:")
        async with _client(server) as session:
            listed = await session.list_tools()
            assert [(t.name, t.input_schema["required"]) for t in listed.tools] == [
                ("move_issue", ["state"])
            ]
            issue[0] = make_issue(identifier="SYM-2")  # the context is read per call
            ok = await session.call_tool("move_issue", {"state": "Human Review"})
            assert not ok.is_error
            assert isinstance(ok.content[0], types.TextContent)
            assert '"moved": "SYM-2"' in ok.content[0].text
            failed = await session.call_tool("move_issue", {"state": "Nowhere"})
            assert failed.is_error
            assert isinstance(failed.content[0], types.TextContent)
            assert "unknown state 'Nowhere'" in failed.content[0].text
        assert [(r.name, r.arguments, r.result.success) for r in records] == [
            ("move_issue", {"state": "Human Review"}, True),
            ("move_issue", {"state": "Nowhere"}, False),
        ]
        assert server.claude_mcp_config() == {
            "mcpServers": {
                "symphony": {"type": "http", "url": server.url, "headers": server.headers}
            }
        }
    finally:
        await server.aclose()


async def test_each_session_has_its_own_secret_and_tools() -> None:
    context = ToolContext(issue=make_issue())
    first = await SessionToolServer.start(ToolRegistry([MOVE], _move), context=lambda: context)
    second = await SessionToolServer.start(ToolRegistry.empty(), context=lambda: context)
    try:
        assert first.url != second.url and first.headers != second.headers
        async with _client(second) as session:
            assert (await session.list_tools()).tools == []
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
        async with httpx.AsyncClient() as http:
            for headers in ({}, second.headers, {"Authorization": "Bearer nope"}):
                answer = await http.post(first.url, json=body, headers=headers)
                assert answer.status_code == 401, headers
            unknown = await http.post(first.url + "x", json=body, headers=first.headers)
            assert unknown.status_code == 404
    finally:
        await first.aclose()
        await second.aclose()


async def test_a_closed_session_answers_404_and_the_listener_stops_with_the_last() -> None:
    context = ToolContext(issue=make_issue())
    kept = await SessionToolServer.start(ToolRegistry([MOVE], _move), context=lambda: context)
    gone = await SessionToolServer.start(ToolRegistry([MOVE], _move), context=lambda: context)
    await gone.aclose()
    await gone.aclose()  # twice is fine
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    async with httpx.AsyncClient() as http:
        answer = await http.post(gone.url, json=body, headers=gone.headers)
        assert answer.status_code == 404
        async with _client(kept) as session:
            assert [t.name for t in (await session.list_tools()).tools] == ["move_issue"]
    await kept.aclose()
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as http:
            await http.post(kept.url, json=body, headers=kept.headers)


async def test_a_slow_tool_does_not_block_other_sessions() -> None:
    release = asyncio.Event()

    async def slow(name: str, arguments: Any, context: ToolContext) -> ToolResult:
        await release.wait()
        return ToolResult.ok("late")

    context = ToolContext(issue=make_issue())
    blocked = await SessionToolServer.start(ToolRegistry([MOVE], slow), context=lambda: context)
    free = await SessionToolServer.start(ToolRegistry([MOVE], _move), context=lambda: context)
    try:
        async with _client(blocked) as slow_session, _client(free) as fast_session:
            pending = asyncio.create_task(slow_session.call_tool("move_issue", {"state": "A"}))
            quick = await asyncio.wait_for(
                fast_session.call_tool("move_issue", {"state": "B"}), timeout=10
            )
            assert not quick.is_error and not pending.done()
            release.set()
            late = await asyncio.wait_for(pending, timeout=10)
            assert isinstance(late.content[0], types.TextContent)
            assert late.content[0].text == "late"
    finally:
        await blocked.aclose()
        await free.aclose()
