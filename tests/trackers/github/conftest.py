"""Fixtures: GitHub's published schema, a running fake GitHub that checks every request, and
adapters pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLSchema

from symphony.trackers.github import PROFILE, GitHubAdapter
from symphony.workflow.config import TrackerConfig
from tests.support.fake_github import (
    SCHEMA_PATH,
    FakeGitHub,
    load_github_schema,
    schema_available,
)


@pytest.fixture(scope="session")
def github_schema() -> GraphQLSchema:
    if not schema_available():
        pytest.skip(
            f"GitHub's published schema is not at {SCHEMA_PATH}; the fake GitHub validates "
            "every request against it and cannot run without it"
        )
    return load_github_schema()


@pytest.fixture
def github(github_schema: GraphQLSchema) -> Iterator[FakeGitHub]:
    fake = FakeGitHub(schema=github_schema).start()
    try:
        yield fake
    finally:
        fake.stop()
    if not fake.rejections_expected:
        # A document real GitHub would refuse fails the test that sent it.
        details = [f"{r.operation}: {r.errors}" for r in fake.rejected]
        assert not fake.rejected, f"fake GitHub rejected requests: {details}"


TOKEN_VAR = "TEST_GITHUB_TOKEN"
MakeAdapter = Callable[..., GitHubAdapter]


@pytest.fixture
async def make_github_adapter(github: FakeGitHub, tmp_path: Path) -> AsyncIterator[MakeAdapter]:
    """Build adapters through ``PROFILE.create`` with a provider map pointed at the fake.

    ``board=True`` reads states from board 1 of the repository's owner (``github.add_project``
    makes it); otherwise labels mode. Extra keywords are ``tracker.provider`` keys.
    """
    made: list[GitHubAdapter] = []

    def make(
        *,
        board: bool = False,
        environ: Mapping[str, str] | None = None,
        terminal_states: tuple[str, ...] | None = None,
        **provider: Any,
    ) -> GitHubAdapter:
        settings: dict[str, Any] = {
            "endpoint": github.url,
            "repository": github.repo.name_with_owner,
            "api_key": f"${TOKEN_VAR}",
            "request_timeout_ms": 5_000,
        }
        if board:
            settings |= {"project_owner": github.repo.owner, "project_number": 1}
        settings |= provider
        env = {TOKEN_VAR: github.token or ""} if environ is None else environ
        fields: dict[str, Any] = {}
        if terminal_states is not None:
            fields["terminal_states"] = list(terminal_states)
        config = TrackerConfig(
            kind="github",
            provider={k: v for k, v in settings.items() if v is not None},
            **fields,
        )
        adapter = PROFILE.create(config, workflow_dir=tmp_path, environ=env)
        made.append(adapter)
        return adapter

    yield make
    for adapter in made:
        await adapter.aclose()
