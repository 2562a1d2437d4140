"""``PROFILE`` for ``tracker.kind: github``: defaults, validation and construction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from symphony.checks import Check
from symphony.httpx_lean import httpx
from symphony.logs import register_secrets
from symphony.trackers.base import (
    ConversationReads,
    IssueConversation,
    IssueWrites,
    LinkedChanges,
    TrackerAdapter,
    TrackerProfile,
    WebhookSource,
)
from symphony.trackers.doctor_rules import WorkflowStates
from symphony.trackers.github.adapter import GitHubAdapter
from symphony.trackers.github.doctor import github_checks
from symphony.trackers.github.settings import (
    CLOSED_STATE,
    DEFAULT_ACTIVE_STATES,
    DEFAULT_TERMINAL_STATES,
    KIND,
    PROVIDER_SCHEMA,
    parse_settings,
)
from symphony.workflow.config import TrackerConfig


class GitHubProfile:
    kind = KIND
    # tracker.provider for editors (`symphony schema`; docs/extending/trackers.md).
    provider_schema = PROVIDER_SCHEMA
    default_active_states: tuple[str, ...] | None = DEFAULT_ACTIVE_STATES
    default_terminal_states: tuple[str, ...] | None = DEFAULT_TERMINAL_STATES
    # A closed issue is finished whatever its board or labels say (trackers/resolve.py).
    always_terminal_states: tuple[str, ...] = (CLOSED_STATE,)

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
        settings = parse_settings(
            tracker, environ, workflow_dir=workflow_dir, require_secrets=require_secrets
        )
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
        return await github_checks(
            tracker,
            workflow_dir=workflow_dir,
            environ=environ,
            states=states,
            transport=self._transport,
        )

    def create(
        self, tracker: TrackerConfig, *, workflow_dir: Path, environ: Mapping[str, str]
    ) -> GitHubAdapter:
        # A missing token is reported by each read (missing_tracker_secret), not at
        # construction, so a service can start, show the problem and pick up a fixed workflow.
        settings = parse_settings(
            tracker, environ, workflow_dir=workflow_dir, require_secrets=False
        )
        return GitHubAdapter(settings, transport=self._transport)


PROFILE = GitHubProfile()
# Static conformance checks (mypy): the registry and the orchestrator rely on these protocols.
_PROFILE_CONFORMS: TrackerProfile = PROFILE
_ADAPTER_CONFORMS: type[TrackerAdapter] = GitHubAdapter
_WRITES_CONFORM: type[IssueWrites] = GitHubAdapter
_CONVERSATION_CONFORMS: type[IssueConversation] = GitHubAdapter
_CONVERSATION_READS_CONFORM: type[ConversationReads] = GitHubAdapter
_WEBHOOKS_CONFORM: type[WebhookSource] = GitHubAdapter
_LINKED_CHANGES_CONFORM: type[LinkedChanges] = GitHubAdapter
