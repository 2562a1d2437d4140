"""Fixtures for the end-to-end suite: a fake model server and a project around it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Project, require_codex
from tests.support.fake_model import FakeModelServer


@pytest.fixture
def codex_bin() -> Path:
    """The real codex binary; the test is skipped (with the path) when it is not installed."""
    return require_codex()


@pytest.fixture
def model() -> Iterator[FakeModelServer]:
    """A fake Responses API on 127.0.0.1; script it or set ``model.responder``."""
    with FakeModelServer() as server:
        yield server


@pytest.fixture
def project(tmp_path: Path, model: FakeModelServer, codex_bin: Path) -> Iterator[Project]:
    """A temp project wired to ``model``; every service it started is killed in teardown."""
    proj = Project(tmp_path / "project", model_base_url=model.base_url, codex_bin=codex_bin)
    try:
        yield proj
    finally:
        proj.close()
