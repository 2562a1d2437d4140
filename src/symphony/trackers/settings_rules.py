"""``tracker.provider`` rules that more than one adapter applies."""

from __future__ import annotations

from typing import Any

from symphony.hosts import is_loopback
from symphony.httpx_lean import httpx
from symphony.trackers.base import TrackerConfigError


def endpoint_url(key: str, value: Any, *, default: str, problem: str) -> str:
    """An API endpoint URL (``default`` when unset): http(s) with a host, and https unless it is
    this machine, since the credentials travel in a header. ``problem`` says what is expected."""
    if value is None:
        return default
    if not isinstance(value, str) or not value.strip():
        raise TrackerConfigError(key, f"{problem}; got {value!r}")
    text = value.strip()
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL:
        raise TrackerConfigError(key, f"{problem}; got {text!r}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise TrackerConfigError(key, f"{problem}; got {text!r}")
    if url.scheme == "http" and not is_loopback(url.host):
        raise TrackerConfigError(
            key,
            f"must use https (plain http is allowed only for 127.0.0.1/localhost); got {text!r}",
        )
    return text


def secret_schema(description: str) -> dict[str, Any]:
    """JSON Schema of a secret provider key (for ``symphony schema``)."""
    return {"type": "string", "description": f"a $VAR reference (recommended); {description}"}


def positive_int_schema(default: int) -> dict[str, Any]:
    return {"type": "integer", "exclusiveMinimum": 0, "default": default}
