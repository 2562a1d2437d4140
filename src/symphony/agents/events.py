"""The agent events every backend emits and the worker consumes (SPEC §10.4).

Backends map their protocol messages to ``AgentEvent`` (Codex: ``codex/protocol.py``); the worker
turns each one into the core's ``AgentUpdate`` and hands it to the runtime's listeners. Nothing
upstream knows which backend produced an event.
"""

from __future__ import annotations

from dataclasses import field
from datetime import datetime
from typing import Any, Final

from symphony.fastdata import record
from symphony.usage import TokenUsage

# Event names. The orchestrator and the dashboards may rely on these strings; never rename one.
SESSION_STARTED: Final = "session_started"
STARTUP_FAILED: Final = "startup_failed"
TURN_COMPLETED: Final = "turn_completed"
TURN_FAILED: Final = "turn_failed"
TURN_CANCELLED: Final = "turn_cancelled"
TURN_ENDED_WITH_ERROR: Final = "turn_ended_with_error"
TURN_INPUT_REQUIRED: Final = "turn_input_required"
APPROVAL_AUTO_APPROVED: Final = "approval_auto_approved"
APPROVAL_DECLINED: Final = "approval_declined"
# A request parked for a human (docs/human-requests.md), its answer, and operator guidance.
HUMAN_REQUEST: Final = "human_request"
HUMAN_REQUEST_ANSWERED: Final = "human_request_answered"
STEERED: Final = "steered"
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


@record
class AgentEvent:
    """One thing that happened in an agent session.

    ``session_id`` changes once per turn (the core counts turns by it); ``thread_id`` names the
    conversation the turns share. ``pid`` is the agent process Symphony started. ``message`` is a
    short human summary for dashboards (never parse it). ``usage`` carries the thread's
    *absolute* token totals when the event has them (the core counts the growth).
    ``rate_limits`` is the provider's latest snapshot, as sent. ``payload`` is the decoded
    protocol message (or a small dict for client-side events), for transcripts and debugging only.
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
    # The model the session runs, when the protocol names it (session start).
    model: str | None = None
    # What the agent reports this event's work cost in USD: an increment, never a running total.
    cost_usd: float | None = None
    payload: dict[str, Any] = field(default_factory=dict)
