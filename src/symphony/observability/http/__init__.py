"""HTTP surface: JSON API, live dashboard and event stream (SPEC §13.7)."""

from symphony.observability.http.app import create_app
from symphony.observability.http.errors import HttpServerError
from symphony.observability.http.events import EventHub
from symphony.observability.http.server import (
    HttpSettings,
    check_bind,
    display_url,
    http_settings,
    serve_http,
)

__all__ = [
    "EventHub",
    "HttpServerError",
    "HttpSettings",
    "check_bind",
    "create_app",
    "display_url",
    "http_settings",
    "serve_http",
]
