"""The ``harness`` fixture: every contract test runs once per tracker backend in HARNESSES."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.trackers.contract.harness import TrackerHarness
from tests.trackers.contract.harnesses import HARNESSES

# The adapters' own fixtures, which the harnesses build on (requested only by the harness in use).
from tests.trackers.github.conftest import github, github_schema, make_github_adapter  # noqa: F401
from tests.trackers.linear.conftest import make_adapter  # noqa: F401
from tests.trackers.local.conftest import settings, store  # noqa: F401


@pytest.fixture(params=HARNESSES, ids=lambda harness: harness.name())
def harness(request: pytest.FixtureRequest) -> Iterator[TrackerHarness]:
    backend: TrackerHarness = request.param.setup(request)
    yield backend
    backend.close()
