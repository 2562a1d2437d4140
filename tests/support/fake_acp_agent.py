"""A scripted ACP agent over stdio, built on the ``acp`` library's agent side.

Each ``session/prompt`` carries its script as JSON on the prompt's last line: a list of steps,
run in order. Every step appends a result, and the turn ends with one agent message holding the
JSON list of results, so a test reads what happened from ``TurnOutcome.last_message``::

    [{"say": "hi"}, {"read": "/abs/path"}, {"terminal": "echo hi"}, {"stop": "refusal"}]

Steps: ``say`` (an agent message), ``read``/``write`` (``fs/*``), ``terminal`` (create, wait,
output, release; with ``args``, ``cwd``, ``limit``, ``env``), ``terminal_kill`` (create, kill,
output), ``permission`` (``session/request_permission`` for a tool call of ``kind`` with
``locations``), ``execute`` (a finished ``execute`` tool call with ``exit_code``), ``usage``
(per-turn usage on the response), ``stop`` (the stop reason), ``error`` (answer the prompt with a
JSON-RPC error), ``hang`` (wait for ``session/cancel``), ``spawn`` (start a shell command in the
background and leave it running), ``env`` (the named variable's value, or None), ``stderr`` (a
line on stderr), ``mcp`` (call a tool on the session's HTTP MCP server), ``prompt`` (the whole
prompt text), ``exit`` (exit at once with the given status).

``FAKE_ACP_CAPS`` (JSON) overrides the agent capabilities; sessions named ``known-*`` load.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from typing import Any

from acp import PROTOCOL_VERSION, RequestError, run_agent, update_agent_message_text
from acp.helpers import start_tool_call, update_tool_call
from acp.interfaces import Client
from acp.schema import (
    AgentCapabilities,
    EnvVariable,
    HttpMcpServer,
    InitializeResponse,
    LoadSessionResponse,
    McpCapabilities,
    NewSessionResponse,
    PermissionOption,
    PromptResponse,
    ToolCallLocation,
    ToolCallUpdate,
    Usage,
)


class FakeAgent:
    def __init__(self) -> None:
        self._conn: Client | None = None
        self._servers: list[Any] = []
        self._cancelled = asyncio.Event()
        self._children: list[subprocess.Popen[bytes]] = []

    def on_connect(self, conn: Client) -> None:
        self._conn = conn

    async def initialize(self, protocol_version: int, **_: Any) -> InitializeResponse:
        caps = {"loadSession": True, "mcpCapabilities": {"http": True}}
        caps.update(json.loads(os.environ.get("FAKE_ACP_CAPS", "{}")))
        return InitializeResponse(
            protocol_version=PROTOCOL_VERSION,
            agent_capabilities=AgentCapabilities(
                load_session=caps.get("loadSession", False),
                mcp_capabilities=McpCapabilities(**caps.get("mcpCapabilities", {})),
            ),
        )

    async def new_session(
        self, cwd: str, mcp_servers: list[Any] | None = None, **_: Any
    ) -> NewSessionResponse:
        self._servers = list(mcp_servers or [])
        return NewSessionResponse(session_id=f"fake-{os.getpid()}")

    async def load_session(
        self, cwd: str, session_id: str, mcp_servers: list[Any] | None = None, **_: Any
    ) -> LoadSessionResponse:
        if not session_id.startswith("known-"):
            raise RequestError.resource_not_found(session_id)
        self._servers = list(mcp_servers or [])
        assert self._conn is not None
        # A loading agent replays the conversation first.
        await self._conn.session_update(session_id, update_agent_message_text("replayed"))
        return LoadSessionResponse()

    async def cancel(self, session_id: str, **_: Any) -> None:
        self._cancelled.set()

    async def authenticate(self, method_id: str, **_: Any) -> None:
        return None

    async def prompt(self, session_id: str, prompt: list[Any], **_: Any) -> PromptResponse:
        assert self._conn is not None
        conn = self._conn
        text = "".join(getattr(block, "text", "") for block in prompt)
        steps = json.loads(text.strip().splitlines()[-1])
        results: list[Any] = []
        stop = "end_turn"
        usage = None
        self._cancelled.clear()
        for step in steps:
            (name, value), *_rest = step.items()
            if name == "say":
                await conn.session_update(session_id, update_agent_message_text(value))
            elif name == "prompt":
                results.append(text)
            elif name == "read":
                results.append(
                    await _attempt(
                        conn.read_text_file(
                            session_id=session_id,
                            path=value,
                            line=step.get("line"),
                            limit=step.get("limit_lines"),
                        )
                    )
                )
            elif name == "write":
                results.append(
                    await _attempt(
                        conn.write_text_file(
                            session_id=session_id, path=value, content=step["content"]
                        )
                    )
                )
            elif name == "terminal":
                results.append(await self._terminal(session_id, value, step))
            elif name == "terminal_kill":
                results.append(await self._terminal_kill(session_id, value))
            elif name == "permission":
                results.append(await self._permission(session_id, value, step))
            elif name == "execute":
                await conn.session_update(
                    session_id,
                    start_tool_call(
                        "t1",
                        value,
                        kind="execute",
                        status="in_progress",
                        raw_input={"command": value},
                    ),
                )
                await conn.session_update(
                    session_id,
                    update_tool_call(
                        "t1", status="completed", raw_output={"exit_code": step.get("exit_code", 0)}
                    ),
                )
            elif name == "usage":
                usage = Usage(**value)
            elif name == "stop":
                stop = value
            elif name == "error":
                raise RequestError.internal_error({"details": value})
            elif name == "hang":
                await self._cancelled.wait()
                stop = "cancelled"
                break
            elif name == "spawn":
                self._children.append(subprocess.Popen(["bash", "-c", value]))
                results.append(self._children[-1].pid)
            elif name == "stderr":
                print(value, file=sys.stderr, flush=True)
            elif name == "env":
                results.append(os.environ.get(value))
            elif name == "mcp":
                results.append(await self._mcp(value, step.get("arguments", {})))
            elif name == "exit":
                os._exit(int(value))
        final = update_agent_message_text(json.dumps(results))
        final.message_id = f"results-{id(steps)}"  # its own message, not the tail of a "say"
        await conn.session_update(session_id, final)
        return PromptResponse(stop_reason=stop, usage=usage)

    async def _terminal(self, session_id: str, command: str, step: dict[str, Any]) -> Any:
        assert self._conn is not None
        env = [EnvVariable(name=k, value=v) for k, v in step.get("env", {}).items()]
        try:
            made = await self._conn.create_terminal(
                session_id=session_id,
                command=command,
                args=step.get("args"),
                cwd=step.get("cwd"),
                env=env,
                output_byte_limit=step.get("limit"),
            )
            tid = made.terminal_id
            exited = await self._conn.wait_for_terminal_exit(session_id=session_id, terminal_id=tid)
            out = await self._conn.terminal_output(session_id=session_id, terminal_id=tid)
            await self._conn.release_terminal(session_id=session_id, terminal_id=tid)
        except RequestError as exc:
            return {"error": exc.code, "message": str(exc), "data": exc.data}
        return {"exit": exited.exit_code, "output": out.output, "truncated": out.truncated}

    async def _terminal_kill(self, session_id: str, command: str) -> Any:
        assert self._conn is not None
        made = await self._conn.create_terminal(session_id=session_id, command=command)
        tid = made.terminal_id
        await self._conn.kill_terminal(session_id=session_id, terminal_id=tid)
        out = await self._conn.terminal_output(session_id=session_id, terminal_id=tid)
        status = out.exit_status
        return {"signal": status.signal if status else None}

    async def _permission(self, session_id: str, kind: str, step: dict[str, Any]) -> Any:
        assert self._conn is not None
        options = [
            PermissionOption(option_id=k, name=k, kind=k)
            for k in step.get("options", ["allow_once", "allow_always", "reject_once"])
        ]
        call = ToolCallUpdate(
            tool_call_id="p1",
            title=step.get("title", f"a {kind} call"),
            kind=kind,
            locations=[ToolCallLocation(path=p) for p in step.get("locations", [])],
        )
        answer = await self._conn.request_permission(
            session_id=session_id, tool_call=call, options=options
        )
        outcome = answer.outcome
        return getattr(outcome, "option_id", None) or outcome.outcome

    async def _mcp(self, tool: str, arguments: dict[str, Any]) -> Any:
        from mcp.client.session import ClientSession
        from mcp.client.streamable_http import streamable_http_client
        from mcp.shared._httpx_utils import create_mcp_http_client

        server = next(s for s in self._servers if isinstance(s, HttpMcpServer))
        headers = {h.name: h.value for h in server.headers}
        async with (
            create_mcp_http_client(headers=headers) as http,
            streamable_http_client(server.url, http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            listed = await session.list_tools()
            result = await session.call_tool(tool, arguments)
        texts = [getattr(c, "text", "") for c in result.content]
        return {
            "tools": [t.name for t in listed.tools],
            "error": result.is_error,
            "text": "".join(texts),
        }


async def _attempt(call: Any) -> Any:
    try:
        result = await call
    except RequestError as exc:
        return {"error": exc.code, "message": str(exc), "data": exc.data}
    return getattr(result, "content", "ok")


def main() -> None:
    asyncio.run(run_agent(FakeAgent()))


if __name__ == "__main__":
    sys.exit(main())
