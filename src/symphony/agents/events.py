"""Runtime events the agent client emits upstream (SPEC §10.4)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from symphony.agents.codex.usage import TokenUsage
from symphony.issue import format_timestamp

# Event names. The orchestrator may rely on these strings; never rename one.
SESSION_STARTED: Final = "session_started"
STARTUP_FAILED: Final = "startup_failed"
TURN_COMPLETED: Final = "turn_completed"
TURN_FAILED: Final = "turn_failed"
TURN_CANCELLED: Final = "turn_cancelled"
TURN_ENDED_WITH_ERROR: Final = "turn_ended_with_error"
TURN_INPUT_REQUIRED: Final = "turn_input_required"
APPROVAL_AUTO_APPROVED: Final = "approval_auto_approved"
APPROVAL_DECLINED: Final = "approval_declined"
TOOL_CALL_STARTED: Final = "tool_call_started"
TOOL_CALL_COMPLETED: Final = "tool_call_completed"
TOOL_CALL_FAILED: Final = "tool_call_failed"
UNSUPPORTED_TOOL_CALL: Final = "unsupported_tool_call"
UNSUPPORTED_REQUEST: Final = "unsupported_request"
TOKEN_USAGE_UPDATED: Final = "token_usage_updated"  # noqa: S105 (an event name)
RATE_LIMITS_UPDATED: Final = "rate_limits_updated"
NOTIFICATION: Final = "notification"
OTHER_MESSAGE: Final = "other_message"
MALFORMED: Final = "malformed"


@dataclass(frozen=True, slots=True)
class AgentEvent:
    """One thing that happened in an agent session.

    ``message`` is a short human summary for dashboards (never parse it); ``usage`` carries the
    thread's *absolute* token totals when the event has them (feed it to a ``TokenAccountant``);
    ``payload`` is the decoded protocol message (or a small dict for client-side events).
    """

    event: str
    timestamp: datetime
    pid: int | None
    session_id: str | None = None
    thread_id: str | None = None
    turn_id: str | None = None
    message: str | None = None
    usage: TokenUsage | None = None
    rate_limits: dict[str, Any] | None = None
    payload: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe view (timestamps as RFC 3339 UTC strings)."""
        return {
            "event": self.event,
            "timestamp": format_timestamp(self.timestamp),
            "codex_app_server_pid": self.pid,
            "session_id": self.session_id,
            "thread_id": self.thread_id,
            "turn_id": self.turn_id,
            "message": self.message,
            "usage": self.usage.to_dict() if self.usage is not None else None,
            "rate_limits": self.rate_limits,
            "payload": self.payload,
        }


@dataclass(frozen=True, slots=True)
class TurnResult:
    """A turn that completed normally (every other ending raises ``AgentError``)."""

    thread_id: str
    turn_id: str
    session_id: str
    turn_number: int
    status: str
    usage: TokenUsage | None  # absolute thread totals when the turn ended
    usage_delta: TokenUsage  # what this turn added to the thread totals
    last_message: str | None
    duration_ms: int
