"""``tracker.kind: local``: defaults, validation and construction (the adapter's static side)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from symphony.trackers.local.adapter import LocalAdapter
from symphony.trackers.local.settings import (
    DEFAULT_ACTIVE_STATES,
    DEFAULT_TERMINAL_STATES,
    KIND,
    settings_from_tracker,
)
from symphony.workflow.config import TrackerConfig


class LocalProfile:
    kind = KIND
    default_active_states: tuple[str, ...] | None = DEFAULT_ACTIVE_STATES
    default_terminal_states: tuple[str, ...] | None = DEFAULT_TERMINAL_STATES

    def validate(
        self,
        tracker: TrackerConfig,
        *,
        workflow_dir: Path,
        environ: Mapping[str, str],
        require_secrets: bool = True,
    ) -> None:
        # No secrets: the board is a file beside the workflow. Nothing is created here.
        settings_from_tracker(tracker, workflow_dir=workflow_dir, environ=environ)

    def create(
        self, tracker: TrackerConfig, *, workflow_dir: Path, environ: Mapping[str, str]
    ) -> LocalAdapter:
        return LocalAdapter(
            settings_from_tracker(tracker, workflow_dir=workflow_dir, environ=environ)
        )


PROFILE = LocalProfile()
