"""Find a board: from a workflow's ``tracker`` section, or straight from a database file.

The CLI (and anything else outside the service, such as a dashboard) opens boards through here so
that it agrees with the service about path, prefix and states.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from symphony.trackers.base import TrackerConfigError
from symphony.trackers.local.errors import BoardError
from symphony.trackers.local.settings import KIND, BoardSettings, settings_from_tracker
from symphony.trackers.local.store import BoardStore
from symphony.workflow.errors import ConfigError
from symphony.workflow.loader import load_workflow
from symphony.workflow.values import read_tracker_section


def settings_for_workflow(path: Path, environ: Mapping[str, str] | None = None) -> BoardSettings:
    """Board settings from ``WORKFLOW.md``; raises a ``SymphonyError`` naming file and key."""
    env = os.environ if environ is None else environ
    definition = load_workflow(path)
    source = str(path)
    tracker = read_tracker_section(definition.config.get("tracker"), source=source)
    if tracker.kind != KIND:
        found = "no tracker.kind" if tracker.kind is None else f"tracker.kind {tracker.kind!r}"
        raise BoardError(
            f"{path} has {found}; `symphony board` manages the local board "
            "(tracker.kind: local). Pass --workflow with a local-board workflow, or --db with "
            "a board file."
        )
    try:
        return settings_from_tracker(tracker, workflow_dir=path.parent, environ=env)
    except TrackerConfigError as exc:
        error = ConfigError([(exc.key, exc.message.removeprefix(f"{exc.key}: "))], source=source)
        error.code = exc.code
        raise error from None


def open_workflow_board(path: Path, environ: Mapping[str, str] | None = None) -> BoardStore:
    store = BoardStore(settings_for_workflow(path, environ))
    store.remember_settings()
    return store


def open_db_board(path: Path, *, create: bool) -> BoardStore:
    """A board file used directly: it runs with the settings it last ran with (or defaults)."""
    if not path.exists() and not create:
        raise BoardError(
            f"no board at {path}; check the path (a new board is created by `add`, or pass "
            "--workflow to use the board your workflow configures)"
        )
    probe = BoardStore(BoardSettings(db_path=path))
    try:
        stored = probe.stored_settings()
    finally:
        probe.close()
    return BoardStore(BoardSettings.from_meta(path, stored))
