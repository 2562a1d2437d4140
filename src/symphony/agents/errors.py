"""Agent errors (SPEC §10.6): one exception type for every backend, the spec's categories as codes.

A backend raises ``AgentError`` for every way a session or turn can fail; the worker turns it
into a failed attempt (``<stage>: [<code>] <message>``) and the core into a retry. Backends add
their own codes for failures only they have (``codex_not_found``, ``codex_not_authenticated``).
"""

from __future__ import annotations

from typing import Any

from symphony.errors import SymphonyError

INVALID_WORKSPACE_CWD = "invalid_workspace_cwd"
RESPONSE_TIMEOUT = "response_timeout"
TURN_TIMEOUT = "turn_timeout"
PORT_EXIT = "port_exit"
RESPONSE_ERROR = "response_error"
TURN_FAILED = "turn_failed"
TURN_CANCELLED = "turn_cancelled"
TURN_INPUT_REQUIRED = "turn_input_required"
SESSION_CLOSED = "session_closed"

# Codes of failures that come from this machine's setup, not from the issue: every run would
# fail the same way, so the orchestrator shows the problem once and pauses dispatch
# (core.outage). Backends add theirs with ``environment_codes``.
_ENVIRONMENT_CODES: set[str] = set()


def environment_codes(*codes: str) -> None:
    """Declare ``codes`` as environment failures (binary missing, no credentials...)."""
    _ENVIRONMENT_CODES.update(codes)


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

    @property
    def environment(self) -> bool:
        """The failure is this machine's setup, not the issue's (see ``environment_codes``)."""
        return self.code in _ENVIRONMENT_CODES

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.session_id is not None:
            out["session_id"] = self.session_id
        if self.details:
            out["details"] = self.details
        return out
