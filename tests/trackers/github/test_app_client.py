"""The adapter authenticated as a GitHub App: installation tokens from the fake GitHub, renewed
across their expiry and replaced once after a 401."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from symphony.logs import REDACTOR
from symphony.trackers.base import MISSING_TRACKER_SECRET, TRACKER_STATUS, TrackerError
from symphony.trackers.github import GitHubAdapter, parse_settings
from symphony.trackers.github.app_auth import REFRESH_MARGIN_S
from symphony.workflow.config import TrackerConfig
from tests.support.fake_github import INSTALLATION_TOKEN_LIFETIME_S, FakeGitHub

NOW = 1_780_000_000.0
APP_ID = "12345"
INSTALLATION = 678


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def pem_path(key: rsa.RSAPrivateKey, tmp_path: Path) -> Path:
    path = tmp_path / "app.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return path


@pytest.fixture
def clock(github: FakeGitHub, key: rsa.RSAPrivateKey) -> Clock:
    clock = Clock()
    github.install_app(APP_ID, key.public_key(), INSTALLATION, clock=clock)
    return clock


def app_adapter(github: FakeGitHub, pem_path: Path, clock: Clock) -> GitHubAdapter:
    config = TrackerConfig(
        kind="github",
        provider={
            "endpoint": github.url,
            "repository": github.repo.name_with_owner,
            "project_owner": github.repo.owner,
            "project_number": 1,
            "app_id": APP_ID,
            "private_key_path": pem_path.name,
            "installation_id": INSTALLATION,
            "request_timeout_ms": 5_000,
        },
    )
    # An exported personal token does not take over from the App the workflow names.
    settings = parse_settings(
        config, {"GITHUB_TOKEN": "ghp_personal"}, workflow_dir=pem_path.parent
    )
    assert settings.uses_app and settings.api_key is None
    return GitHubAdapter(settings, wall_clock=clock)


def tokens_used(github: FakeGitHub) -> list[str]:
    return [r.headers["authorization"].partition(" ")[2] for r in github.requests]


async def test_a_board_is_read_with_an_installation_token_renewed_before_it_expires(
    github: FakeGitHub, pem_path: Path, clock: Clock
) -> None:
    github.token = "ghp_not_given_to_symphony"
    board = github.add_project("acme", 1)
    issue = github.add_issue("Fix login")
    github.add_item(board, issue, status="Todo")
    adapter = app_adapter(github, pem_path, clock)
    try:
        [found] = await adapter.fetch_issues_by_states(["Todo"])
        assert found.id == issue.id
        await adapter.fetch_issues_by_ids([issue.id])
        assert github.app is not None
        [first] = github.app.tokens
        assert set(tokens_used(github)) == {first}
        # The private key and every installation token are redacted from logs.
        assert REDACTOR.redact(first) == "[REDACTED]"
        assert "[REDACTED]" in REDACTOR.redact(pem_path.read_text())

        # Just inside the renewal margin: the next request goes out with a new token.
        clock.now += INSTALLATION_TOKEN_LIFETIME_S - REFRESH_MARGIN_S + 1
        await adapter.fetch_issues_by_ids([issue.id])
        assert len(github.app.tokens) == 2
        second = tokens_used(github)[-1]
        assert second != first and second in github.app.tokens
        assert not github.rejected
    finally:
        await adapter.aclose()


async def test_a_revoked_installation_token_is_replaced_once(
    github: FakeGitHub, pem_path: Path, clock: Clock
) -> None:
    board = github.add_project("acme", 1)
    issue = github.add_issue("Fix login")
    github.add_item(board, issue, status="Todo")
    adapter = app_adapter(github, pem_path, clock)
    try:
        await adapter.fetch_issues_by_ids([issue.id])
        github.revoke_installation_tokens()
        [found] = await adapter.fetch_issues_by_ids([issue.id])
        assert found.id == issue.id
        assert github.app is not None and len(github.app.tokens) == 2
        assert [r.status for r in github.requests[-2:]] == [401, 200]
    finally:
        await adapter.aclose()


async def test_a_token_refused_twice_fails_the_read_naming_the_app(
    github: FakeGitHub, pem_path: Path, clock: Clock
) -> None:
    board = github.add_project("acme", 1)
    issue = github.add_issue("Fix login")
    github.add_item(board, issue, status="Todo")
    adapter = app_adapter(github, pem_path, clock)
    assert github.app is not None
    # Every token the fake issues is refused: GitHub took the App's access away.
    github.app.revoked = _Everything()
    try:
        with pytest.raises(TrackerError) as info:
            await adapter.fetch_issues_by_ids([issue.id])
        assert info.value.category == TRACKER_STATUS and info.value.status == 401
        assert f"App {APP_ID}" in info.value.message
        assert [r.status for r in github.requests] == [401, 401]
        assert len(github.app.tokens) == 2
    finally:
        await adapter.aclose()


async def test_a_missing_private_key_fails_each_read_as_a_missing_secret(
    github: FakeGitHub, pem_path: Path, clock: Clock
) -> None:
    adapter = app_adapter(github, pem_path, clock)
    pem_path.unlink()
    missing = GitHubAdapter(
        parse_settings(
            TrackerConfig(
                kind="github",
                provider={
                    "endpoint": github.url,
                    "repository": "acme/app",
                    "app_id": APP_ID,
                    "private_key_path": str(pem_path),
                    "installation_id": INSTALLATION,
                },
            ),
            {},
            require_secrets=False,
        )
    )
    try:
        with pytest.raises(TrackerError) as info:
            await missing.fetch_issues_by_states(["Todo"])
        assert info.value.category == MISSING_TRACKER_SECRET
        assert "app.pem" in info.value.message
        assert not github.requests
    finally:
        await adapter.aclose()
        await missing.aclose()


class _Everything(set[str]):
    def __contains__(self, item: object) -> bool:
        return True
