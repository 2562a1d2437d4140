"""What the worker attempt needs from the Execution and Observability layers, as protocols.

The real implementations are ``symphony.workspace.WorkspaceManager``, the Codex session in
``symphony.agents.codex`` and ``symphony.observability.transcript.AgentLogs``; tests pass fakes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

from symphony.issue import Issue
from symphony.trackers.base import TrackerAdapter
from symphony.workflow.config import HooksConfig
from symphony.workflow.store import Workflow


class WorkspaceLike(Protocol):
    @property
    def path(self) -> Path: ...


class Workspaces(Protocol):
    async def prepare(
        self,
        issue: Issue,
        *,
        root: Path,
        hooks: HooksConfig,
        attempt: int | None,
        strip_env: frozenset[str] | None = None,
    ) -> Any: ...

    async def before_run(
        self,
        ws: Any,
        issue: Issue,
        *,
        hooks: HooksConfig,
        attempt: int | None,
        strip_env: frozenset[str] | None = None,
    ) -> None: ...

    async def after_run(
        self,
        ws: Any,
        issue: Issue,
        *,
        hooks: HooksConfig,
        attempt: int | None,
        strip_env: frozenset[str] | None = None,
    ) -> None: ...

    async def remove(
        self,
        identifier: str,
        *,
        root: Path,
        hooks: HooksConfig,
        issue: Issue | None = None,
        strip_env: frozenset[str] | None = None,
    ) -> bool: ...

    async def remove_path(
        self,
        path: Path,
        *,
        root: Path,
        hooks: HooksConfig,
        issue: Issue | None = None,
        strip_env: frozenset[str] | None = None,
    ) -> bool: ...

    async def remove_many(
        self,
        identifiers: Iterable[str],
        *,
        root: Path,
        hooks: HooksConfig,
        strip_env: frozenset[str] | None = None,
    ) -> list[str]: ...


class AgentEventLike(Protocol):
    """The fields the orchestrator reads from an agent event (SPEC §10.4)."""

    @property
    def event(self) -> str: ...
    @property
    def pid(self) -> int | None: ...
    @property
    def session_id(self) -> str | None: ...
    @property
    def thread_id(self) -> str | None: ...
    @property
    def turn_id(self) -> str | None: ...
    @property
    def message(self) -> str | None: ...
    @property
    def usage(self) -> Any: ...
    @property
    def rate_limits(self) -> Mapping[str, Any] | None: ...


class AgentSession(Protocol):
    async def run_turn(self, prompt: str, *, issue: Issue) -> Any: ...

    async def stop(self) -> None: ...


class SessionFactory(Protocol):
    """Starts one agent session in ``workspace``; tools and settings come from the snapshots."""

    async def __call__(
        self,
        *,
        workspace: Path,
        workflow: Workflow,
        adapter: TrackerAdapter,
        issue: Issue,
        on_event: Callable[[Any], None],
        transcript: Any | None,
    ) -> AgentSession: ...


class AgentLogSource(Protocol):
    """Per-issue agent transcripts (``AgentLogs``): one per attempt, listed for issue_detail."""

    def open(
        self, identifier: str, attempt: int | None = None, *, issue_id: str | None = None
    ) -> Any: ...

    def paths(self, identifier: str) -> tuple[tuple[str, str], ...]: ...


ContinuationPrompt = Callable[[int, int, Issue], str]
