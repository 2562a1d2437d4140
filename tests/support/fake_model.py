"""A scriptable fake of the OpenAI Responses API, for running the real ``codex`` binary offline.

Codex (0.169) POSTs ``<base_url>/responses`` with ``stream: true`` and reads an SSE stream
(docs/codex.md, "Testing against the real binary"). Each request pops the next scripted
``Reply``::

    with FakeModelServer() as model:
        model.script(
            Reply.exec_command("touch hello.txt"),          # 1st request: run a shell command
            Reply.message("Created hello.txt."),            # 2nd request (carries the output)
        )
        ...  # point codex at model.base_url (see write_codex_home)
        assert model.requests[1].function_call_outputs()    # what codex sent back

When the script is empty the server answers with ``default`` if set, else HTTP 500 (and records
the request), so a test that under-scripts fails visibly instead of hanging. ``responder`` (a
callable ``RecordedRequest -> Reply``) replaces the queue entirely for dynamic behaviour.

The server runs uvicorn in a daemon thread on 127.0.0.1 with its own event loop, so sync and async
tests (and the end-to-end suites) can share it; all state is guarded by a lock.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.support.scripted_server import ScriptedServer

FAKE_API_KEY_ENV = "FAKE_OPENAI_API_KEY"
FAKE_MODEL_SLUG = "mock-model"  # unknown slug: codex uses its plain fallback tool set (§8)


@dataclass(frozen=True)
class Usage:
    """``response.usage``; codex turns it into ``thread/tokenUsage/updated``."""

    input_tokens: int = 100
    output_tokens: int = 20
    cached_input_tokens: int = 0
    reasoning_output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def to_json(self) -> dict[str, Any]:
        return {
            "input_tokens": self.input_tokens,
            "input_tokens_details": {"cached_tokens": self.cached_input_tokens},
            "output_tokens": self.output_tokens,
            "output_tokens_details": {"reasoning_tokens": self.reasoning_output_tokens},
            "total_tokens": self.total_tokens,
        }


@dataclass(frozen=True)
class RateLimits:
    """``x-codex-{primary,secondary}-*`` headers (→ ``account/rateLimits/updated``)."""

    primary_used_percent: float = 12.0
    primary_window_minutes: int = 300
    primary_reset_at: int = 1_900_000_000
    secondary_used_percent: float | None = 40.0
    secondary_window_minutes: int = 10_080
    secondary_reset_at: int = 1_900_500_000

    def headers(self) -> dict[str, str]:
        out = {
            "x-codex-primary-used-percent": str(self.primary_used_percent),
            "x-codex-primary-window-minutes": str(self.primary_window_minutes),
            "x-codex-primary-reset-at": str(self.primary_reset_at),
        }
        if self.secondary_used_percent is not None:
            out |= {
                "x-codex-secondary-used-percent": str(self.secondary_used_percent),
                "x-codex-secondary-window-minutes": str(self.secondary_window_minutes),
                "x-codex-secondary-reset-at": str(self.secondary_reset_at),
            }
        return out


@dataclass(frozen=True)
class MessageItem:
    text: str


@dataclass(frozen=True)
class FunctionCallItem:
    name: str
    arguments: Mapping[str, Any]
    call_id: str | None = None  # generated when None
    namespace: str | None = None


OutputItem = MessageItem | FunctionCallItem


@dataclass(frozen=True)
class Reply:
    """One scripted answer to one ``POST /responses``.

    ``status`` other than 200 answers with that HTTP error instead of a stream. Every reply may
    carry ``usage`` and ``rate_limits``; ``delay_s`` holds the answer back (to test timeouts).
    """

    items: tuple[OutputItem, ...] = ()
    usage: Usage | None = field(default_factory=Usage)
    rate_limits: RateLimits | None = None
    status: int = 200
    error_message: str = "fake model error"
    delay_s: float = 0.0

    @classmethod
    def message(cls, text: str, **kw: Any) -> Reply:
        return cls(items=(MessageItem(text),), **kw)

    @classmethod
    def function_call(
        cls, name: str, arguments: Mapping[str, Any], *, call_id: str | None = None, **kw: Any
    ) -> Reply:
        return cls(items=(FunctionCallItem(name, dict(arguments), call_id),), **kw)

    @classmethod
    def exec_command(cls, cmd: str, *, call_id: str | None = None, **kw: Any) -> Reply:
        """Ask codex to run ``cmd`` through its ``exec_command`` shell tool."""
        return cls.function_call("exec_command", {"cmd": cmd}, call_id=call_id, **kw)

    @classmethod
    def tool_call(
        cls, name: str, arguments: Mapping[str, Any], *, call_id: str | None = None, **kw: Any
    ) -> Reply:
        """Call a dynamic tool advertised at ``thread/start`` (→ ``item/tool/call``)."""
        return cls.function_call(name, arguments, call_id=call_id, **kw)

    @classmethod
    def http_error(cls, status: int = 500, message: str = "fake model error") -> Reply:
        return cls(status=status, error_message=message, usage=None)


@dataclass(frozen=True)
class RecordedRequest:
    """What codex sent: the decoded JSON body plus lower-cased headers."""

    path: str
    headers: Mapping[str, str]
    body: Mapping[str, Any]
    received_at: float

    @property
    def input(self) -> list[Mapping[str, Any]]:
        value = self.body.get("input")
        return list(value) if isinstance(value, list) else []

    def tool_names(self) -> list[str]:
        names = []
        for tool in self.body.get("tools") or []:
            if isinstance(tool, Mapping) and isinstance(tool.get("name"), str):
                names.append(tool["name"])
        return names

    def tool(self, name: str) -> Mapping[str, Any] | None:
        for tool in self.body.get("tools") or []:
            if isinstance(tool, Mapping) and tool.get("name") == name:
                return tool
        return None

    def function_call_outputs(self) -> dict[str, str]:
        """``call_id`` → output text for every ``function_call_output`` in the input."""
        out: dict[str, str] = {}
        for item in self.input:
            if item.get("type") == "function_call_output":
                out[str(item.get("call_id"))] = _output_text(item.get("output"))
        return out

    def user_texts(self) -> list[str]:
        """Text of every user message in the input (instructions, prompts, continuations)."""
        texts: list[str] = []
        for item in self.input:
            if item.get("type") == "message" and item.get("role") == "user":
                texts.extend(_content_texts(item.get("content")))
        return texts

    def text(self) -> str:
        """The whole request body as text, for substring checks."""
        return json.dumps(self.body)


def _content_texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    texts = []
    for part in content or []:
        if isinstance(part, Mapping) and isinstance(part.get("text"), str):
            texts.append(part["text"])
    return texts


def _output_text(output: Any) -> str:
    if isinstance(output, str):
        return output
    if isinstance(output, list):
        return "".join(_content_texts(output))
    if isinstance(output, Mapping):
        return str(output.get("content") or output.get("output") or json.dumps(output))
    return json.dumps(output)


def _sse(event: dict[str, Any]) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


class FakeModelServer(ScriptedServer[Reply, RecordedRequest]):
    """Fake ``POST /v1/responses`` on 127.0.0.1; use as a context manager or start()/stop()."""

    label = "fake model"

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
        return f"http://127.0.0.1:{self.port}/v1"

    def routes(self) -> list[Route]:
        return [
            Route("/v1/responses", self._handle, methods=["POST"]),
            Route("/v1/models", self._models, methods=["GET"]),
        ]

    def record(
        self, path: str, headers: Mapping[str, str], body: Mapping[str, Any]
    ) -> RecordedRequest:
        return RecordedRequest(path, headers, body, received_at=time.monotonic())

    def unscripted(self) -> Reply:
        return Reply.http_error(500, "fake model: no scripted reply left")

    # -- HTTP --------------------------------------------------------------------------------

    async def _models(self, request: Request) -> Response:
        return JSONResponse({"models": []})

    async def _handle(self, request: Request) -> Response:
        _, reply = await self.next_reply(request)
        if reply.delay_s:
            await asyncio.sleep(reply.delay_s)
        headers = reply.rate_limits.headers() if reply.rate_limits else {}
        if reply.status != 200:
            return JSONResponse(
                {"error": {"message": reply.error_message, "type": "server_error"}},
                status_code=reply.status,
                headers=headers,
            )
        return StreamingResponse(
            self._stream(reply), media_type="text/event-stream", headers=headers
        )

    async def _stream(self, reply: Reply) -> AsyncIterator[bytes]:
        response_id = f"resp_{next(self._ids)}"
        yield _sse({"type": "response.created", "response": {"id": response_id}})
        for index, item in enumerate(reply.items):
            for event in _item_events(item, index, next(self._ids)):
                yield _sse(event)
        completed: dict[str, Any] = {"id": response_id}
        if reply.usage is not None:
            completed["usage"] = reply.usage.to_json()
        yield _sse({"type": "response.completed", "response": completed})


def _item_events(item: OutputItem, index: int, serial: int) -> Sequence[dict[str, Any]]:
    if isinstance(item, MessageItem):
        item_id = f"msg_{serial}"
        done = {
            "type": "message",
            "role": "assistant",
            "id": item_id,
            "content": [{"type": "output_text", "text": item.text, "annotations": []}],
        }
        added = {**done, "content": []}
        return [
            {"type": "response.output_item.added", "output_index": index, "item": added},
            {
                "type": "response.output_text.delta",
                "item_id": item_id,
                "output_index": index,
                "content_index": 0,
                "delta": item.text,
            },
            {"type": "response.output_item.done", "output_index": index, "item": done},
        ]
    call: dict[str, Any] = {
        "type": "function_call",
        "id": f"fc_{serial}",
        "call_id": item.call_id or f"call_{serial}",
        "name": item.name,
        "arguments": json.dumps(dict(item.arguments)),
    }
    if item.namespace is not None:
        call["namespace"] = item.namespace
    return [
        {"type": "response.output_item.added", "output_index": index, "item": call},
        {"type": "response.output_item.done", "output_index": index, "item": call},
    ]


def write_codex_home(
    codex_home: Path,
    *,
    base_url: str,
    approval_policy: str = "never",
    sandbox_mode: str = "workspace-write",
    extra_toml: str = "",
) -> Path:
    """Write an offline ``config.toml`` for the fake provider into an absolute CODEX_HOME.

    The feature switches keep startup from reaching the internet.
    """
    codex_home = codex_home.absolute()
    codex_home.mkdir(parents=True, exist_ok=True)
    (codex_home / "config.toml").write_text(
        f"""model = "{FAKE_MODEL_SLUG}"
model_provider = "fake"
approval_policy = "{approval_policy}"
sandbox_mode = "{sandbox_mode}"
web_search = "disabled"
check_for_update_on_startup = false

[model_providers.fake]
name = "Fake Responses"
base_url = "{base_url}"
env_key = "{FAKE_API_KEY_ENV}"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
stream_idle_timeout_ms = 30000

[features]
plugins = false
remote_plugin = false
plugin_sharing = false
apps = false
tool_suggest = false
{extra_toml}
""",
        encoding="utf-8",
    )
    return codex_home
