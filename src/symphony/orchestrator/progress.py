"""Whether an agent's turn got anywhere: the workspace changed or a tracker write succeeded.

The worker measures every turn (``agent.max_unproductive_turns`` > 0) and reports it to the core
as ``TurnMeasured``; the core counts unproductive turns in a row and holds the issue at the limit
(docs/holds.md). Each turn is compared with the workspace as it was when that turn started.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from symphony.logs import get_logger
from symphony.tools import ToolContext, ToolExecutor, ToolResult
from symphony.workspace.fingerprint import fingerprint

log = get_logger("symphony.orchestrator.worker")


class TrackerWrites:
    """A session's tool executor that counts the calls that changed the tracker."""

    def __init__(self, execute: ToolExecutor) -> None:
        self._execute = execute
        self.count = 0

    async def __call__(self, name: str, arguments: Any, context: ToolContext) -> ToolResult:
        result = await self._execute(name, arguments, context)
        if isinstance(result, ToolResult) and result.success and result.wrote:
            self.count += 1
        return result


class Progress:
    def __init__(
        self,
        workspace: Path,
        writes: TrackerWrites,
        digest: Callable[[], Awaitable[str | None]] | None = None,
    ) -> None:
        self._workspace = workspace
        self._writes = writes
        # How the workspace is read: here by default; a worker host's over SSH.
        self._remote_digest = digest
        self._before: str | None = None
        self._writes_before = 0

    async def turn_started(self) -> None:
        self._writes_before = self._writes.count
        self._before = await self._digest()

    async def turn_ended(self) -> bool:
        if self._writes.count > self._writes_before:
            return True
        after = await self._digest()
        # Unknown either side (the workspace could not be read): never count against the agent.
        return self._before is None or after is None or after != self._before

    async def _digest(self) -> str | None:
        if self._remote_digest is not None:
            return await self._remote_digest()
        try:
            return await fingerprint(self._workspace)
        except OSError as exc:
            log.warning("workspace fingerprint failed", error=str(exc))
            return None
