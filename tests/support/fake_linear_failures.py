"""Injected misbehaviour for ``FakeLinear`` and the record it keeps of each request."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Failure:
    """One injected misbehaviour. ``body=None`` and ``status=200`` mean "answer normally"."""

    status: int = 200
    body: Any = None  # a dict/list is sent as JSON, str/bytes raw
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    delay_s: float = 0.0
    drop_connection: bool = False
    rewrite: Callable[[dict[str, Any]], dict[str, Any]] | None = None

    @classmethod
    def http_status(
        cls, status: int, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> Failure:
        default = {"errors": [{"message": f"HTTP {status}", "extensions": {"code": "INTERNAL"}}]}
        body = default if body is None else body
        return cls(status=status, body=body, headers=dict(headers or {}))

    @classmethod
    def rate_limited(
        cls,
        *,
        status: int = 429,
        retry_after: str | None = None,
        requests_reset_ms: int | None = None,
        complexity_reset_ms: int | None = None,
        graphql_code: bool = True,
    ) -> Failure:
        """Linear's signals: HTTP status, RATELIMITED code, Retry-After / reset (epoch ms)."""
        headers = {"X-RateLimit-Requests-Limit": "1500"}
        if retry_after is not None:
            headers["Retry-After"] = retry_after
        if requests_reset_ms is not None:
            headers["X-RateLimit-Requests-Remaining"] = "0"
            headers["X-RateLimit-Requests-Reset"] = str(requests_reset_ms)
        if complexity_reset_ms is not None:
            headers["X-RateLimit-Complexity-Remaining"] = "0"
            headers["X-RateLimit-Complexity-Reset"] = str(complexity_reset_ms)
        body: Any = (
            {
                "errors": [
                    {
                        "message": "Rate limit exceeded",
                        "extensions": {"code": "RATELIMITED", "type": "Ratelimited"},
                    }
                ]
            }
            if graphql_code
            else "Too Many Requests"
        )
        content_type = "application/json" if graphql_code else "text/plain"
        return cls(status=status, body=body, headers=headers, content_type=content_type)

    @classmethod
    def graphql_errors(cls, *messages: str, code: str = "INTERNAL", data: Any = None) -> Failure:
        errors = [{"message": m, "extensions": {"code": code}} for m in messages]
        return cls(body={"data": data, "errors": errors})

    @classmethod
    def malformed(
        cls, body: str = "<html>upstream error</html>", content_type: str = "text/html"
    ) -> Failure:
        return cls(body=body, content_type=content_type)

    @classmethod
    def slow(cls, seconds: float) -> Failure:
        return cls(delay_s=seconds)

    @classmethod
    def dropped_connection(cls) -> Failure:
        return cls(drop_connection=True)

    @classmethod
    def rewritten(cls, rewrite: Callable[[dict[str, Any]], dict[str, Any]]) -> Failure:
        """Answer normally, then let ``rewrite`` change the JSON response (e.g. pageInfo)."""
        return cls(rewrite=rewrite)

    @property
    def answers_normally(self) -> bool:
        return self.body is None and self.status == 200 and not self.drop_connection


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
    complexity: int | None = None  # Linear's published rules, once the document validated
