"""Fixtures: Linear's published schema, a running fake Linear, adapters pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from symphony.trackers.linear import PROFILE, LinearAdapter
from symphony.workflow.config import TrackerConfig
from tests.support.fake_linear import (
    FakeLinear,
)

KEY_VAR = "TEST_LINEAR_KEY"


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
