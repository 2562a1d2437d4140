"""The session's dynamic-tool registry (SPEC §10.5) and codex's wire format for it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from symphony.agents.codex.tools import dynamic_tools, tool_call_result
from symphony.agents.tools import ToolRegistry
from symphony.tools import ToolContext, ToolResult, ToolSpec
from tests.agents.conftest import make_issue

SPEC = ToolSpec("echo", "Echo the arguments.", {"type": "object"})
CONTEXT = ToolContext(issue=make_issue())


async def _echo(name: str, arguments: Any, context: ToolContext) -> ToolResult:
    return ToolResult.ok({"name": name, "arguments": arguments, "issue": context.issue.id})


async def test_advertises_specs_and_runs_the_executor_with_the_issue() -> None:
    registry = ToolRegistry([SPEC], _echo)
    assert dynamic_tools(registry.specs) == [
        {
            "type": "function",
            "name": "echo",
            "description": "Echo the arguments.",
            "inputSchema": {"type": "object"},
        }
    ]
    assert registry.names == frozenset({"echo"})
    result = await registry.execute("echo", {"a": 1}, CONTEXT)
    assert result == ToolResult.ok({"name": "echo", "arguments": {"a": 1}, "issue": "issue-1"})


async def test_unknown_names_fail_without_calling_the_executor() -> None:
    calls: list[str] = []

    async def executor(name: str, arguments: Any, context: ToolContext) -> ToolResult:
        calls.append(name)
        return ToolResult.ok("x")

    result = await ToolRegistry([SPEC], executor).execute("nope", {}, CONTEXT)
    assert not result.success and "nope" in result.text() and "echo" in result.text()
    assert calls == []
    assert not (await ToolRegistry.empty().execute("echo", {}, CONTEXT)).success


async def test_exceptions_become_failure_results() -> None:
    async def broken(name: str, arguments: Any, context: ToolContext) -> ToolResult:
        raise ConnectionError("tracker unreachable")

    result = await ToolRegistry([SPEC], broken).execute("echo", {}, CONTEXT)
    assert not result.success and "tracker unreachable" in result.text()


async def test_non_tool_result_is_a_failure() -> None:
    async def sloppy(name: str, arguments: Any, context: ToolContext) -> Any:
        return {"ok": True}

    result = await ToolRegistry([SPEC], sloppy).execute("echo", {}, CONTEXT)
    assert not result.success and "dict" in result.text()


async def test_slow_tools_time_out() -> None:
    never = asyncio.Event()

    async def hang(name: str, arguments: Any, context: ToolContext) -> ToolResult:
        await never.wait()
        return ToolResult.ok("unreachable")

    result = await ToolRegistry([SPEC], hang, timeout_s=0.05).execute("echo", {}, CONTEXT)
    assert not result.success and "did not finish" in result.text()


def test_bad_registries_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        ToolRegistry([SPEC, SPEC], _echo)
    with pytest.raises(ValueError, match="executor"):
        ToolRegistry([SPEC])
    with pytest.raises(ValueError, match="timeout"):
        ToolRegistry([SPEC], _echo, timeout_s=0)


def test_codex_gets_a_result_as_one_text_item() -> None:
    assert tool_call_result(ToolResult.ok("plain")) == {
        "success": True,
        "contentItems": [{"type": "inputText", "text": "plain"}],
    }
    failed = tool_call_result(ToolResult.fail("nope", tool="echo"))
    assert failed["success"] is False
    assert failed["contentItems"][0]["text"] == ToolResult.fail("nope", tool="echo").text()
