"""``PROFILE`` for ``tracker.kind: linear``: defaults, validation and construction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from symphony.checks import Check
from symphony.httpx_lean import httpx
from symphony.logs import register_secrets
from symphony.trackers.base import (
    ConversationReads,
    TrackerAdapter,
    TrackerProfile,
    WebhookSource,
)
from symphony.trackers.doctor_rules import WorkflowStates
from symphony.trackers.linear.adapter import LinearAdapter
from symphony.trackers.linear.doctor import linear_checks
from symphony.trackers.linear.settings import (
    DEFAULT_ACTIVE_STATES,
    DEFAULT_TERMINAL_STATES,
    KIND,
    PROVIDER_SCHEMA,
    parse_settings,
)
from symphony.workflow.config import TrackerConfig


class LinearProfile:
    kind = KIND
    # tracker.provider for editors (`symphony schema`; docs/extending/trackers.md).
    provider_schema = PROVIDER_SCHEMA
    default_active_states: tuple[str, ...] | None = DEFAULT_ACTIVE_STATES
    default_terminal_states: tuple[str, ...] | None = DEFAULT_TERMINAL_STATES

    def __init__(self, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._transport = transport

    def validate(
        self,
        tracker: TrackerConfig,
        *,
        workflow_dir: Path,
        environ: Mapping[str, str],
        require_secrets: bool = True,
    ) -> None:
        settings = parse_settings(tracker, environ, require_secrets=require_secrets)
        register_secrets(settings.secret_values)

    async def doctor(
        self,
        tracker: TrackerConfig,
        *,
        workflow_dir: Path,
        environ: Mapping[str, str],
        states: WorkflowStates,
    ) -> Sequence[Check]:
        """``symphony doctor``: credentials, reachability and the workflow's states."""
        return await linear_checks(
            tracker, environ=environ, states=states, transport=self._transport
        )

    def create(
        self, tracker: TrackerConfig, *, workflow_dir: Path, environ: Mapping[str, str]
    ) -> LinearAdapter:
        # A missing key is reported by each read (missing_tracker_secret), not at construction,
        # so a service can start, show the problem and pick up a fixed workflow on reload.
        settings = parse_settings(tracker, environ, require_secrets=False)
        return LinearAdapter(settings, transport=self._transport)


PROFILE = LinearProfile()
# Static conformance checks (mypy): the registry and the orchestrator rely on these protocols.
_PROFILE_CONFORMS: TrackerProfile = PROFILE
_ADAPTER_CONFORMS: type[TrackerAdapter] = LinearAdapter
_CONVERSATION_CONFORMS: type[ConversationReads] = LinearAdapter
_WEBHOOKS_CONFORM: type[WebhookSource] = LinearAdapter
