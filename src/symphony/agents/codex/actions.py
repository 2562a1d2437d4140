"""What the sans-IO protocol core asks its IO shell to do."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from symphony.agents.codex.server_requests import AskHuman
from symphony.agents.errors import AgentError
from symphony.agents.events import AgentEvent
from symphony.fastdata import record

RequestId = int | str


@dataclass(frozen=True, slots=True)
class Send:
    """A message to write to the app-server's stdin (one JSON line)."""

    message: dict[str, Any]


@record
class Emit:
    """An event for the orchestrator callback."""

    event: AgentEvent


@dataclass(frozen=True, slots=True)
class RunTool:
    """Execute a dynamic tool host-side, then report back with ``tool_finished``."""

    request_id: RequestId
    name: str
    arguments: Any
    call_id: str | None
    turn_id: str | None


@dataclass(frozen=True, slots=True)
class ParkRequest:
    """Hand codex's request to the human channel, then answer with ``human_answered``."""

    request_id: RequestId
    ask: AskHuman


@dataclass(frozen=True, slots=True)
class WithdrawRequest:
    """Codex settled a parked request itself (``serverRequest/resolved``, e.g. its turn was
    interrupted): stop waiting for the human and send no answer."""

    request_id: RequestId


@dataclass(frozen=True, slots=True)
class Resolved:
    """The answer to one of our requests arrived (``error`` set when it failed)."""

    request_id: RequestId
    method: str
    result: dict[str, Any] | None
    error: AgentError | None


@dataclass(frozen=True, slots=True)
class TurnEnded:
    """The active turn is over; ``error`` is None only for a completed turn."""

    turn_id: str | None
    status: str
    error: AgentError | None
    turn: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class HeldChatter:
    """A streaming fragment (a delta) was kept back instead of emitted: ask for it with
    ``CodexProtocol.take_chatter`` within ``CHATTER_HOLD_S``. Only the latest one is kept, so
    a burst of fragments reaches the orchestrator as one event. One instance: ``HELD``."""


HELD = HeldChatter()

Action = Send | Emit | RunTool | ParkRequest | WithdrawRequest | Resolved | TurnEnded | HeldChatter
