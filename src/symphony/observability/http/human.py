"""The operator's side of human requests and steering (docs/human-requests.md).

``GET /api/v1/requests`` lists every pending request; ``POST /api/v1/<identifier>/requests/<id>``
answers one (202; 404 ``request_not_found``; 409 ``request_already_answered`` with the request's
``status``; 400 ``invalid_answer``); ``POST /api/v1/<identifier>/steer`` gives a running agent
guidance (202; 409 ``not_running``; 400 ``invalid_steer``). The POSTs pass the same access checks
as every other POST (``auth.py``).
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from symphony.errors import SymphonyError
from symphony.logs import get_logger
from symphony.observability.http.errors import NO_STORE, error_response
from symphony.observability.http.webhooks import read_body
from symphony.runtime_view import RuntimeView
from symphony.view_json import request_json, steer_json

log = get_logger("symphony.observability.http")

# An answer or a steer is a few lines of text; anything bigger is a mistake.
MAX_BODY_BYTES = 65_536
MAX_STEER_CHARS = 20_000


def _json(content: Any, status: int = 200) -> Response:
    return JSONResponse(content, status_code=status, headers=NO_STORE)


async def json_body(request: Request, code: str) -> Any:
    """The decoded JSON body, or the 400 response that says what was wrong with it."""
    raw = await read_body(request, MAX_BODY_BYTES)
    if isinstance(raw, Response):
        return raw
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return error_response(400, code, "the body must be JSON (Content-Type: application/json)")


class HumanApi:
    def __init__(self, view: RuntimeView) -> None:
        self.view = view

    async def requests(self, request: Request) -> Response:
        try:
            pending = self.view.pending_requests()
        except Exception as exc:
            log.warning("pending requests unavailable", error=repr(exc))
            return error_response(503, "orchestrator_unavailable", "Orchestrator is unavailable")
        return _json({"requests": [request_json(record) for record in pending]})

    async def answer(self, request: Request) -> Response:
        identifier = request.path_params["identifier"]
        request_id = request.path_params["request_id"]
        body = await json_body(request, "invalid_answer")
        if isinstance(body, Response):
            return body
        outcome = self.view.answer_request(identifier, request_id, body)
        if outcome.status == "not_found":
            return error_response(404, "request_not_found", outcome.message)
        if outcome.status == "invalid":
            return error_response(400, "invalid_answer", outcome.message)
        assert outcome.record is not None
        if outcome.status == "already_answered":
            # The error shape plus the request's status, so a client knows what happened.
            content = {
                "error": {"code": "request_already_answered", "message": outcome.message},
                "status": outcome.record.status,
            }
            return JSONResponse(content, status_code=409, headers=NO_STORE)
        return _json({"request": request_json(outcome.record)}, status=202)

    async def steer(self, request: Request) -> Response:
        identifier = request.path_params["identifier"]
        body = await json_body(request, "invalid_steer")
        if isinstance(body, Response):
            return body
        message = body.get("message") if isinstance(body, dict) else None
        if not isinstance(message, str) or not message.strip():
            return error_response(
                400, "invalid_steer", 'the body must be {"message": "<non-empty text>"}'
            )
        if len(message) > MAX_STEER_CHARS:
            return error_response(
                400, "invalid_steer", f"a steer message is limited to {MAX_STEER_CHARS} characters"
            )
        try:
            steered = await self.view.steer(identifier, message.strip())
        except SymphonyError as exc:
            # The session ended between the lookup and the delivery.
            return error_response(409, "not_running", f"{identifier}: {exc.message}")
        if steered is None:
            return error_response(409, "not_running", f"No agent is running for {identifier}")
        return _json(steer_json(steered), status=202)
