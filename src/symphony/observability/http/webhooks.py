"""``POST /api/v1/webhooks/<provider>``: tracker webhooks in, the runtime's receipt out.

The signature is the only credential (``auth.py`` lets these requests past the access token and
the host check), so nothing is trusted before the runtime has checked it, and the body is read
with a hard cap: a declared ``Content-Length`` over ``MAX_BODY_BYTES`` is refused unread, and a
streamed body is cut off as soon as it passes the cap.
"""

from __future__ import annotations

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from symphony.logs import get_logger
from symphony.observability.http.errors import error_response
from symphony.observability.http.events import encode_json
from symphony.runtime_view import RuntimeView
from symphony.webhooks import MAX_BODY_BYTES, WebhookDelivery

log = get_logger("symphony.observability.http")

PATH = "/api/v1/webhooks/{provider}"
PREFIX = "/api/v1/webhooks/"


def _too_large() -> Response:
    return error_response(
        413, "payload_too_large", f"webhook bodies are limited to {MAX_BODY_BYTES:,} bytes"
    )


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes | Response:
    """The raw body, or the error response when it is too large or not sent whole."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            return error_response(400, "invalid_request", "Content-Length is not a number")
        if int(declared) > limit:
            return _too_large()
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                return _too_large()
    except ClientDisconnect:
        return error_response(400, "invalid_request", "the client went away mid-body")
    return bytes(body)


class WebhookEndpoint:
    def __init__(self, view: RuntimeView) -> None:
        self.view = view

    async def __call__(self, request: Request) -> Response:
        provider = request.path_params["provider"]
        body = await read_body(request)
        if isinstance(body, Response):
            return body
        delivery = WebhookDelivery(headers=dict(request.headers.items()), body=body)
        try:
            receipt = await self.view.receive_webhook(provider, delivery)
        except Exception as exc:
            log.warning("webhook delivery failed", provider=provider, error=repr(exc))
            return error_response(503, "orchestrator_unavailable", "Orchestrator is unavailable")
        if receipt.status >= 400:
            return error_response(receipt.status, receipt.code, receipt.message)
        content = {
            "status": receipt.code,
            "message": receipt.message,
            "issue_ids": list(receipt.issue_ids),
        }
        return Response(
            encode_json(content),
            status_code=receipt.status,
            media_type="application/json",
            headers={"Cache-Control": "no-store"},
        )
