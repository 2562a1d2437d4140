"""The local board in the dashboard (docs/observability.md, "Board").

``GET /api/v1/board`` (200 ``{states, default_state, active_states, terminal_states, counts,
issues}``); ``POST /api/v1/board/issues`` (201 ``{issue}``; 400 ``invalid_issue``);
``POST /api/v1/board/issues/<identifier>/move`` ``{"state"}`` (200 ``{issue, previous_state}``;
400 ``invalid_move``); ``POST /api/v1/board/issues/<identifier>/comments`` ``{"body"}`` (201
``{issue_identifier, comment}``; 400 ``invalid_comment``). Any of them: 404 ``issue_not_found``,
501 ``board_not_supported`` (the tracker is not the local board), 502 ``tracker_error``. The POSTs
pass the same access checks as every other POST (``auth.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from symphony.board import (
    BoardOutcome,
    InvalidBoardRequest,
    parse_comment,
    parse_move,
    parse_new_issue,
)
from symphony.observability.http.errors import NO_STORE, error_response
from symphony.observability.http.human import json_body
from symphony.runtime_view import RuntimeView

_T = TypeVar("_T")

_ERRORS = {
    "not_found": (404, "issue_not_found"),
    "unsupported": (501, "board_not_supported"),
    "tracker_error": (502, "tracker_error"),
}


def _answer(outcome: BoardOutcome, invalid_code: str) -> Response:
    if outcome.status == "ok" or outcome.status == "created":
        status = 201 if outcome.status == "created" else 200
        return JSONResponse(outcome.body or {}, status_code=status, headers=NO_STORE)
    status, code = _ERRORS.get(outcome.status, (400, invalid_code))
    return error_response(status, code, outcome.message)


class BoardApi:
    def __init__(self, view: RuntimeView) -> None:
        self.view = view

    async def board(self, request: Request) -> Response:
        return _answer(await self.view.read_board(), "invalid_board")

    async def create(self, request: Request) -> Response:
        new = await _parsed(request, "invalid_issue", parse_new_issue)
        if isinstance(new, Response):
            return new
        return _answer(await self.view.board_create(new), "invalid_issue")

    async def move(self, request: Request) -> Response:
        identifier = request.path_params["identifier"]
        state = await _parsed(request, "invalid_move", parse_move)
        if isinstance(state, Response):
            return state
        return _answer(await self.view.board_move(identifier, state), "invalid_move")

    async def comment(self, request: Request) -> Response:
        identifier = request.path_params["identifier"]
        body = await _parsed(request, "invalid_comment", parse_comment)
        if isinstance(body, Response):
            return body
        return _answer(await self.view.board_comment(identifier, body), "invalid_comment")


async def _parsed(request: Request, code: str, parse: Callable[[object], _T]) -> _T | Response:
    body = await json_body(request, code)
    if isinstance(body, Response):
        return body
    try:
        return parse(body)
    except InvalidBoardRequest as exc:
        return error_response(400, code, str(exc))
