"""Dynamic tools the agent can call (SPEC §10.5): specs, results and call context.

Trackers provide tools; the agent backend advertises and executes them. Both sides meet here, in
neutral terms: each backend translates specs and results to its own wire format (Codex dynamic
tools in ``symphony.agents.codex.tools``; MCP for others).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from symphony.issue import Issue


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool advertised to the agent when its session starts; ``input_schema`` is JSON Schema."""

    name: str
    description: str
    input_schema: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ToolResult:
    """What a tool returns to the agent. ``output`` must be JSON-safe."""

    success: bool
    output: Any
    # The call changed the tracker (a move, a comment, a mutation): progress, for the
    # unproductive-turn check (docs/holds.md). Reads leave it False.
    wrote: bool = False

    @classmethod
    def ok(cls, output: Any) -> ToolResult:
        return cls(True, output)

    @classmethod
    def written(cls, output: Any) -> ToolResult:
        """A successful call that changed the tracker."""
        return cls(True, output, wrote=True)

    @classmethod
    def fail(cls, message: str, **detail: Any) -> ToolResult:
        return cls(False, {"error": {"message": message, **detail}})

    def text(self) -> str:
        """The output as the agent reads it: a string as is, anything else as indented JSON."""
        if isinstance(self.output, str):
            return self.output
        return json.dumps(self.output, indent=2, ensure_ascii=False, default=str)


@dataclass(frozen=True, slots=True)
class ToolContext:
    """Execution context for one tool call: the session's current issue, never a credential."""

    issue: Issue
    extra: Mapping[str, Any] = field(default_factory=dict)


# Runs one call host-side: (tool name, arguments as the agent sent them, context) -> result.
ToolExecutor = Callable[[str, Any, ToolContext], Awaitable[ToolResult]]


def unsupported_tool(name: str, supported: Sequence[str]) -> ToolResult:
    return ToolResult.fail(f"Unsupported dynamic tool: {name!r}.", supportedTools=list(supported))
