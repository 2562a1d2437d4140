"""``tracker.kind: local``: defaults, validation and construction (the adapter's static side)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from symphony.checks import Check
from symphony.trackers.doctor_rules import WorkflowStates
from symphony.trackers.local.adapter import LocalAdapter
from symphony.trackers.local.doctor import local_checks
from symphony.trackers.local.settings import (
    DEFAULT_ACTIVE_STATES,
    DEFAULT_TERMINAL_STATES,
    KIND,
    PROVIDER_SCHEMA,
    settings_from_tracker,
)
from symphony.workflow.config import TrackerConfig


class LocalProfile:
    kind = KIND
    # tracker.provider for editors (`symphony schema`; docs/extending/trackers.md).
    provider_schema = PROVIDER_SCHEMA
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

    async def doctor(
        self,
        tracker: TrackerConfig,
        *,
        workflow_dir: Path,
        environ: Mapping[str, str],
        states: WorkflowStates,
    ) -> Sequence[Check]:
        """``symphony doctor``: credentials, reachability and the workflow's states."""
        return local_checks(tracker, workflow_dir=workflow_dir, environ=environ, states=states)

    def create(
        self, tracker: TrackerConfig, *, workflow_dir: Path, environ: Mapping[str, str]
    ) -> LocalAdapter:
        return LocalAdapter(
            settings_from_tracker(tracker, workflow_dir=workflow_dir, environ=environ)
        )


PROFILE = LocalProfile()
