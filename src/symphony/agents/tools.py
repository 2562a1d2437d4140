"""Dynamic tools bound to one agent session (SPEC §10.5), for every backend.

A ``ToolRegistry`` is a snapshot: the tool specs and the executor are fixed when it is built, so
a workflow reload never makes a running session advertise one adapter and execute another. Calls
run host-side (with the adapter's credential, never the child's environment), under a timeout,
and never raise: every failure becomes a structured ``ToolResult.fail`` the agent can read.
Each backend advertises ``specs`` and returns results in its own wire format (Codex:
``agents/codex/tools.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from symphony.logs import get_logger
from symphony.tools import ToolContext, ToolExecutor, ToolResult, ToolSpec, unsupported_tool

DEFAULT_TOOL_TIMEOUT_S = 120.0

log = get_logger("symphony.agents.tools")


class ToolRegistry:
    """The tools one session advertises to the agent and executes when the agent calls them."""

    def __init__(
        self,
        specs: Sequence[ToolSpec] = (),
        executor: ToolExecutor | None = None,
        *,
        timeout_s: float = DEFAULT_TOOL_TIMEOUT_S,
    ) -> None:
        names = [spec.name for spec in specs]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate dynamic tool names: {', '.join(duplicates)}")
        if specs and executor is None:
            raise ValueError("a ToolRegistry with tools needs an executor")
        if timeout_s <= 0:
            raise ValueError("tool timeout must be positive")
        self._specs: tuple[ToolSpec, ...] = tuple(specs)
        self._executor = executor
        self.timeout_s = timeout_s

    @classmethod
    def empty(cls) -> ToolRegistry:
        return cls()

    @property
    def specs(self) -> tuple[ToolSpec, ...]:
        return self._specs

    @property
    def names(self) -> frozenset[str]:
        return frozenset(spec.name for spec in self._specs)

    async def execute(self, name: str, arguments: Any, context: ToolContext) -> ToolResult:
        """Run one call; unknown names, exceptions and timeouts become failure results."""
        if name not in self.names or self._executor is None:
            return unsupported_tool(name, sorted(self.names))
        try:
            async with asyncio.timeout(self.timeout_s):
                result: Any = await self._executor(name, arguments, context)
        except TimeoutError:
            # The issue fields come from the worker's log context.
            log.warning("dynamic tool timed out", tool=name, timeout_s=self.timeout_s)
            return ToolResult.fail(
                f"Tool {name!r} did not finish within {self.timeout_s:g}s and was abandoned.",
                tool=name,
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("dynamic tool raised", tool=name, error=f"{type(exc).__name__}: {exc}")
            return ToolResult.fail(
                f"Tool {name!r} failed inside Symphony: {type(exc).__name__}: {exc}", tool=name
            )
        if not isinstance(result, ToolResult):  # an adapter bug must not break the session
            return ToolResult.fail(
                f"Tool {name!r} returned {type(result).__name__}, not a ToolResult.", tool=name
            )
        return result
