"""Agent errors (SPEC §10.6): one exception type, the spec's normalized categories as codes."""

from __future__ import annotations

from typing import Any

from symphony.errors import SymphonyError

CODEX_NOT_FOUND = "codex_not_found"
# Not a spec category: the preflight found no credentials for codex (see credentials.py).
CODEX_NOT_AUTHENTICATED = "codex_not_authenticated"
INVALID_WORKSPACE_CWD = "invalid_workspace_cwd"
RESPONSE_TIMEOUT = "response_timeout"
TURN_TIMEOUT = "turn_timeout"
PORT_EXIT = "port_exit"
RESPONSE_ERROR = "response_error"
TURN_FAILED = "turn_failed"
TURN_CANCELLED = "turn_cancelled"
TURN_INPUT_REQUIRED = "turn_input_required"
SESSION_CLOSED = "session_closed"

AGENT_ERROR_CODES = frozenset(
    {
        CODEX_NOT_FOUND,
        CODEX_NOT_AUTHENTICATED,
        INVALID_WORKSPACE_CWD,
        RESPONSE_TIMEOUT,
        TURN_TIMEOUT,
        PORT_EXIT,
        RESPONSE_ERROR,
        TURN_FAILED,
        TURN_CANCELLED,
        TURN_INPUT_REQUIRED,
        SESSION_CLOSED,
    }
)


class AgentError(SymphonyError):
    """A coding-agent session or turn failed; the worker attempt fails and is retried.

    ``details`` is JSON-safe protocol context (the failing response's error object, the turn's
    ``error`` payload, the exit status) for logs and the issue detail view.
    """

    code = PORT_EXIT

    def __init__(
        self,
        code: str,
        message: str,
        *,
        session_id: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.session_id = session_id
        self.details: dict[str, Any] = dict(details or {})

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.session_id is not None:
            out["session_id"] = self.session_id
        if self.details:
            out["details"] = self.details
        return out


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
