"""Helpers shared by the workspace tests."""

from __future__ import annotations

from typing import Any

from symphony.issue import Issue
from symphony.workflow.config import HooksConfig

SECRET_NAME = "TRACKER_TEST_TOKEN"
SECRET_VALUE = "s3cret-value-for-tests"


def make_issue(identifier: str = "MT-1", **overrides: Any) -> Issue:
    fields: dict[str, Any] = {
        "id": f"id-{identifier}",
        "identifier": identifier,
        "title": f"Title of {identifier}",
        "state": "In Progress",
        "dispatchable": True,
        "url": f"https://tracker.invalid/{identifier}",
    }
    fields.update(overrides)
    return Issue(**fields)


def make_hooks(**scripts: Any) -> HooksConfig:
    return HooksConfig(**scripts)
