"""Helpers shared by the workspace tests."""

from __future__ import annotations

import os
from pathlib import Path
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


def alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie (killed, not yet reaped) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:
        state = stat.read_text().rsplit(")", 1)[-1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"
