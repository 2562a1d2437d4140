"""Fixtures: Linear's published schema, a running fake Linear, adapters pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLSchema

from symphony.trackers.linear import PROFILE, LinearAdapter
from symphony.workflow.config import TrackerConfig
from tests.support.fake_linear import (
    SCHEMA_PATH,
    FakeLinear,
    load_linear_schema,
    schema_available,
)

KEY_VAR = "TEST_LINEAR_KEY"


@pytest.fixture(scope="session")
def linear_schema() -> GraphQLSchema:
    if not schema_available():
        pytest.skip(
            f"Linear's published schema is not at {SCHEMA_PATH}; the Linear adapter tests "
            "validate every query against it and cannot run without it"
        )
    return load_linear_schema()


@pytest.fixture
def linear(linear_schema: GraphQLSchema) -> Iterator[FakeLinear]:
    fake = FakeLinear(schema=linear_schema).start()
    try:
        yield fake
    finally:
        fake.stop()
    if not fake.rejections_expected:
        # A document real Linear would reject fails the test that sent it.
        details = [f"{r.operation}: {r.errors}" for r in fake.rejected]
        assert not fake.rejected, f"fake Linear rejected requests: {details}"


def tracker_config(provider: Mapping[str, Any], **fields: Any) -> TrackerConfig:
    return TrackerConfig(kind="linear", provider=dict(provider), **fields)


MakeAdapter = Callable[..., LinearAdapter]


@pytest.fixture
async def make_adapter(linear: FakeLinear, tmp_path: Path) -> AsyncIterator[MakeAdapter]:
    """Build adapters through ``PROFILE.create`` with a provider map pointed at the fake."""
    made: list[LinearAdapter] = []

    def make(
        *,
        environ: Mapping[str, str] | None = None,
        terminal_states: tuple[str, ...] | None = None,
        **provider: Any,
    ) -> LinearAdapter:
        settings = {
            "endpoint": linear.url,
            "project_slug": linear.project_slug,
            "api_key": f"${KEY_VAR}",
            "request_timeout_ms": 5_000,
            **provider,
        }
        env = {KEY_VAR: linear.api_key or ""} if environ is None else environ
        fields: dict[str, Any] = {}
        if terminal_states is not None:
            fields["terminal_states"] = list(terminal_states)
        adapter = PROFILE.create(
            tracker_config({k: v for k, v in settings.items() if v is not None}, **fields),
            workflow_dir=tmp_path,
            environ=env,
        )
        made.append(adapter)
        return adapter

    yield make
    for adapter in made:
        await adapter.aclose()
