"""Codex app-server backend (SPEC §10): sans-IO protocol core, subprocess session, policy.

``BACKEND`` is what the ``symphony.agents`` entry point ``codex`` names.
"""

from symphony.agents.codex.backend import BACKEND, CodexBackend
from symphony.agents.codex.policy import SessionPolicy, default_turn_sandbox_policy, thread_title
from symphony.agents.codex.protocol import CodexProtocol
from symphony.agents.codex.session import CodexSession

__all__ = [
    "BACKEND",
    "CodexBackend",
    "CodexProtocol",
    "CodexSession",
    "SessionPolicy",
    "default_turn_sandbox_policy",
    "thread_title",
]
