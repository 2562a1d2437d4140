"""``tracker.provider`` for ``kind: github``: defaults, and errors that name the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from symphony.trackers.base import MISSING_TRACKER_SECRET, TrackerConfigError
from symphony.trackers.github import PROFILE, parse_settings
from symphony.trackers.github.settings import DEFAULT_ENDPOINT
from symphony.trackers.resolve import resolve_tracker
from symphony.workflow.config import TrackerConfig
from symphony.workflow.store import load_workflow_file

ENV = {"GITHUB_TOKEN": "ghp_abc"}


def config(**provider: Any) -> TrackerConfig:
    return TrackerConfig(kind="github", provider={"repository": "acme/app", **provider})


def test_defaults() -> None:
    settings = parse_settings(config(), ENV)
    assert (settings.owner, settings.repo, settings.repository) == ("acme", "app", "acme/app")
    assert settings.endpoint == DEFAULT_ENDPOINT
    assert settings.api_key == "ghp_abc" and settings.api_key_env == "GITHUB_TOKEN"
    assert not settings.uses_project
    assert settings.status_field == "Status" and settings.state_label_prefix == "status: "
    assert settings.priority_field is None
    assert settings.active_states == ("Todo", "In Progress")
    assert settings.terminal_states == ("Done", "Closed")


def test_gh_token_is_the_fallback() -> None:
    settings = parse_settings(config(), {"GH_TOKEN": "ghp_gh"})
    assert (settings.api_key, settings.api_key_env) == ("ghp_gh", "GH_TOKEN")


def test_closed_is_always_terminal() -> None:
    tracker = TrackerConfig(
        kind="github", provider={"repository": "acme/app"}, terminal_states=["Done", "Won't do"]
    )
    assert parse_settings(tracker, ENV).terminal_states == ("Done", "Won't do", "Closed")
    tracker = TrackerConfig(
        kind="github", provider={"repository": "acme/app"}, terminal_states=["closed"]
    )
    assert parse_settings(tracker, ENV).terminal_states == ("closed",)


def test_a_board_needs_owner_and_number() -> None:
    settings = parse_settings(config(project_owner="acme", project_number=7), ENV)
    assert settings.uses_project and settings.project_number == 7
    with pytest.raises(TrackerConfigError, match=r"tracker\.provider\.project_number: is required"):
        parse_settings(config(project_owner="acme"), ENV)
    with pytest.raises(TrackerConfigError, match=r"tracker\.provider\.project_owner: is required"):
        parse_settings(config(project_number=7), ENV)
    with pytest.raises(TrackerConfigError, match=r"project_number: must be a positive"):
        parse_settings(config(project_owner="acme", project_number="7"), ENV)


@pytest.mark.parametrize(
    ("provider", "key"),
    [
        ({"repository": None}, "repository"),
        ({"repository": "app"}, "repository"),
        ({"repository": "acme/"}, "repository"),
        ({"repository": "ac me/app"}, "repository"),
        ({"endpoint": "http://github.example.com/graphql"}, "endpoint"),
        ({"endpoint": "ftp://x"}, "endpoint"),
        ({"status_field": ""}, "status_field"),
        ({"priority_field": 3}, "priority_field"),
        ({"state_label_prefix": "  "}, "state_label_prefix"),
        ({"request_timeout_ms": 0}, "request_timeout_ms"),
        ({"api_key": 123}, "api_key"),
        ({"app_id": 1}, "private_key_path"),
        ({"app_id": "x", "private_key_path": "k.pem", "installation_id": 2}, "app_id"),
    ],
)
def test_bad_values_name_their_key(provider: dict[str, Any], key: str) -> None:
    tracker = TrackerConfig(kind="github", provider={"repository": "acme/app", **provider})
    if provider.get("repository", "x") is None:
        tracker = TrackerConfig(kind="github", provider={})
    with pytest.raises(TrackerConfigError) as info:
        parse_settings(tracker, ENV, require_secrets=False)
    assert info.value.key == f"tracker.provider.{key}"


def test_a_missing_token_is_a_missing_secret_unless_not_required() -> None:
    with pytest.raises(TrackerConfigError) as info:
        parse_settings(config(api_key="$MY_TOKEN"), {})
    assert info.value.code == MISSING_TRACKER_SECRET and "$MY_TOKEN" in info.value.message
    assert parse_settings(config(api_key="$MY_TOKEN"), {}, require_secrets=False).api_key is None
    with pytest.raises(TrackerConfigError, match="GITHUB_TOKEN"):
        parse_settings(config(), {})


def test_the_token_and_the_usual_variables_are_secret() -> None:
    settings = parse_settings(
        config(api_key="$MY_TOKEN", webhook_secret="$HOOK"), {"MY_TOKEN": "t1", "HOOK": "h1"}
    )
    assert settings.secret_environment_names == {"GITHUB_TOKEN", "GH_TOKEN", "MY_TOKEN", "HOOK"}
    assert settings.secret_values == {"t1", "h1"}
    with pytest.raises(TrackerConfigError, match=r"webhook_secret: refers to \$HOOK"):
        parse_settings(config(webhook_secret="$HOOK"), ENV)


def test_app_credentials_are_checked_together(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = tmp_path / "app.pem"
    pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    key.write_text(pem)
    app = {"app_id": "$APP_ID", "private_key_path": "app.pem", "installation_id": 42}
    settings = parse_settings(config(**app), {**ENV, "APP_ID": "12"}, workflow_dir=tmp_path)
    assert settings.app is not None
    assert (settings.app.app_id, settings.app.installation_id) == (12, 42)
    assert settings.app.private_key_path == key and settings.app.private_key == pem
    # The App, not an exported GITHUB_TOKEN; the key is a secret and never in a repr.
    assert settings.uses_app and settings.api_key is None
    assert pem in settings.secret_values and pem not in repr(settings)
    with pytest.raises(TrackerConfigError) as info:
        parse_settings(config(**app), {**ENV, "APP_ID": "12"}, workflow_dir=tmp_path / "x")
    assert info.value.key == "tracker.provider.private_key_path"
    assert info.value.code == MISSING_TRACKER_SECRET
    with pytest.raises(TrackerConfigError, match="not both") as info:
        parse_settings(
            config(api_key="$T", **app), {"APP_ID": "12", "T": "x"}, workflow_dir=tmp_path
        )
    assert info.value.key == "tracker.provider.api_key"
    key.write_text("-----BEGIN RSA PRIVATE KEY-----\n")
    with pytest.raises(TrackerConfigError, match="not a usable RSA private key"):
        parse_settings(config(**app), {"APP_ID": "12"}, workflow_dir=tmp_path)


def test_validate_and_create_through_the_profile(tmp_path: Path) -> None:
    PROFILE.validate(config(), workflow_dir=tmp_path, environ=ENV)
    with pytest.raises(TrackerConfigError):
        PROFILE.validate(config(), workflow_dir=tmp_path, environ={})
    PROFILE.validate(config(), workflow_dir=tmp_path, environ={}, require_secrets=False)
    adapter = PROFILE.create(config(), workflow_dir=tmp_path, environ={})
    assert adapter.kind == "github"


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ("", ("Done", "Closed")),
        ("  terminal_states: [Done, Cancelled]\n", ("Done", "Cancelled", "Closed")),
        ("  terminal_states: [Done, CLOSED]\n", ("Done", "CLOSED")),
    ],
)
def test_the_scheduler_sees_closed_as_terminal(
    tmp_path: Path, states: str, expected: tuple[str, ...]
) -> None:
    path = tmp_path / "WORKFLOW.md"
    path.write_text(
        "---\ntracker:\n  kind: github\n  provider:\n    repository: acme/app\n"
        f"{states}---\nWork on {{{{ issue.identifier }}}}.\n"
    )
    workflow = load_workflow_file(path, environ=ENV, resolver=resolve_tracker)
    assert workflow.config.tracker.terminal_states == expected
