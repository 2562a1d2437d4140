"""Coding-agent backends (Execution layer). Codex app-server is the one shipped backend.

The names re-exported here are what the worker uses; they do not depend on codex specifics
beyond the session class itself.
"""

from symphony.agents.codex import (
    AgentError,
    AgentEvent,
    CodexSession,
    TokenAccountant,
    TokenUsage,
    ToolExecutor,
    ToolRegistry,
    Transcript,
    TurnResult,
    continuation_guidance,
)
from symphony.agents.codex import errors as error_codes
from symphony.agents.codex import events as event_names

__all__ = [
    "AgentError",
    "AgentEvent",
    "CodexSession",
    "TokenAccountant",
    "TokenUsage",
    "ToolExecutor",
    "ToolRegistry",
    "Transcript",
    "TurnResult",
    "continuation_guidance",
    "error_codes",
    "event_names",
]
