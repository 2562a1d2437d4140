"""``tracker.provider`` validation for kind linear: defaults, secrets, and errors naming the key."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from symphony.logs import REDACTOR, KeyValueFormatter
from symphony.trackers import get_profile
from symphony.trackers.base import (
    INVALID_TRACKER_CONFIG,
    MISSING_TRACKER_SECRET,
    TrackerConfigError,
)
from symphony.trackers.linear import PROFILE, parse_settings
from symphony.trackers.linear.settings import DEFAULT_ENDPOINT
from tests.trackers.linear.conftest import tracker_config

KEY = "lin_api_settingsKEY0123456789abcdef"


def validate(provider: dict[str, Any], environ: dict[str, str] | None = None, **kw: Any) -> None:
    PROFILE.validate(tracker_config(provider), workflow_dir=Path(), environ=environ or {}, **kw)


def test_registry_exposes_the_profile_with_documented_defaults() -> None:
    profile = get_profile("linear")
    assert profile is PROFILE
    assert profile.kind == "linear"
    assert PROFILE.default_active_states == ("Todo", "In Progress")
    assert PROFILE.default_terminal_states == (
        "Closed",
        "Cancelled",
        "Canceled",
        "Duplicate",
        "Done",
    )


def test_defaults_and_fallback_key() -> None:
    settings = parse_settings(tracker_config({"project_slug": "proj"}), {"LINEAR_API_KEY": KEY})
    assert settings.endpoint == DEFAULT_ENDPOINT
    assert settings.api_key == KEY
    assert settings.assignee is None
    assert settings.request_timeout_s == 30
    assert settings.active_states == ("Todo", "In Progress")
    assert settings.secret_environment_names == frozenset({"LINEAR_API_KEY"})


def test_var_reference_key_adds_its_name_to_secret_names() -> None:
    settings = parse_settings(
        tracker_config({"project_slug": "p", "api_key": "$MY_KEY"}), {"MY_KEY": KEY}
    )
    assert settings.api_key == KEY
    assert settings.secret_environment_names == frozenset({"LINEAR_API_KEY", "MY_KEY"})


def test_literal_key_is_used_as_is() -> None:
    settings = parse_settings(tracker_config({"project_slug": "p", "api_key": KEY}), {})
    assert settings.api_key == KEY
    assert settings.secret_environment_names == frozenset({"LINEAR_API_KEY"})


@pytest.mark.parametrize(
    ("provider", "environ", "needle"),
    [
        ({"project_slug": "p"}, {}, "export LINEAR_API_KEY"),
        ({"project_slug": "p"}, {"LINEAR_API_KEY": "  "}, "export LINEAR_API_KEY"),
        # `$VAR` set to "" means missing, with no fallback to LINEAR_API_KEY.
        (
            {"project_slug": "p", "api_key": "$MY_KEY"},
            {"MY_KEY": "", "LINEAR_API_KEY": KEY},
            "$MY_KEY",
        ),
        ({"project_slug": "p", "api_key": "$MY_KEY"}, {"LINEAR_API_KEY": KEY}, "$MY_KEY"),
        ({"project_slug": "p", "api_key": ""}, {"LINEAR_API_KEY": KEY}, "is empty"),
    ],
)
def test_missing_key_is_missing_tracker_secret(
    provider: dict[str, Any], environ: dict[str, str], needle: str
) -> None:
    with pytest.raises(TrackerConfigError) as err:
        validate(provider, environ)
    assert err.value.code == MISSING_TRACKER_SECRET
    assert err.value.key == "tracker.provider.api_key"
    assert needle in err.value.message
    # symphony validate lints without production credentials.
    validate(provider, environ, require_secrets=False)


@pytest.mark.parametrize(
    ("provider", "key", "needle"),
    [
        ({}, "project_slug", "is required"),
        ({"project_slug": "  "}, "project_slug", "slug of the Linear project"),
        ({"project_slug": 12}, "project_slug", "quote it"),
        ({"project_slug": "p", "endpoint": "  "}, "endpoint", "URL"),
        ({"project_slug": "p", "endpoint": "ftp://x/graphql"}, "endpoint", "URL"),
        ({"project_slug": "p", "endpoint": "http://api.example.com/graphql"}, "endpoint", "https"),
        ({"project_slug": "p", "assignee": 123}, "assignee", "user id or `me`"),
        ({"project_slug": "p", "assignee": "$WHO"}, "assignee", "$WHO"),
        ({"project_slug": "p", "request_timeout_ms": 0}, "request_timeout_ms", "positive"),
        ({"project_slug": "p", "request_timeout_ms": True}, "request_timeout_ms", "positive"),
        ({"project_slug": "p", "api_key": 12345}, "api_key", "must be a string"),
    ],
)
def test_invalid_provider_values_name_the_key(
    provider: dict[str, Any], key: str, needle: str
) -> None:
    with pytest.raises(TrackerConfigError) as err:
        validate(provider, {"LINEAR_API_KEY": KEY})
    assert err.value.key == f"tracker.provider.{key}"
    assert err.value.code == INVALID_TRACKER_CONFIG
    assert needle in err.value.message
    assert "12345" not in err.value.message  # a key-like value is never echoed


@pytest.mark.parametrize("bad", ["lin_api_with space", "lin_api_new\nline", "lin_api_ключ"])
def test_key_that_cannot_be_sent_is_rejected_without_echo(bad: str) -> None:
    with pytest.raises(TrackerConfigError) as err:
        validate({"project_slug": "p", "api_key": "$MY_KEY"}, {"MY_KEY": bad})
    assert err.value.key == "tracker.provider.api_key"
    assert "$MY_KEY" in err.value.message
    assert bad not in err.value.message


def test_structural_errors_are_reported_before_a_missing_key() -> None:
    with pytest.raises(TrackerConfigError) as err:
        validate({}, {})
    assert err.value.key == "tracker.provider.project_slug"


def test_assignee_forms() -> None:
    def assignee(value: Any, environ: dict[str, str] | None = None) -> str | None:
        provider = {"project_slug": "p", "api_key": KEY, "assignee": value}
        return parse_settings(tracker_config(provider), environ or {}).assignee

    assert assignee("ME") == "me"
    assert assignee(" user-123 ") == "user-123"
    assert assignee("$WHO", {"WHO": "user-9"}) == "user-9"
    assert assignee(None) is None


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "127.0.0.2"])
def test_loopback_http_endpoint_is_allowed(host: str) -> None:
    validate(
        {"project_slug": "p", "endpoint": f"http://{host}:8080/graphql"}, {"LINEAR_API_KEY": KEY}
    )


def test_validated_key_is_redacted_from_logs() -> None:
    validate({"project_slug": "p"}, {"LINEAR_API_KEY": KEY})
    record = logging.LogRecord("symphony.x", logging.INFO, __file__, 1, f"key={KEY}", None, None)
    line = KeyValueFormatter().format(record)
    assert KEY not in line
    assert "[REDACTED]" in line
    REDACTOR.clear()
