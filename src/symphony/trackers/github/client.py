"""HTTP transport to GitHub's GraphQL API and the mapping of failures to SPEC §11.4 categories.

One POST per query, with a timeout. The token (a personal token, or a GitHub App's installation
token from ``app_auth.InstallationTokens``) goes in ``Authorization: bearer`` and never into a
message or log line. An installation token GitHub refuses (401: revoked, or the App's access
changed) is dropped and the request sent once more with a new one. Every answer's
``data.rateLimit`` updates the points ``Budget``; when GitHub says a limit is reached, no
further request is sent until the time it asked us to wait has passed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from symphony.httpx_lean import httpx
from symphony.logs import REDACTOR, get_logger
from symphony.trackers.base import (
    MISSING_TRACKER_SECRET,
    TRACKER_RESPONSE,
    TRACKER_STATUS,
    TrackerError,
)
from symphony.trackers.github.app_auth import AppCredentials, InstallationTokens
from symphony.trackers.github.rate_limit import (
    Budget,
    RateLimit,
    detect_rate_limit,
    rate_limit_error,
)
from symphony.trackers.github.settings import GitHubSettings
from symphony.trackers.graphql_http import (
    Cooldown,
    error_messages,
    new_http_client,
    request_error,
    summarize_body,
)

log = get_logger("symphony.trackers.github")

# Reads name no more than this many GraphQL error messages; the rest are counted.
MAX_ERRORS_SHOWN = 3


class GitHubClient:
    def __init__(
        self,
        settings: GitHubSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._transport = transport
        self._clock = clock
        self._wall = wall_clock
        self._http: httpx.AsyncClient | None = None
        self._cooldown = Cooldown(clock)
        self._tokens: InstallationTokens | None = None
        self.budget = Budget(wall_clock)

    @property
    def has_credentials(self) -> bool:
        app = self._settings.app
        return self._settings.api_key is not None or (app is not None and bool(app.private_key))

    def scrub(self, text: str) -> str:
        """Remove the token from text that may echo request data back (defence in depth)."""
        key = self._settings.api_key
        text = text.replace(key, "[REDACTED]") if key else text
        # Installation tokens and the App's key are registered secrets.
        return REDACTOR.redact(text)

    async def post(
        self,
        query: str,
        variables: Mapping[str, Any],
        *,
        operation: str,
        operation_name: str | None = None,
    ) -> httpx.Response:
        """One authenticated POST of a document, whatever the answer; request failures, a
        missing credential and a rate limit still in effect raise ``TrackerError``.
        ``operation`` names the request in logs and errors; ``operation_name`` is sent as
        ``operationName`` (by default ``operation``; None for an anonymous operation)."""
        self._check_cooldown(operation)
        name = operation if operation_name is None else operation_name or None
        payload = {"query": query, "variables": dict(variables), "operationName": name}
        retried = False
        while True:
            token = await self._token()
            response = await self._send(payload, token, operation)
            if response.status_code != 401 or self._tokens is None or retried:
                return response
            # Revoked, or the installation's access changed: one new token, one more try.
            log.warning("github refused the installation token; fetching a new one")
            self._tokens.invalidate(token)
            retried = True

    async def graphql(
        self, query: str, variables: Mapping[str, Any], *, operation: str
    ) -> dict[str, Any]:
        """The decoded body of a successful (HTTP 200, JSON object) answer.

        GraphQL ``errors`` inside it are left to the caller, except rate limiting.
        """
        started = self._clock()
        response = await self.post(query, variables, operation=operation)
        try:
            # orjson, from the bytes: a big board's page decodes in about half the time.
            payload: Any = orjson.loads(response.content)
        except ValueError:
            payload = None
        log.debug(
            "github request",
            operation=operation,
            status=response.status_code,
            duration_ms=round((self._clock() - started) * 1000),
        )
        limit = self.note_rate_limit(response, payload)
        if limit is not None:
            raise rate_limit_error(limit, operation)
        if response.status_code != 200:
            raise self._status_error(response.status_code, response.text, operation)
        if not isinstance(payload, dict):
            # The body as text only here: pages decode from the bytes.
            summary = self.summarize(response.text)
            log.warning("github response unreadable", operation=operation, body=summary)
            raise TrackerError(
                TRACKER_RESPONSE,
                f"GitHub answered {operation} with a body that is not a JSON object "
                f"(content-type {response.headers.get('content-type', 'unknown')}): {summary}",
            )
        data = payload.get("data")
        self.budget.note(data.get("rateLimit") if isinstance(data, dict) else None)
        return payload

    def note_rate_limit(self, response: httpx.Response, payload: Any) -> RateLimit | None:
        """The rate limit ``response`` signals, if any (no further request goes out until it
        has passed)."""
        limit = detect_rate_limit(
            response.status_code, response.headers, payload, now_ms=lambda: self._wall() * 1000
        )
        if limit is not None:
            self._cool_down(limit)
        return limit

    def note_budget(self, payload: Any) -> None:
        data = payload.get("data") if isinstance(payload, dict) else None
        self.budget.note(data.get("rateLimit") if isinstance(data, dict) else None)

    async def _token(self) -> str:
        settings = self._settings
        if settings.api_key is not None:
            return settings.api_key
        app = settings.app
        if app is None:
            raise TrackerError(
                MISSING_TRACKER_SECRET,
                "no GitHub token: set tracker.provider.api_key in WORKFLOW.md or export "
                "GITHUB_TOKEN",
            )
        if not app.private_key:
            raise TrackerError(
                MISSING_TRACKER_SECRET,
                f"the GitHub App's private key {app.private_key_path} is missing: put the .pem "
                "file GitHub generated there, or fix tracker.provider.private_key_path",
            )
        if self._tokens is None:
            self._tokens = InstallationTokens(
                AppCredentials(str(app.app_id), app.private_key, app.installation_id),
                endpoint=settings.endpoint,
                http=self._client(),
                timeout_s=settings.request_timeout_s,
                clock=self._wall,
            )
        return await self._tokens.token()

    async def _send(self, payload: dict[str, Any], token: str, operation: str) -> httpx.Response:
        try:
            return await self._client().post(
                self._settings.endpoint,
                json=payload,
                headers={"Authorization": f"bearer {token}"},
            )
        except httpx.TimeoutException as exc:
            detail = (
                f"timed out after {self._settings.request_timeout_s:g} s ({type(exc).__name__})"
            )
            raise self._request_error(operation, detail) from None
        except httpx.HTTPError as exc:
            raise self._request_error(operation, f"{type(exc).__name__}: {exc}") from None

    def raise_errors(self, body: dict[str, Any], operation: str) -> None:
        """A ``tracker_response`` failure naming GitHub's GraphQL errors, if there are any."""
        messages = error_messages(body)
        if not messages:
            return
        shown = "; ".join(messages[:MAX_ERRORS_SHOWN])
        more = len(messages) - MAX_ERRORS_SHOWN
        if more > 0:
            shown += f" (+{more} more)"
        raise TrackerError(
            TRACKER_RESPONSE, f"GitHub returned GraphQL errors for {operation}: {self.scrub(shown)}"
        )

    def summarize(self, text: str) -> str:
        return summarize_body(self.scrub(text))

    def cooldown_remaining_ms(self) -> int | None:
        return self._cooldown.remaining_ms()

    def _cool_down(self, limit: RateLimit) -> None:
        self._cooldown.start(limit.retry_after_ms)
        log.warning(
            "github rate limited",
            status=limit.status,
            retry_after_ms=limit.retry_after_ms,
            signal=limit.signal,
        )

    def _check_cooldown(self, operation: str) -> None:
        remaining = self.cooldown_remaining_ms()
        if remaining is not None:
            raise rate_limit_error(RateLimit(remaining, "cooldown", None), operation)

    def _status_error(self, status: int, text: str, operation: str) -> TrackerError:
        summary = self.summarize(text)
        log.warning("github request failed", operation=operation, status=status, body=summary)
        app = self._settings.app
        if status == 401 and self._settings.uses_app and app is not None:
            message = (
                f"GitHub rejected a new installation token of App {app.app_id} "
                f"(HTTP 401, bad credentials) for {operation}: check that the App is still "
                "installed and has access to the repository and the board"
            )
        elif status == 401:
            message = (
                f"GitHub rejected the token (HTTP 401, bad credentials) for {operation}: check "
                "tracker.provider.api_key / GITHUB_TOKEN"
            )
        elif status == 403:
            message = (
                f"GitHub refused {operation} (HTTP 403): the token lacks a scope or access "
                f"(classic: repo and project; fine-grained: issues and projects): {summary}"
            )
        else:
            message = f"GitHub answered {operation} with HTTP {status}: {summary}"
        return TrackerError(TRACKER_STATUS, message, retryable=status >= 500, status=status)

    def _request_error(self, operation: str, detail: str) -> TrackerError:
        scrubbed = self.scrub(detail)
        log.warning("github request failed", operation=operation, error=scrubbed)
        return request_error("GitHub", operation, self._settings.endpoint, scrubbed)

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


def error_types(body: dict[str, Any]) -> list[str]:
    errors = body.get("errors")
    found: list[str] = []
    for error in errors if isinstance(errors, list) else ():
        kind = error.get("type") if isinstance(error, dict) else None
        if isinstance(kind, str):
            found.append(kind)
    return found
