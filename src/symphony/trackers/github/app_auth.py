"""GitHub App authentication: installation tokens made from the App's private key.

A GitHub App proves itself with a short-lived JWT (RS256, signed with the App's private key,
``iss`` = the App id, at most 10 minutes long) and exchanges it for an **installation token**
(``POST /app/installations/<id>/access_tokens``), which the GraphQL API takes like a personal
token and which expires after an hour. ``InstallationTokens`` keeps the current one and gets the
next one ``REFRESH_MARGIN_S`` before it expires, so no request goes out with a token about to
lapse; a request that still gets 401 can ``invalidate`` it and ask again once.

App tokens get a higher rate limit than a person's token and act as the App, not as a person
(docs/trackers/github.md). PyJWT (with ``cryptography``) signs the JWT; it is imported only when
App authentication is configured, so a service with a plain token never loads it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from symphony.httpx_lean import httpx
from symphony.logs import get_logger, register_secrets
from symphony.trackers.base import (
    INVALID_TRACKER_CONFIG,
    TRACKER_REQUEST,
    TRACKER_RESPONSE,
    TRACKER_STATUS,
    TrackerConfigError,
    TrackerError,
)

log = get_logger("symphony.trackers.github")

# GitHub refuses a JWT that expires more than 10 minutes ahead; the issue time is set a minute
# back so that a clock slightly ahead of GitHub's does not make it "issued in the future".
JWT_LIFETIME_S = 540
JWT_BACKDATE_S = 60
# Installation tokens live an hour; the next one is asked for this long before the current one
# expires (a poll, a long tool call, a slow network all fit in it).
REFRESH_MARGIN_S = 300.0
API_VERSION = "2022-11-28"
_PROVIDER = "tracker.provider"


@dataclass(frozen=True, slots=True)
class AppCredentials:
    app_id: str
    private_key: str  # PEM text
    installation_id: int


def load_private_key(path: Path) -> str:
    """The PEM private key at ``path``, checked by signing a JWT with it; raises
    ``TrackerConfigError`` naming ``tracker.provider.private_key_path``."""
    key = f"{_PROVIDER}.private_key_path"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TrackerConfigError(
            key, f"{path} does not exist; download the App's private key (.pem) from its settings"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TrackerConfigError(key, f"cannot read {path}: {exc}") from None
    try:
        app_jwt(AppCredentials("0", text, 0), time.time())
    except ValueError as exc:
        raise TrackerConfigError(
            key,
            f"{path} is not a usable RSA private key in PEM form ({exc}); use the .pem file "
            "GitHub generated for the App",
        ) from None
    return text


def app_jwt(credentials: AppCredentials, now: float) -> str:
    """The App's JWT for ``now`` (seconds since the epoch); raises ValueError for a bad key."""
    import jwt  # see the module docstring: only App authentication needs it

    claims = {
        "iat": int(now) - JWT_BACKDATE_S,
        "exp": int(now) + JWT_LIFETIME_S,
        "iss": credentials.app_id,
    }
    try:
        return jwt.encode(claims, credentials.private_key, algorithm="RS256")
    except Exception as exc:  # whatever the signer objects to, the key cannot sign
        raise ValueError(
            f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        ) from None


def rest_root(graphql_endpoint: str) -> str:
    """The REST API's root for a GraphQL endpoint: ``https://api.github.com/graphql`` ->
    ``https://api.github.com``; GitHub Enterprise Server's ``https://<host>/api/graphql`` ->
    ``https://<host>/api/v3``."""
    parts = urlsplit(graphql_endpoint.strip())
    path = parts.path.rstrip("/")
    if path.endswith("/api/graphql"):
        path = path.removesuffix("/graphql") + "/v3"
    else:
        path = path.removesuffix("/graphql")
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


class InstallationTokens:
    """The installation token of one App installation, fetched and renewed as needed."""

    def __init__(
        self,
        credentials: AppCredentials,
        *,
        endpoint: str,
        http: httpx.AsyncClient,
        timeout_s: float,
        clock: Callable[[], float] = time.time,
        refresh_margin_s: float = REFRESH_MARGIN_S,
    ) -> None:
        self._credentials = credentials
        self._url = (
            f"{rest_root(endpoint)}/app/installations/{credentials.installation_id}/access_tokens"
        )
        self._http = http
        self._timeout_s = timeout_s
        self._clock = clock
        self._margin_s = refresh_margin_s
        self._token: str | None = None
        self._expires_at = 0.0
        # Callers that need a token while one is being fetched wait for that one.
        self._lock = asyncio.Lock()
        self.fetched = 0  # for tests and diagnostics

    async def token(self) -> str:
        async with self._lock:
            if self._token is not None and self._clock() < self._expires_at - self._margin_s:
                return self._token
            return await self._fetch()

    def invalidate(self, token: str) -> None:
        """GitHub refused ``token`` (revoked, or the App's permissions changed): the next
        ``token()`` fetches a new one. A newer token than the refused one is kept."""
        if self._token == token:
            self._token = None

    async def _fetch(self) -> str:
        app = self._credentials.app_id
        installation = self._credentials.installation_id
        try:
            signed = app_jwt(self._credentials, self._clock())
        except ValueError as exc:
            raise TrackerError(
                INVALID_TRACKER_CONFIG, f"cannot sign the GitHub App JWT: {exc}"
            ) from None
        headers = {
            "Authorization": f"Bearer {signed}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
        }
        try:
            response = await self._http.post(self._url, headers=headers, timeout=self._timeout_s)
        except httpx.HTTPError as exc:
            raise TrackerError(
                TRACKER_REQUEST,
                f"could not reach GitHub for an installation token: {type(exc).__name__}: {exc}",
                retryable=True,
            ) from None
        status = response.status_code
        if status in (401, 403):
            raise TrackerError(
                TRACKER_STATUS,
                f"GitHub refused the App's JWT for an installation token (HTTP {status}): check "
                f"{_PROVIDER}.app_id ({app}) and that {_PROVIDER}.private_key_path holds a current "
                "key of that App",
                status=status,
            )
        if status == 404:
            raise TrackerError(
                TRACKER_STATUS,
                f"GitHub App {app} has no installation {installation} (HTTP 404): check "
                f"{_PROVIDER}.installation_id (the number at the end of the installation's "
                "settings URL) and that the App is installed on the repository's owner",
                status=status,
            )
        if status != 201:
            raise TrackerError(
                TRACKER_STATUS,
                f"GitHub answered HTTP {status} when asked for an installation token",
                retryable=status >= 500 or status == 429,
                status=status,
            )
        token, expires_at = _token_of(response)
        register_secrets([token])
        self._token, self._expires_at = token, expires_at
        self.fetched += 1
        log.info(
            "github app installation token fetched",
            app_id=app,
            installation_id=installation,
            expires_in_s=int(expires_at - self._clock()),
        )
        return token


def _token_of(response: httpx.Response) -> tuple[str, float]:
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    token = body.get("token") if isinstance(body, dict) else None
    expires = body.get("expires_at") if isinstance(body, dict) else None
    try:
        expires_at = datetime.fromisoformat(str(expires).replace("Z", "+00:00")).timestamp()
    except ValueError:
        expires_at = None
    if not isinstance(token, str) or not token or expires_at is None:
        raise TrackerError(
            TRACKER_RESPONSE,
            "GitHub's installation token answer has no token or no valid expires_at",
        )
    return token, expires_at
