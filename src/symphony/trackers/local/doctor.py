"""``symphony doctor`` for the local board: its file readable (or creatable), its states."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Mapping
from pathlib import Path

from symphony.checks import Check
from symphony.errors import SymphonyError
from symphony.trackers.base import TrackerConfigError
from symphony.trackers.doctor_rules import WorkflowStates, state_check
from symphony.trackers.local.settings import settings_from_tracker
from symphony.trackers.local.store import BoardStore
from symphony.workflow.values import TrackerFields


def local_checks(
    tracker: TrackerFields,
    *,
    workflow_dir: Path,
    environ: Mapping[str, str],
    states: WorkflowStates,
) -> list[Check]:
    try:
        settings = settings_from_tracker(tracker, workflow_dir=workflow_dir, environ=environ)
    except TrackerConfigError as exc:
        return [Check.fail("local board", exc.message, "fix the key named (symphony validate)")]
    path = settings.db_path
    if path.exists():
        store = BoardStore(settings)
        try:
            count = len(store.list_issues(include_terminal=True))
        except (sqlite3.Error, OSError, SymphonyError) as exc:
            return [
                Check.fail(
                    "local board",
                    f"{path} cannot be read ({exc})",
                    f"move {path} away (a new, empty board is created at the next start)",
                )
            ]
        finally:
            store.close()
        board = Check.ok("local board", f"{path} ({count} issues)")
    else:
        parent = next((p for p in (path.parent, *path.parent.parents) if p.exists()), None)
        if parent is None or not os.access(parent, os.W_OK):
            return [
                Check.fail(
                    "local board",
                    f"{path} does not exist and cannot be created here",
                    "set tracker.provider.path to a file in a writable directory",
                )
            ]
        board = Check.ok("local board", f"{path} is created at the first start")
    return [
        board,
        state_check(
            "local board states",
            "the board",
            settings.states,
            states,
            fix="add the states to tracker.provider.states, or rename them in WORKFLOW.md",
        ),
    ]
