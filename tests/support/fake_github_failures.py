"""Injected misbehaviour for ``FakeGitHub`` and the record it keeps of each request."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

DOCS = "https://docs.github.com/graphql"


@dataclass
class Failure:
    """One injected misbehaviour. ``body=None`` and ``status=200`` mean "answer normally"."""

    status: int = 200
    body: Any = None  # a dict/list is sent as JSON, str/bytes raw
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    rewrite: Callable[[dict[str, Any]], dict[str, Any]] | None = None

    @classmethod
    def http_status(
        cls, status: int, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> Failure:
        body = {"message": f"HTTP {status}", "documentation_url": DOCS} if body is None else body
        return cls(status=status, body=body, headers=dict(headers or {}))

    @classmethod
    def bad_gateway(cls) -> Failure:
        """What GitHub's edge answers when the API behind it fails: an HTML page."""
        return cls(
            status=502, body="<html><body>502 Bad Gateway</body></html>", content_type="text/html"
        )

    @classmethod
    def bad_credentials(cls) -> Failure:
        return cls(status=401, body={"message": "Bad credentials", "documentation_url": DOCS})

    @classmethod
    def secondary_rate_limit(cls, *, status: int = 403, retry_after: str | None = None) -> Failure:
        """GitHub's abuse protection: 403 or 429, with ``Retry-After`` only sometimes."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        body = {
            "message": "You have exceeded a secondary rate limit. Please wait a few minutes "
            "before you try again.",
            "documentation_url": "https://docs.github.com/graphql/overview/rate-limits-and-node-limits-for-the-graphql-api#secondary-rate-limits",
        }
        return cls(status=status, body=body, headers=headers)

    @classmethod
    def rate_limited(cls, *, reset_epoch_s: int | None = None) -> Failure:
        """The primary budget spent: HTTP 200 with a ``RATE_LIMITED`` error and no data."""
        headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Limit": "5000"}
        if reset_epoch_s is not None:
            headers["X-RateLimit-Reset"] = str(reset_epoch_s)
        body = {
            "errors": [
                {"type": "RATE_LIMITED", "message": "API rate limit exceeded for user ID 1."}
            ]
        }
        return cls(status=200, body=body, headers=headers)

    @classmethod
    def graphql_errors(cls, *messages: str, type_: str = "INTERNAL", data: Any = None) -> Failure:
        return cls(body={"data": data, "errors": [{"type": type_, "message": m} for m in messages]})

    @classmethod
    def rewritten(cls, rewrite: Callable[[dict[str, Any]], dict[str, Any]]) -> Failure:
        """Answer normally, then let ``rewrite`` change the JSON response."""
        return cls(rewrite=rewrite)

    @property
    def answers_normally(self) -> bool:
        return self.body is None and self.status == 200


@dataclass
class Injection:
    failure: Failure
    operation: str | None
    remaining: int


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: bytes
    query: str | None = None
    variables: dict[str, Any] = field(default_factory=dict)
    operation: str | None = None
    status: int = 0
    errors: list[str] = field(default_factory=list)  # why the request was rejected
    cost: int | None = None  # GitHub's rate-limit points, once the document validated
    mutation: bool = False
