"""GitHub App authentication: the JWT, the installation token and its renewal.

The token endpoint is a fake that checks what GitHub checks: the JWT's RS256 signature against
the App's public key, its issuer, and a lifetime of at most ten minutes that has started.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from symphony.logs import REDACTOR
from symphony.trackers.base import TrackerConfigError, TrackerError
from symphony.trackers.github.app_auth import (
    AppCredentials,
    InstallationTokens,
    load_private_key,
    rest_root,
)

NOW = 1_780_000_000.0


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


class TokenEndpoint:
    """``POST /app/installations/<id>/access_tokens`` as GitHub answers it."""

    def __init__(self, key: rsa.RSAPrivateKey, app_id: str, installation_id: int) -> None:
        self.public_key = key.public_key()
        self.app_id = app_id
        self.path = f"/app/installations/{installation_id}/access_tokens"
        self.now = NOW
        self.issued: list[str] = []
        self.status: int | None = None  # answer with this instead
        self.gate: asyncio.Event | None = None

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.gate is not None:
            await asyncio.wait_for(self.gate.wait(), timeout=5)
        if self.status is not None:
            return httpx.Response(self.status, json={"message": "Bad credentials"})
        if request.method != "POST" or request.url.path != self.path:
            return httpx.Response(404, json={"message": "Not Found"})
        assert request.headers["accept"] == "application/vnd.github+json"
        assert request.headers["x-github-api-version"] == "2022-11-28"
        scheme, _, token = request.headers["authorization"].partition(" ")
        assert scheme == "Bearer"
        try:
            claims = jwt.decode(
                token,
                self.public_key,
                algorithms=["RS256"],
                options={
                    "require": ["iat", "exp", "iss"],
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError:
            return httpx.Response(401, json={"message": "A JSON web token could not be decoded"})
        if claims["iss"] != self.app_id:
            return httpx.Response(401, json={"message": "Integration not found"})
        if not claims["iat"] <= self.now < claims["exp"] or claims["exp"] - claims["iat"] > 600:
            return httpx.Response(401, json={"message": "'Expiration time' claim is too far"})
        token = f"ghs_{len(self.issued) + 1:036d}"
        self.issued.append(token)
        expires = datetime.fromtimestamp(self.now + 3600, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {"token": token, "expires_at": expires, "permissions": {"issues": "write"}}
        return httpx.Response(201, content=json.dumps(body).encode())


@pytest.fixture
def endpoint(key: rsa.RSAPrivateKey) -> TokenEndpoint:
    return TokenEndpoint(key, "12345", 678)


@pytest.fixture
def http(endpoint: TokenEndpoint) -> Iterator[httpx.AsyncClient]:
    client = httpx.AsyncClient(transport=httpx.MockTransport(endpoint))
    yield client


def tokens(
    key: rsa.RSAPrivateKey, endpoint: TokenEndpoint, http: httpx.AsyncClient, app_id: str = "12345"
) -> InstallationTokens:
    return InstallationTokens(
        AppCredentials(app_id, pem(key), 678),
        endpoint="https://api.github.com/graphql",
        http=http,
        timeout_s=5,
        clock=lambda: endpoint.now,
    )


async def test_a_token_is_fetched_once_and_renewed_before_it_expires(
    key: rsa.RSAPrivateKey, endpoint: TokenEndpoint, http: httpx.AsyncClient
) -> None:
    source = tokens(key, endpoint, http)
    first = await source.token()
    assert first == endpoint.issued[0]
    assert REDACTOR.redact(f"token {first}") == "token [REDACTED]"
    endpoint.now += 3600 - 301  # still more than five minutes left
    assert await source.token() == first and source.fetched == 1
    endpoint.now += 2  # less than five minutes left: the next one, ahead of time
    second = await source.token()
    assert second != first and endpoint.issued == [first, second]


async def test_callers_waiting_together_share_one_fetch(
    key: rsa.RSAPrivateKey, endpoint: TokenEndpoint, http: httpx.AsyncClient
) -> None:
    source = tokens(key, endpoint, http)
    endpoint.gate = asyncio.Event()
    waiting = [asyncio.ensure_future(source.token()) for _ in range(5)]
    await asyncio.sleep(0)
    endpoint.gate.set()
    assert len(set(await asyncio.gather(*waiting))) == 1
    assert len(endpoint.issued) == 1


async def test_an_invalidated_token_is_replaced_but_a_newer_one_is_kept(
    key: rsa.RSAPrivateKey, endpoint: TokenEndpoint, http: httpx.AsyncClient
) -> None:
    source = tokens(key, endpoint, http)
    first = await source.token()
    source.invalidate(first)
    second = await source.token()
    assert second != first
    source.invalidate(first)  # a late 401 for the old token
    assert await source.token() == second and source.fetched == 2


async def test_refusals_name_the_setting_to_check(
    key: rsa.RSAPrivateKey, endpoint: TokenEndpoint, http: httpx.AsyncClient
) -> None:
    with pytest.raises(TrackerError) as info:
        await tokens(key, endpoint, http, app_id="999").token()
    assert info.value.status == 401 and "tracker.provider.app_id (999)" in info.value.message
    assert not info.value.retryable

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(TrackerError) as info:
        await tokens(other, endpoint, http).token()
    assert "private_key_path" in info.value.message

    endpoint.path = "/app/installations/1/access_tokens"
    with pytest.raises(TrackerError) as info:
        await tokens(key, endpoint, http).token()
    assert info.value.status == 404 and "tracker.provider.installation_id" in info.value.message

    endpoint.status = 502
    with pytest.raises(TrackerError) as info:
        await tokens(key, endpoint, http).token()
    assert info.value.retryable and "502" in info.value.message


async def test_an_unreachable_endpoint_or_a_bad_answer_is_a_tracker_error(
    key: rsa.RSAPrivateKey, endpoint: TokenEndpoint
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as down:
        with pytest.raises(TrackerError) as info:
            await tokens(key, endpoint, down).token()
        assert info.value.retryable and "could not reach GitHub" in info.value.message

    def odd(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, json={"token": "ghs_x", "expires_at": "soon"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(odd)) as client:
        with pytest.raises(TrackerError) as info:
            await tokens(key, endpoint, client).token()
        assert "expires_at" in info.value.message


def test_the_private_key_is_checked_when_it_is_loaded(
    key: rsa.RSAPrivateKey, tmp_path: Path
) -> None:
    good = tmp_path / "app.pem"
    good.write_text(pem(key))
    assert load_private_key(good) == pem(key)
    cases = {
        "does not exist": tmp_path / "missing.pem",
        "not a usable RSA private key": tmp_path / "public.pem",
    }
    cases["not a usable RSA private key"].write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    for fragment, path in cases.items():
        with pytest.raises(TrackerConfigError) as info:
            load_private_key(path)
        assert info.value.key == "tracker.provider.private_key_path"
        assert fragment in info.value.message and str(path) in info.value.message


def test_the_rest_root_follows_the_graphql_endpoint() -> None:
    assert rest_root("https://api.github.com/graphql") == "https://api.github.com"
    assert rest_root("https://ghe.example.com/api/graphql") == "https://ghe.example.com/api/v3"
    assert rest_root("http://127.0.0.1:8123/graphql/") == "http://127.0.0.1:8123"
