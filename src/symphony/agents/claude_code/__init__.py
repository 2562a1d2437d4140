"""Claude Code backend: the ``claude`` CLI in stream-json mode (docs/agents/claude-code.md).

``BACKEND`` is what the ``symphony.agents`` entry point ``claude_code`` names.
"""

from symphony.agents.claude_code.backend import BACKEND, ClaudeCodeBackend
from symphony.agents.claude_code.permissions import PermissionPolicy
from symphony.agents.claude_code.protocol import ClaudeProtocol
from symphony.agents.claude_code.session import ClaudeCodeSession

__all__ = [
    "BACKEND",
    "ClaudeCodeBackend",
    "ClaudeCodeSession",
    "ClaudeProtocol",
    "PermissionPolicy",
]
