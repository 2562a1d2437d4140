"""Codex app-server client (SPEC §10): sans-IO protocol core, subprocess session, policy."""

from symphony.agents.codex.continuation import continuation_guidance
from symphony.agents.codex.errors import AgentError
from symphony.agents.codex.events import AgentEvent, TurnResult
from symphony.agents.codex.policy import SessionPolicy, default_turn_sandbox_policy, thread_title
from symphony.agents.codex.protocol import CodexProtocol
from symphony.agents.codex.session import CodexSession
from symphony.agents.codex.tools import ToolExecutor, ToolRegistry
from symphony.agents.codex.transcript import Transcript, TranscriptStream
from symphony.agents.codex.usage import TokenAccountant, TokenUsage

__all__ = [
    "AgentError",
    "AgentEvent",
    "CodexProtocol",
    "CodexSession",
    "SessionPolicy",
    "TokenAccountant",
    "TokenUsage",
    "ToolExecutor",
    "ToolRegistry",
    "Transcript",
    "TranscriptStream",
    "TurnResult",
    "continuation_guidance",
    "default_turn_sandbox_policy",
    "thread_title",
]
