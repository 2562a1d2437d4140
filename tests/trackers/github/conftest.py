"""Fixtures: GitHub's published schema and a running fake GitHub that checks every request."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from graphql import GraphQLSchema

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
