"""HTTP transport to Linear's GraphQL endpoint and the mapping of failures to SPEC §11.4 categories.

Every request has a timeout. The key goes in ``Authorization`` as-is (Linear personal API keys take
no ``Bearer`` prefix) and never into a message or log line. When Linear says the key is rate
limited, no further request is sent until the time it asked us to wait has passed.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson

from symphony.httpx_lean import httpx
from symphony.logs import get_logger
from symphony.trackers.base import (
    MISSING_TRACKER_SECRET,
    TRACKER_RESPONSE,
    TRACKER_STATUS,
    TrackerError,
)
from symphony.trackers.graphql_http import Cooldown, new_http_client, request_error, summarize_body
from symphony.trackers.linear.rate_limit import (
    RateLimit,
    detect_rate_limit,
    has_error_code,
    rate_limit_error,
)
from symphony.trackers.linear.settings import LinearSettings

log = get_logger("symphony.trackers.linear")

# Marks a cut body; the cut keeps the whole budget and this follows it.
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RawResponse:
    """One HTTP exchange with Linear, before GraphQL-level interpretation."""

    response: httpx.Response
    payload: Any  # the decoded JSON body, or None when the body is not JSON
    is_json: bool

    @property
    def status(self) -> int:
        return self.response.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.response.headers

    @property
    def text(self) -> str:
        # Decoded to text only for an error summary or the agent's tool: pages decode from the
        # bytes, and a big board's page is about 140 KB.
        return self.response.text


class LinearClient:
    def __init__(
        self,
        settings: LinearSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._transport = transport
        self._clock = clock
        self._http: httpx.AsyncClient | None = None
        self._cooldown = Cooldown(clock)

    @property
    def has_key(self) -> bool:
        return self._settings.api_key is not None

    def scrub(self, text: str) -> str:
        """Remove the key from text that may echo request data back (defence in depth)."""
        key = self._settings.api_key
        return text.replace(key, "[REDACTED]") if key else text

    async def post(
        self, query: str, variables: Mapping[str, Any], *, operation: str | None
    ) -> RawResponse:
        """Send one GraphQL request; raise ``TrackerError`` when no response arrives."""
        return self._decode(*await self._send(query, variables, operation))

    async def graphql(
        self, query: str, variables: Mapping[str, Any], *, operation: str
    ) -> dict[str, Any]:
        """The decoded body of a successful (HTTP 200, JSON object) response.

        GraphQL ``errors`` inside it are left to the caller, except rate limiting.
        """
        return await self.graphql_read(query, variables, operation=operation, read=_whole)

    async def graphql_read(
        self,
        query: str,
        variables: Mapping[str, Any],
        *,
        operation: str,
        read: Callable[[dict[str, Any]], T],
    ) -> T:
        """``read`` applied to what ``graphql`` returns, before the body is let go.

        Decoding and ``read`` run with the cyclic garbage collector paused: a page of a big board
        decodes into tens of thousands of dicts and lists, and a collection in the middle would
        find them all alive and promote them, to be scanned again by every older collection
        (one full collection of the service's heap per few pages). A JSON tree holds no cycles,
        so nothing is lost by not looking; ``read`` keeps only what it builds.
        """
        sent = await self._send(query, variables, operation)
        with _PausedCollector():
            raw = self._decode(*sent)
            result = read(self._body(raw, operation))
            del raw, sent  # gone before the collector is back (see above)
        return result

    async def _send(
        self, query: str, variables: Mapping[str, Any], operation: str | None
    ) -> tuple[httpx.Response, str, float]:
        key = self._settings.api_key
        label = operation or "(anonymous operation)"
        if key is None:
            raise TrackerError(
                MISSING_TRACKER_SECRET,
                "no Linear API key: set tracker.provider.api_key in WORKFLOW.md "
                "or export LINEAR_API_KEY",
            )
        self._check_cooldown(label)
        started = self._clock()
        try:
            response = await self._client().post(
                self._settings.endpoint,
                json={"query": query, "variables": dict(variables)},
                headers={"Authorization": key},
            )
        except httpx.TimeoutException as exc:
            detail = (
                f"timed out after {self._settings.request_timeout_s:g} s ({type(exc).__name__})"
            )
            raise self._request_error(label, detail) from None
        except httpx.HTTPError as exc:
            raise self._request_error(label, f"{type(exc).__name__}: {exc}") from None
        return response, label, started

    def _decode(self, response: httpx.Response, label: str, started: float) -> RawResponse:
        try:
            # orjson, from the bytes: a big board's page decodes in about half the time.
            payload, is_json = orjson.loads(response.content), True
        except ValueError:
            payload, is_json = None, False
        log.debug(
            "linear request",
            operation=label,
            status=response.status_code,
            duration_ms=round((self._clock() - started) * 1000),
        )
        return RawResponse(response, payload, is_json)

    def _body(self, raw: RawResponse, operation: str) -> dict[str, Any]:
        limit = self.note_rate_limit(raw)
        if limit is not None:
            raise rate_limit_error(limit, operation)
        if raw.status != 200:
            raise self.status_error(raw, operation)
        if not raw.is_json or not isinstance(raw.payload, dict):
            what = "a JSON object" if raw.is_json else "JSON"
            summary = self.summarize(raw.text)
            log.warning(
                "linear response unreadable", operation=operation, status=raw.status, body=summary
            )
            raise TrackerError(
                TRACKER_RESPONSE,
                f"Linear answered {operation} with a body that is not {what} "
                f"(content-type {raw.headers.get('content-type', 'unknown')}): {summary}",
            )
        return raw.payload

    def note_rate_limit(self, raw: RawResponse) -> RateLimit | None:
        """Detect Linear's rate-limit signals and pause further requests as it asks."""
        limit = detect_rate_limit(raw.status, raw.headers, raw.payload)
        if limit is None:
            return None
        if limit.retry_after_ms is not None:
            self._cooldown.start(limit.cooldown_ms)
        log.warning(
            "linear rate limited",
            status=raw.status,
            retry_after_ms=limit.retry_after_ms,
            signal=limit.signal,
        )
        return limit

    def status_error(self, raw: RawResponse, operation: str) -> TrackerError:
        summary = self.summarize(raw.text)
        log.warning("linear request failed", operation=operation, status=raw.status, body=summary)
        if raw.status in (401, 403) or has_error_code(raw.payload, "AUTHENTICATION_ERROR"):
            message = (
                f"Linear rejected the API key (HTTP {raw.status}) for {operation}: check "
                "tracker.provider.api_key / LINEAR_API_KEY"
            )
        else:
            message = f"Linear answered {operation} with HTTP {raw.status}: {summary}"
        return TrackerError(TRACKER_STATUS, message, retryable=raw.status >= 500, status=raw.status)

    def summarize(self, text: str) -> str:
        return summarize_body(self.scrub(text))

    def cooldown_remaining_ms(self) -> int | None:
        return self._cooldown.remaining_ms()

    def _check_cooldown(self, label: str) -> None:
        remaining = self.cooldown_remaining_ms()
        if remaining is not None:
            raise rate_limit_error(
                RateLimit(retry_after_ms=remaining, signal="cooldown", status=None), label
            )

    def _request_error(self, operation: str, detail: str) -> TrackerError:
        scrubbed = self.scrub(detail)
        log.warning("linear request failed", operation=operation, error=scrubbed)
        return request_error("Linear", operation, self._settings.endpoint, scrubbed)

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = new_http_client(
                self._settings.request_timeout_s, self._settings.endpoint, self._transport
            )
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None


def _whole(body: dict[str, Any]) -> dict[str, Any]:
    return body


class _PausedCollector:
    """Pauses the cyclic garbage collector for a stretch of code that cannot await (so nothing
    else runs meanwhile); a collector that was already off stays off."""

    def __enter__(self) -> None:
        self._was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *_: object) -> None:
        if self._was_enabled:
            gc.enable()
