"""Access control for the HTTP surface.

* With an access token configured, every request must carry it: ``Authorization: Bearer <token>``,
  ``?token=<token>`` (for the browser's first visit and for ``EventSource``), or the session cookie
  the dashboard page sets after a valid ``?token=``. Comparisons are constant-time.
* Without a token the server only ever listens on loopback (``server.py`` refuses otherwise), and
  we also refuse requests whose ``Host`` is not a loopback name, so a web page cannot reach the
  API through DNS rebinding.
* State-changing requests (``POST``) from another origin are refused (a page on another site must
  not be able to trigger refreshes through the operator's browser).
* Tracker webhooks (``POST /api/v1/webhooks/<provider>``) skip all of the above: the tracker
  cannot hold our token, and they arrive through a public reverse proxy under a public host
  name. Each delivery carries its own credential, a signature of its body, which the runtime
  checks before anything is read from it (docs/trackers/linear.md, "Webhooks").
"""

from __future__ import annotations

import hashlib
import hmac
import re
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from symphony.hosts import is_loopback
from symphony.observability.http.errors import error_response

COOKIE_NAME = "symphony_session"
# Exactly the webhook route: one path segment after the prefix, so no other route slips through.
_WEBHOOK = re.compile(r"/api/v1/webhooks/[^/]+")


def session_cookie_value(token: str) -> str:
    # The cookie carries a derived value, so the configured token itself is never stored by
    # browsers (operators sometimes reuse secrets).
    return hmac.new(token.encode(), b"symphony-dashboard-session", hashlib.sha256).hexdigest()


def _equal(given: str | None, expected: str) -> bool:
    if given is None:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def _host_name(host_header: str) -> str:
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class AccessGuard:
    def __init__(self, app: ASGIApp, *, access_token: str | None, loopback_only: bool) -> None:
        self.app = app
        self.token = access_token
        self.cookie = session_cookie_value(access_token) if access_token else None
        self.loopback_only = loopback_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (
            scope["method"] == "POST" and _WEBHOOK.fullmatch(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if (
            self.loopback_only
            and self.token is None
            and not is_loopback(_host_name(headers.get("host", "")))
        ):
            await error_response(403, "forbidden_host", "Host not allowed")(scope, receive, send)
            return
        if scope["method"] == "POST" and not self._same_origin(headers):
            await error_response(403, "cross_origin", "Cross-origin request refused")(
                scope, receive, send
            )
            return
        if self.token is None:
            await self.app(scope, receive, send)
            return

        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        by_query = _equal(query.get("token", [None])[-1], self.token)
        authorized = by_query or self._by_header(headers) or self._by_cookie(headers)
        if not authorized:
            response = error_response(
                401, "unauthorized", "Missing or invalid access token (server.access_token)"
            )
            response.headers["WWW-Authenticate"] = 'Bearer realm="symphony"'
            await response(scope, receive, send)
            return
        if by_query and scope["path"] == "/":
            await self.app(scope, receive, self._setting_cookie(send))
            return
        await self.app(scope, receive, send)

    def _by_header(self, headers: Headers) -> bool:
        scheme, _, value = headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and _equal(value.strip(), self.token or "")

    def _by_cookie(self, headers: Headers) -> bool:
        raw = headers.get("cookie")
        if not raw or self.cookie is None:
            return False
        cookie = SimpleCookie()
        try:
            cookie.load(raw)
        except Exception:
            return False
        morsel = cookie.get(COOKIE_NAME)
        return morsel is not None and _equal(morsel.value, self.cookie)

    @staticmethod
    def _same_origin(headers: Headers) -> bool:
        origin = headers.get("origin")
        if origin is None or origin == "null":
            # Non-browser clients send no Origin; "null" comes from sandboxed/opaque contexts.
            return origin is None
        return urlsplit(origin).netloc.lower() == headers.get("host", "").lower()

    def _setting_cookie(self, send: Send) -> Send:
        cookie = f"{COOKIE_NAME}={self.cookie}; Path=/; HttpOnly; SameSite=Strict"

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = [*message.get("headers", []), (b"set-cookie", cookie.encode())]
            await send(message)

        return wrapped
