"""What the worker attempt needs from the Execution and Observability layers, as protocols.

The real implementations are ``symphony.workspace.WorkspaceManager``, the agent backend the
composition root selects by ``agent.kind`` (``symphony.agents.registry``) and
``symphony.observability.transcript.AgentLogs``; tests pass fakes. The agent contract itself is
``symphony.agents.base``: the orchestrator never knows which backend runs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from symphony.agents.base import AgentBackend
from symphony.issue import Issue
from symphony.workflow.config import HooksConfig
from symphony.workflow.store import Workflow
from symphony.workspace.hooks import HookResult
from symphony.workspace.proof import GitProof


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

    async def verify(
        self,
        ws: Any,
        issue: Issue,
        *,
        hooks: HooksConfig,
        attempt: int | None,
        strip_env: frozenset[str] | None = None,
    ) -> HookResult | None: ...

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
        identifier: str | None = None,
    ) -> bool: ...


@runtime_checkable
class AdoptingWorkspaces(Protocol):
    """Workspaces that can make a best-of candidate's workspace the issue's (docs/best-of.md)."""

    async def adopt(
        self,
        from_identifier: str,
        to_identifier: str,
        *,
        root: Path,
        hooks: HooksConfig,
        strip_env: frozenset[str] | None = None,
    ) -> Path: ...


@runtime_checkable
class GitProofs(Protocol):
    """Workspaces whose git proof of work is read where they are: on an SSH worker host
    (``RemoteWorkspaces``, docs/workers.md). Others are read here (``collect_git_proof``)."""

    async def git_proof(self, ws: Any, base: str | None) -> GitProof: ...


class AgentLogSource(Protocol):
    """Per-issue agent transcripts (``AgentLogs``): one per attempt, listed for issue_detail."""

    def open(
        self, identifier: str, attempt: int | None = None, *, issue_id: str | None = None
    ) -> Any: ...

    def paths(self, identifier: str) -> tuple[tuple[str, str], ...]: ...


# The backend an attempt runs under: chosen from the workflow snapshot it was dispatched with, so
# a reload that changes ``agent.kind`` applies to the next attempt, never to a running one.
BackendSelector = Callable[[Workflow], AgentBackend]
