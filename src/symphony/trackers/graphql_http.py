"""What every GraphQL-over-HTTP tracker client shares (Linear, GitHub): the HTTP client it
sends with, reading an answer's errors and page cursors, the pause a rate limit imposes, and the
one-line summary of a body for logs and errors."""

from __future__ import annotations

import asyncio
import functools
import math
import re
import ssl
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from symphony import __version__
from symphony.httpx_lean import httpx
from symphony.issue import IssueComment
from symphony.text import clip
from symphony.timefmt import parse_timestamp
from symphony.trackers.base import TRACKER_PAGINATION, TRACKER_REQUEST, TrackerError

# A response body in a log line or an error: whitespace folded, at most this many characters.
BODY_SUMMARY_CHARS = 500
TRUNCATED = "...<truncated>"
_WHITESPACE = re.compile(r"\s+")


def summarize_body(text: str) -> str:
    """``text`` (already scrubbed of secrets) on one line, bounded."""
    flat = _WHITESPACE.sub(" ", text).strip() or "(empty body)"
    return clip(flat, BODY_SUMMARY_CHARS, marker=TRUNCATED, within=False)


class Cooldown:
    """The pause a tracker's rate limit asked for, on a monotonic clock (seconds)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._until: float | None = None

    def start(self, ms: float) -> None:
        self._until = self._clock() + ms / 1000

    def remaining_ms(self) -> int | None:
        """Milliseconds left (at least 1), or None once the pause is over."""
        if self._until is None:
            return None
        remaining = self._until - self._clock()
        if remaining <= 0:
            self._until = None
            return None
        return max(1, round(remaining * 1000))


# Requests one tracker client has in flight at once; the rest wait their turn in order. A
# burst (a poll dispatching hundreds of agents, each reading its issue's comments) otherwise
# opens a hundred connections and queues the rest in httpx's pool, which rescans its whole
# queue on every change: most of the service's CPU while a big fleet starts.
MAX_IN_FLIGHT = 8


class _BoundedClient(httpx.AsyncClient):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._slots = asyncio.Semaphore(MAX_IN_FLIGHT)

    async def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        # Without ``stream=True`` (never used here) the body is read before ``send`` returns:
        # the slot covers the whole exchange.
        async with self._slots:
            return await super().send(request, **kwargs)


@functools.cache
def _verified_tls() -> ssl.SSLContext:
    # httpx's default (certifi's bundle, or SSL_CERT_FILE / SSL_CERT_DIR), built once: each
    # context parses the whole bundle again, about 1.2 MB per client.
    return httpx.create_ssl_context()


@functools.cache
def _no_tls() -> ssl.SSLContext:
    # Verifies like the default but trusts no authority: cheap, and any TLS handshake it were
    # ever asked for would fail instead of going unverified.
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def tls_for(endpoint: str) -> ssl.SSLContext:
    """The TLS context for a client that only ever talks to URLs on ``endpoint``'s scheme:
    one shared verifying context for ``https``, none loaded with authorities for plain HTTP (a
    tracker on loopback, a test fake)."""
    return _verified_tls() if urlsplit(endpoint.strip()).scheme != "http" else _no_tls()


def new_http_client(
    timeout_s: float, endpoint: str, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """JSON in and out, no redirects (a GraphQL endpoint never redirects; following one could
    send the credentials elsewhere); at most ``MAX_IN_FLIGHT`` requests at a time, on as many
    kept-alive connections. Every request goes to a URL on ``endpoint``'s scheme."""
    return _BoundedClient(
        timeout=httpx.Timeout(timeout_s),
        verify=tls_for(endpoint),
        limits=httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=MAX_IN_FLIGHT),
        transport=transport,
        follow_redirects=False,
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": f"symphony/{__version__}",
        },
    )


def request_error(tracker: str, operation: str, endpoint: str, detail: str) -> TrackerError:
    """No answer at all (connection refused, timeout, TLS): worth retrying. ``detail`` must be
    scrubbed of secrets already."""
    return TrackerError(
        TRACKER_REQUEST,
        f"{tracker} request {operation} to {endpoint} failed before a response arrived: {detail}",
        retryable=True,
    )


def error_messages(body: dict[str, Any]) -> list[str]:
    """The messages of a GraphQL answer's ``errors`` (an odd entry shows as its repr, bounded)."""
    errors = body.get("errors")
    if not isinstance(errors, list):
        return []
    messages: list[str] = []
    for error in errors:
        message = error.get("message") if isinstance(error, dict) else None
        messages.append(message if isinstance(message, str) and message else repr(error)[:200])
    return messages


def next_cursor(page_info: Any, where: str, seen: set[str]) -> str | None:
    """The cursor for the next page, None when done, or a ``tracker_pagination`` failure.

    ``where`` names the page for the message (``Linear SymphonyIssueSummaries page 2``); a cursor
    seen before stops the walk instead of looping.
    """
    if not isinstance(page_info, dict) or not isinstance(page_info.get("hasNextPage"), bool):
        raise TrackerError(TRACKER_PAGINATION, f"{where} has no usable pageInfo.hasNextPage")
    if not page_info["hasNextPage"]:
        return None
    cursor = page_info.get("endCursor")
    if not isinstance(cursor, str) or not cursor:
        raise TrackerError(TRACKER_PAGINATION, f"{where} says hasNextPage but gives no endCursor")
    if cursor in seen:
        raise TrackerError(
            TRACKER_PAGINATION,
            f"{where} repeats an earlier endCursor; stopping instead of looping",
        )
    seen.add(cursor)
    return cursor


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's trimmed value, None when absent or blank; ``name`` in lower case."""
    # httpx.Headers is case-insensitive; a plain dict from a test may not be.
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value.strip() if isinstance(value, str) and value.strip() else None


def retry_after_ms(value: str | None, now_ms: float) -> int | None:
    """``Retry-After`` (seconds, or an HTTP date) as a wait from ``now_ms`` (epoch ms)."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        return max(0, round(when.timestamp() * 1000 - now_ms))
    return max(0, round(seconds * 1000)) if math.isfinite(seconds) else None


# Sorts comments without a timestamp first, as the oldest.
_NO_TIME = datetime.min.replace(tzinfo=UTC)


def comments_from_nodes(
    nodes: Iterable[Any], *, author: str, name: str, unknown: str
) -> list[IssueComment]:
    """Comment nodes as ``issue.comments``, oldest first: each node's ``body`` and
    ``createdAt``, its author's name at ``node[author][name]`` (``unknown`` when there is none,
    e.g. a deleted account). Nodes without a text body are skipped."""
    comments: list[IssueComment] = []
    for node in nodes:
        if not isinstance(node, dict) or not isinstance(node.get("body"), str):
            continue
        who = node.get(author)
        value = who.get(name) if isinstance(who, dict) else None
        label = value.strip() if isinstance(value, str) and value.strip() else unknown
        comments.append(IssueComment(label, node["body"], parse_timestamp(node.get("createdAt"))))
    comments.sort(key=lambda c: c.created_at or _NO_TIME)
    return comments
