"""Fixtures for workspace tests: a clean login environment, a root, issues and hook configs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from symphony.issue import Issue
from symphony.workspace import WorkspaceManager
from tests.workspace.support import SECRET_NAME, SECRET_VALUE, make_issue


@pytest.fixture
def home(tmp_path: Path) -> Path:
    # bash -l reads the login profile from HOME; an empty one keeps hooks fast and predictable.
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def base_env(home: Path) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "HOME": os.fspath(home), SECRET_NAME: SECRET_VALUE}


@pytest.fixture
def manager(base_env: dict[str, str]) -> WorkspaceManager:
    return WorkspaceManager(strip_env=frozenset({SECRET_NAME}), base_env=base_env, kill_grace_s=0.5)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "workspaces"


@pytest.fixture
def issue() -> Issue:
    return make_issue()
