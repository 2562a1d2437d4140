"""Dynamic tools the agent can call (SPEC §10.5): specs, results and call context.

Trackers provide tools; the agent client advertises and executes them. Both sides meet here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from symphony.issue import Issue


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A dynamic tool advertised to the agent at ``thread/start``."""

    name: str
    description: str
    input_schema: Mapping[str, Any]

    def to_protocol(self) -> dict[str, Any]:
        return {
            "type": "function",
            "name": self.name,
            "description": self.description,
            "inputSchema": dict(self.input_schema),
        }


@dataclass(frozen=True, slots=True)
class ToolResult:
    """What a tool returns to the agent. ``output`` must be JSON-safe."""

    success: bool
    output: Any

    @classmethod
    def ok(cls, output: Any) -> ToolResult:
        return cls(True, output)

    @classmethod
    def fail(cls, message: str, **detail: Any) -> ToolResult:
        return cls(False, {"error": {"message": message, **detail}})

    def text(self) -> str:
        if isinstance(self.output, str):
            return self.output
        return json.dumps(self.output, indent=2, ensure_ascii=False, default=str)

    def to_protocol(self) -> dict[str, Any]:
        return {
            "success": self.success,
            "contentItems": [{"type": "inputText", "text": self.text()}],
        }


@dataclass(frozen=True, slots=True)
class ToolContext:
    """Execution context for one tool call: the session's current issue, never a credential."""

    issue: Issue
    extra: Mapping[str, Any] = field(default_factory=dict)


def unsupported_tool(name: str, supported: Sequence[str]) -> ToolResult:
    return ToolResult.fail(f"Unsupported dynamic tool: {name!r}.", supportedTools=list(supported))
