"""A scriptable fake of the Anthropic Messages API, for running the real ``claude`` offline.

Claude Code (2.1.328) POSTs ``<ANTHROPIC_BASE_URL>/v1/messages?beta=true`` with ``stream: true``
and reads the SSE stream of docs/agents/claude-code.md ("Testing against the real binary"). Each
request pops the next scripted ``Reply``::

    with FakeAnthropicServer() as api:
        api.script(
            Reply.bash("printf hi > proof.txt"),   # 1st request: run a shell command
            Reply.message("Wrote proof.txt."),     # 2nd request (carries the tool result)
        )
        env = claude_env(api, config_dir)          # point claude at the fake
        ...
        assert api.requests[1].tool_results()      # what claude sent back

When the script is empty the server answers with ``default`` if set, else HTTP 500 (recorded),
so an under-scripted test fails visibly instead of hanging. ``responder`` (a callable
``RecordedRequest -> Reply``) replaces the queue for dynamic behaviour. A request with
``stream: false`` (claude's fallback after a broken stream) gets the same reply as one JSON
message. The server runs uvicorn in a daemon thread on 127.0.0.1 with its own event loop, so
sync and async tests share it; all state is guarded by a lock.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.support.scripted_server import ScriptedServer

FAKE_API_KEY = "sk-ant-fake-key"
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


@dataclass(frozen=True)
class Usage:
    """Input and cache tokens go out in ``message_start``, output tokens in ``message_delta``."""

    input_tokens: int = 100
    output_tokens: int = 20
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0

    def start_json(self) -> dict[str, Any]:
        return {
            "input_tokens": self.input_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
            "output_tokens": 1,
        }

    def full_json(self) -> dict[str, Any]:
        return self.start_json() | {"output_tokens": self.output_tokens}


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class ToolUse:
    name: str
    input: Mapping[str, Any]
    id: str | None = None  # generated when None


Block = Text | ToolUse


@dataclass(frozen=True)
class Reply:
    """One scripted answer to one ``POST /v1/messages``.

    ``status`` other than 200 answers with that HTTP error (Anthropic's error body) instead of a
    stream; ``headers`` go with any answer (``retry-after``). ``delay_s`` holds the answer back.
    """

    blocks: tuple[Block, ...] = ()
    usage: Usage = field(default_factory=Usage)
    status: int = 200
    error_message: str = "fake api error"
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0

    @classmethod
    def message(cls, text: str, **kw: Any) -> Reply:
        return cls(blocks=(Text(text),), **kw)

    @classmethod
    def tool(cls, name: str, arguments: Mapping[str, Any], **kw: Any) -> Reply:
        return cls(blocks=(ToolUse(name, dict(arguments)),), **kw)

    @classmethod
    def bash(cls, command: str, **kw: Any) -> Reply:
        """Ask claude to run ``command`` with its Bash tool."""
        return cls.tool("Bash", {"command": command, "description": "run a command"}, **kw)

    @classmethod
    def http_error(cls, status: int = 500, message: str = "fake api error", **kw: Any) -> Reply:
        return cls(status=status, error_message=message, **kw)

    @property
    def stop_reason(self) -> str:
        return "tool_use" if any(isinstance(b, ToolUse) for b in self.blocks) else "end_turn"


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    headers: Mapping[str, str]
    body: Mapping[str, Any]

    @property
    def session_id(self) -> str | None:
        return self.headers.get("x-claude-code-session-id")

    @property
    def messages(self) -> list[Mapping[str, Any]]:
        messages = self.body.get("messages")
        return [m for m in messages if isinstance(m, Mapping)] if isinstance(messages, list) else []

    def tool_results(self) -> dict[str, str]:
        """``tool_use_id`` -> text of the tool results in the last user message."""
        out: dict[str, str] = {}
        users = [m for m in self.messages if m.get("role") == "user"]
        content = users[-1].get("content") if users else None
        for block in content if isinstance(content, list) else []:
            if isinstance(block, Mapping) and block.get("type") == "tool_result":
                out[str(block.get("tool_use_id"))] = _text(block.get("content"))
        return out

    def user_texts(self) -> list[str]:
        """Text blocks of every user message, in order (tool results excluded)."""
        texts: list[str] = []
        for message in self.messages:
            if message.get("role") == "user":
                content = message.get("content")
                if isinstance(content, str):
                    texts.append(content)
                elif isinstance(content, list):
                    texts.extend(
                        b["text"]
                        for b in content
                        if isinstance(b, Mapping) and b.get("type") == "text"
                    )
        return texts

    @property
    def text(self) -> str:
        return json.dumps(self.body)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(b.get("text", "")) for b in content if isinstance(b, Mapping))
    return ""


def _sse(event: dict[str, Any]) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


class FakeAnthropicServer(ScriptedServer[Reply, RecordedRequest]):
    """Fake ``POST /v1/messages`` on 127.0.0.1; use as a context manager or start()/stop()."""

    label = "fake Anthropic API"

    def __init__(
        self,
        replies: Iterable[Reply] = (),
        *,
        default: Reply | None = None,
        responder: Callable[[RecordedRequest], Reply] | None = None,
    ) -> None:
        super().__init__(replies, default=default, responder=responder)
        self._ids = itertools.count(1)

    @property
    def base_url(self) -> str:
        """``ANTHROPIC_BASE_URL``: without ``/v1`` (claude adds it)."""
        return f"http://127.0.0.1:{self.port}"

    def routes(self) -> list[Route]:
        return [Route("/v1/messages", self._handle, methods=["POST"])]

    def record(
        self, path: str, headers: Mapping[str, str], body: Mapping[str, Any]
    ) -> RecordedRequest:
        return RecordedRequest(path, headers, body)

    def unscripted(self) -> Reply:
        return Reply.http_error(500, "fake API: no scripted reply left")

    async def _handle(self, request: Request) -> Response:
        recorded, reply = await self.next_reply(request)
        if reply.delay_s:
            await asyncio.sleep(reply.delay_s)
        headers = dict(reply.headers)
        if reply.status != 200:
            kind = _ERROR_TYPES.get(reply.status, "api_error")
            return JSONResponse(
                {"type": "error", "error": {"type": kind, "message": reply.error_message}},
                status_code=reply.status,
                headers=headers,
            )
        model = str(recorded.body.get("model") or "claude-fake")
        message_id = f"msg_fake_{next(self._ids)}"
        blocks = [self._block(b) for b in reply.blocks]
        if recorded.body.get("stream") is False:
            return JSONResponse(
                {
                    "id": message_id,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": blocks,
                    "stop_reason": reply.stop_reason,
                    "stop_sequence": None,
                    "usage": reply.usage.full_json(),
                },
                headers=headers,
            )
        return StreamingResponse(
            _stream(message_id, model, blocks, reply),
            media_type="text/event-stream",
            headers=headers,
        )

    def _block(self, block: Block) -> dict[str, Any]:
        if isinstance(block, Text):
            return {"type": "text", "text": block.text}
        tool_id = block.id or f"toolu_fake_{next(self._ids)}"
        return {"type": "tool_use", "id": tool_id, "name": block.name, "input": dict(block.input)}


async def _stream(
    message_id: str, model: str, blocks: Sequence[dict[str, Any]], reply: Reply
) -> AsyncIterator[bytes]:
    yield _sse(
        {
            "type": "message_start",
            "message": {
                "id": message_id,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": reply.usage.start_json(),
            },
        }
    )
    yield _sse({"type": "ping"})
    for index, block in enumerate(blocks):
        start: dict[str, Any]
        if block["type"] == "text":
            start = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": block["text"]}
        else:
            start = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        yield _sse({"type": "content_block_start", "index": index, "content_block": start})
        yield _sse({"type": "content_block_delta", "index": index, "delta": delta})
        yield _sse({"type": "content_block_stop", "index": index})
    yield _sse(
        {
            "type": "message_delta",
            "delta": {"stop_reason": reply.stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": reply.usage.output_tokens},
        }
    )
    yield _sse({"type": "message_stop"})


def claude_env(
    api: FakeAnthropicServer, config_dir: Path, *, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment that runs the real ``claude`` offline against ``api``.

    ``CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC`` keeps it from calling home; no retries, so a
    fake HTTP error ends the turn at once; ``config_dir`` keeps its state out of ``$HOME``.
    """
    config_dir.mkdir(parents=True, exist_ok=True)
    env = dict(base or {})
    env.update(
        {
            "ANTHROPIC_BASE_URL": api.base_url,
            "ANTHROPIC_API_KEY": FAKE_API_KEY,
            "CLAUDE_CONFIG_DIR": str(config_dir),
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_TELEMETRY": "1",
            "DISABLE_ERROR_REPORTING": "1",
            "DISABLE_AUTOUPDATER": "1",
            "CLAUDE_CODE_MAX_RETRIES": "0",
        }
    )
    return env
