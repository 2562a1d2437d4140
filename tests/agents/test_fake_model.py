"""The fake Responses-API server itself: scripted SSE, errors, headers, recorded requests."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.support.fake_model import FakeModelServer, RateLimits, RecordedRequest, Reply, Usage


def _events(body: str) -> list[dict[str, Any]]:
    return [json.loads(line[6:]) for line in body.splitlines() if line.startswith("data: ")]


def _post(model: FakeModelServer, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{model.base_url}/responses", json=body, timeout=10)


def test_scripted_replies_stream_in_order_and_requests_are_recorded() -> None:
    with FakeModelServer() as model:
        model.script(
            Reply.exec_command("ls", call_id="c1", rate_limits=RateLimits()),
            Reply.message("hi", usage=Usage(input_tokens=7, output_tokens=3)),
        )
        first = _post(model, {"input": [], "tools": [{"type": "function", "name": "x"}]})
        assert first.headers["content-type"].startswith("text/event-stream")
        assert first.headers["x-codex-primary-used-percent"] == "12.0"
        kinds = [e["type"] for e in _events(first.text)]
        assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
        call = _events(first.text)[1]["item"]
        assert (call["type"], call["name"], call["call_id"]) == (
            "function_call",
            "exec_command",
            "c1",
        )
        assert json.loads(call["arguments"]) == {"cmd": "ls"}

        output = {"type": "function_call_output", "call_id": "c1", "output": "files"}
        second = _post(model, {"input": [output]})
        done = _events(second.text)[-1]["response"]
        assert done["usage"]["total_tokens"] == 10
        assert "hi" in second.text

        third = _post(model, {})  # nothing scripted: a visible error, not a hang
        assert third.status_code == 500
        requests = model.wait_for_requests(3)
        assert requests[0].tool_names() == ["x"]
        assert requests[1].function_call_outputs() == {"c1": "files"}
        assert model.pending == 0


def test_http_errors_defaults_and_responders() -> None:
    with FakeModelServer(default=Reply.message("fallback")) as model:
        model.script(Reply.http_error(429, "slow down"))
        limited = _post(model, {})
        assert limited.status_code == 429 and "slow down" in limited.text
        assert "fallback" in _post(model, {}).text

        def echo(request: RecordedRequest) -> Reply:
            return Reply.message(f"saw {len(request.input)} items")

        model.responder = echo
        assert "saw 2 items" in _post(model, {"input": [{}, {}]}).text
