"""Neutral tools in codex's wire format (app-server 0.169 dynamic tools, SPEC §10.5).

Trackers describe tools as ``ToolSpec`` and answer with ``ToolResult``; this is the only place
that knows how codex wants them: ``thread/start.dynamicTools`` entries and the result of an
``item/tool/call`` request.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from symphony.tools import ToolResult, ToolSpec


def dynamic_tool(spec: ToolSpec) -> dict[str, Any]:
    """One ``thread/start.dynamicTools`` entry."""
    return {
        "type": "function",
        "name": spec.name,
        "description": spec.description,
        "inputSchema": dict(spec.input_schema),
    }


def dynamic_tools(specs: Iterable[ToolSpec]) -> list[dict[str, Any]]:
    return [dynamic_tool(spec) for spec in specs]


def tool_call_result(result: ToolResult) -> dict[str, Any]:
    """The ``result`` answering an ``item/tool/call`` request: the output as one text item."""
    return {
        "success": result.success,
        "contentItems": [{"type": "inputText", "text": result.text()}],
    }
