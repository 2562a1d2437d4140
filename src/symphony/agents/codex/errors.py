"""The codex backend's error codes: the neutral ones (``symphony.agents.errors``) plus its own."""

from __future__ import annotations

from typing import Any

from symphony.agents.errors import (
    INVALID_WORKSPACE_CWD,
    PORT_EXIT,
    RESPONSE_ERROR,
    RESPONSE_TIMEOUT,
    SESSION_CLOSED,
    TURN_CANCELLED,
    TURN_FAILED,
    TURN_INPUT_REQUIRED,
    TURN_TIMEOUT,
    AgentError,
    environment_codes,
)

CODEX_NOT_FOUND = "codex_not_found"
# Not a spec category: the preflight found no credentials for codex (see credentials.py).
CODEX_NOT_AUTHENTICATED = "codex_not_authenticated"
environment_codes(CODEX_NOT_FOUND, CODEX_NOT_AUTHENTICATED)

__all__ = [
    "CODEX_NOT_AUTHENTICATED",
    "CODEX_NOT_FOUND",
    "INVALID_WORKSPACE_CWD",
    "PORT_EXIT",
    "RESPONSE_ERROR",
    "RESPONSE_TIMEOUT",
    "SESSION_CLOSED",
    "TURN_CANCELLED",
    "TURN_FAILED",
    "TURN_INPUT_REQUIRED",
    "TURN_TIMEOUT",
    "AgentError",
    "turn_failure",
]


def turn_failure(
    status: str, reason: str | None, error: Any, session_id: str | None
) -> tuple[str, AgentError]:
    """Event name and error for a turn that ended with ``turn.status`` other than completed."""
    if status == "interrupted":
        code, event, text = TURN_CANCELLED, "turn_cancelled", "turn was interrupted"
    elif status == "failed":
        code, event, text = TURN_FAILED, "turn_failed", "turn failed"
    else:
        code, event = TURN_FAILED, "turn_ended_with_error"
        text = f"turn ended with unexpected status {status!r}"
    if reason:
        text = f"{text}: {reason}"
    details = {"status": status, "error": error}
    return event, AgentError(code, text, session_id=session_id, details=details)
