"""The Starlette application: dashboard, JSON API (SPEC §13.7) and the event stream.

Everything here only reads the runtime (plus the triggers: ``refresh``, tracker webhooks,
``webhooks.py``, an operator's answers and steering, ``human.py``, and review decisions,
``review.py``). A runtime call that raises becomes a 503 envelope and the server keeps serving
(SPEC §17.6); a bug of our own becomes a 500 envelope.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from symphony.logs import get_logger
from symphony.observability.http.auth import AccessGuard
from symphony.observability.http.board import BoardApi
from symphony.observability.http.errors import NO_STORE, error_response
from symphony.observability.http.events import EventHub, encode_json_bytes
from symphony.observability.http.human import HumanApi
from symphony.observability.http.presenter import (
    present_detail,
    present_handed_off,
    present_state,
)
from symphony.observability.http.review import ReviewApi, candidate_diff
from symphony.observability.http.webhooks import PATH as WEBHOOK_PATH
from symphony.observability.http.webhooks import WebhookEndpoint
from symphony.runtime_view import RuntimeView
from symphony.view import IssueDetail

log = get_logger("symphony.observability.http")

WEB_ROOT = Path(str(resources.files("symphony.observability").joinpath("web")))

_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
_DASHBOARD_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)

# Fixed API names that the ``/api/v1/<identifier>`` pattern would otherwise capture.
_RESERVED = {
    "refresh": "POST",
    "state": "GET",
    "events": "GET",
    "requests": "GET",
    "review": "GET",
    "board": "GET",
}

Endpoint = Callable[[Request], Awaitable[Response]]


class _JSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        return encode_json_bytes(content)  # bytes as orjson made them: no decode and re-encode


def _json(content: Any, status: int = 200) -> Response:
    return _JSON(content, status_code=status, headers=NO_STORE)


def _guarded(endpoint: Endpoint) -> Endpoint:
    """Our own bug in one request is a 500 envelope and a log line, not a dead server."""

    @functools.wraps(endpoint)
    async def wrapper(request: Request) -> Response:
        try:
            return await endpoint(request)
        except HTTPException:
            raise
        except Exception as exc:
            log.exception("http request failed", path=request.url.path, error=type(exc).__name__)
            return error_response(500, "internal_error", "Internal server error")

    return wrapper


class Api:
    def __init__(self, view: RuntimeView) -> None:
        self.view = view

    async def state(self, request: Request) -> Response:
        try:
            snapshot = self.view.snapshot()
        except Exception as exc:
            log.warning("snapshot failed", error=repr(exc))
            return error_response(503, "snapshot_unavailable", "Snapshot unavailable")
        return _json(present_state(snapshot))

    async def issue(self, request: Request) -> Response:
        identifier = request.path_params["identifier"]
        if identifier in _RESERVED:
            # ``GET /api/v1/refresh`` lands here: the wrong method, not an issue named refresh.
            response = error_response(405, "method_not_allowed", "Method not allowed")
            response.headers["Allow"] = _RESERVED[identifier]
            return response
        try:
            detail = self.view.issue_detail(identifier)
        except Exception as exc:
            log.warning("issue detail failed", issue_identifier=identifier, error=repr(exc))
            return error_response(503, "snapshot_unavailable", "Issue details unavailable")
        proof = await self._proof(identifier)
        if isinstance(proof, Response):
            return proof
        if detail is None:
            if proof is None:
                return self._not_found(identifier)
            # Not running, not waiting for a retry, but handed off: waiting for a human.
            return _json(present_handed_off(identifier, proof))
        return _json({**present_detail(identifier, detail), "proof": proof})

    async def diff(self, request: Request) -> Response:
        identifier = request.path_params["identifier"]
        if identifier in _RESERVED:
            return error_response(404, "not_found", "Route not found")
        try:
            diff = await self.view.proof_diff(identifier)
        except Exception as exc:
            log.warning("proof diff failed", issue_identifier=identifier, error=repr(exc))
            return error_response(503, "proof_unavailable", "The proof of work is unavailable")
        if diff is None:
            return error_response(
                404, "no_proof", f"Issue {identifier} has no proof of work (it never handed off)"
            )
        return Response(diff, media_type="text/x-diff; charset=utf-8", headers=NO_STORE)

    async def candidate_diff(self, request: Request) -> Response:
        identifier = request.path_params["identifier"]
        if identifier in _RESERVED:
            return error_response(404, "not_found", "Route not found")
        found = await candidate_diff(self.view, identifier, request.path_params["name"])
        if isinstance(found, Response):
            return found
        return Response(found.diff, media_type="text/x-diff; charset=utf-8", headers=NO_STORE)

    async def _proof(self, identifier: str) -> dict[str, Any] | Response | None:
        try:
            return await self.view.proof(identifier)
        except Exception as exc:
            log.warning("proof read failed", issue_identifier=identifier, error=repr(exc))
            return error_response(503, "proof_unavailable", "The proof of work is unavailable")

    @staticmethod
    def _not_found(identifier: str) -> Response:
        return error_response(
            404, "issue_not_found", f"Issue {identifier} is not known to the running service"
        )

    async def refresh(self, request: Request) -> Response:
        try:
            result = self.view.request_refresh()
        except Exception as exc:
            log.warning("refresh request failed", error=repr(exc))
            return error_response(503, "orchestrator_unavailable", "Orchestrator is unavailable")
        return _json(result, status=202)

    async def release(self, request: Request) -> Response:
        identifier = request.path_params["identifier"]
        try:
            released = self.view.release_hold(identifier)
        except Exception as exc:
            log.warning("release failed", issue_identifier=identifier, error=repr(exc))
            return error_response(503, "orchestrator_unavailable", "Orchestrator is unavailable")
        if released is None:
            return error_response(404, "not_held", f"{identifier} is not held")
        return _json(released, status=202)

    async def log_file(self, request: Request) -> Response:
        identifier = request.path_params["identifier"]
        index = request.path_params["index"]
        found = self._detail(identifier)
        if isinstance(found, Response):
            return found
        logs = found.logs
        path = logs[index].path if 0 <= index < len(logs) else None
        # Only files the runtime itself lists for this issue are ever served.
        if path is None or not await asyncio.to_thread(Path(path).is_file):
            return error_response(404, "log_not_found", f"No log file #{index} for {identifier}")
        return FileResponse(
            path, media_type="text/plain; charset=utf-8", headers={"Cache-Control": "no-store"}
        )

    def _detail(self, identifier: str) -> IssueDetail | Response:
        try:
            detail = self.view.issue_detail(identifier)
        except Exception as exc:
            log.warning("issue detail failed", issue_identifier=identifier, error=repr(exc))
            return error_response(503, "snapshot_unavailable", "Issue details unavailable")
        if detail is None:
            return self._not_found(identifier)
        return detail


@functools.cache
def _dashboard_html() -> str:
    return (WEB_ROOT / "index.html").read_text(encoding="utf-8")


async def _dashboard(request: Request) -> Response:
    html = _dashboard_html()
    return HTMLResponse(
        html, headers={"Cache-Control": "no-store", "Content-Security-Policy": _DASHBOARD_CSP}
    )


_STATUS_CODES = {
    404: ("not_found", "Route not found"),
    405: ("method_not_allowed", "Method not allowed"),
}


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    code, message = _STATUS_CODES.get(status, ("http_error", str(getattr(exc, "detail", ""))))
    response = error_response(status, code, message)
    if status == 405 and isinstance(exc, HTTPException) and exc.headers:
        response.headers["Allow"] = exc.headers.get("Allow", "")
    return response


async def _server_error(request: Request, exc: Exception) -> Response:
    return error_response(500, "internal_error", "Internal server error")


class _SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = [*message.get("headers", []), *_SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, wrapped)


def create_app(
    view: RuntimeView,
    *,
    hub: EventHub,
    access_token: str | None = None,
    loopback_only: bool = True,
) -> Starlette:
    api = Api(view)
    human = HumanApi(view)
    review = ReviewApi(view)
    board = BoardApi(view)
    routes = [
        Route("/", _guarded(_dashboard), methods=["GET"]),
        Route("/api/v1/state", _guarded(api.state), methods=["GET"]),
        Route("/api/v1/refresh", _guarded(api.refresh), methods=["POST"]),
        Route(WEBHOOK_PATH, _guarded(WebhookEndpoint(view)), methods=["POST"]),
        Route("/api/v1/events", hub, methods=["GET"]),
        Route("/api/v1/requests", _guarded(human.requests), methods=["GET"]),
        Route("/api/v1/review", _guarded(review.queue), methods=["GET"]),
        Route("/api/v1/review/{identifier}/diff", _guarded(review.diff), methods=["GET"]),
        Route(
            "/api/v1/review/{identifier}/candidates/{name}/diff",
            _guarded(review.candidate_diff),
            methods=["GET"],
        ),
        Route("/api/v1/board", _guarded(board.board), methods=["GET"]),
        Route("/api/v1/board/issues", _guarded(board.create), methods=["POST"]),
        Route("/api/v1/board/issues/{identifier}/move", _guarded(board.move), methods=["POST"]),
        Route(
            "/api/v1/board/issues/{identifier}/comments",
            _guarded(board.comment),
            methods=["POST"],
        ),
        Route("/api/v1/{identifier}", _guarded(api.issue), methods=["GET"]),
        Route("/api/v1/{identifier}/diff", _guarded(api.diff), methods=["GET"]),
        Route(
            "/api/v1/{identifier}/candidates/{name}/diff",
            _guarded(api.candidate_diff),
            methods=["GET"],
        ),
        Route("/api/v1/{identifier}/logs/{index:int}", _guarded(api.log_file), methods=["GET"]),
        Route(
            "/api/v1/{identifier}/requests/{request_id}",
            _guarded(human.answer),
            methods=["POST"],
        ),
        Route("/api/v1/{identifier}/steer", _guarded(human.steer), methods=["POST"]),
        Route("/api/v1/{identifier}/release", _guarded(api.release), methods=["POST"]),
        Route("/api/v1/{identifier}/review", _guarded(review.review), methods=["POST"]),
        Mount("/assets", app=StaticFiles(directory=WEB_ROOT), name="assets"),
    ]
    return Starlette(
        routes=routes,
        middleware=[
            Middleware(_SecurityHeaders),
            Middleware(AccessGuard, access_token=access_token, loopback_only=loopback_only),
        ],
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
    )
