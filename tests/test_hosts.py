from __future__ import annotations

import pytest

from symphony.hosts import is_loopback

WILDCARD = "0.0.0.0"  # noqa: S104 (a host to classify, never bound)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", " LOCALHOST ", "::1", "[::1]"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", [WILDCARD, "::", "", "10.0.0.1", "example.com", "localhost.evil"])
def test_other_hosts(host: str) -> None:
    assert not is_loopback(host)
