"""The one error shape of the API (SPEC §13.7.2): ``{"error": {"code", "message"}}``."""

from __future__ import annotations

from starlette.responses import JSONResponse

from symphony.errors import SymphonyError

NO_STORE = {"Cache-Control": "no-store"}


class HttpServerError(SymphonyError):
    """The HTTP server cannot start (unsafe bind, port in use, bad host)."""

    code = "http_server_error"


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=NO_STORE
    )
