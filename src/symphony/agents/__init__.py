"""Coding-agent backends (Execution layer) behind one neutral contract (``base.py``).

Codex app-server (``agents/codex``) and Claude Code (``agents/claude_code``) are the shipped
backends; ``registry.py`` maps ``agent.kind`` to a backend. Importing this package imports no
backend.
"""

from symphony.agents.base import (
    AgentBackend,
    AgentSession,
    EventSink,
    HumanChannel,
    TurnOutcome,
)
from symphony.agents.continuation import continuation_guidance
from symphony.agents.errors import AgentError
from symphony.agents.events import AgentEvent
from symphony.agents.tools import ToolRegistry
from symphony.agents.transcript import Transcript, TranscriptStream

__all__ = [
    "AgentBackend",
    "AgentError",
    "AgentEvent",
    "AgentSession",
    "EventSink",
    "HumanChannel",
    "ToolRegistry",
    "Transcript",
    "TranscriptStream",
    "TurnOutcome",
    "continuation_guidance",
]
