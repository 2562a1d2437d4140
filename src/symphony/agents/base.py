"""The agent-backend contract: what the worker needs from a coding agent, in neutral terms.

A backend (Codex app-server, Claude Code) is one object, registered under its
``agent.kind`` through the ``symphony.agents`` entry-point group (``agents/registry.py``). The
worker asks it for a session in a prepared workspace, runs turns on that session and stops it;
it never learns which backend runs. Everything crossing the seam is neutral:

- tools go in as a ``ToolRegistry`` (``ToolSpec`` list + executor bound to the tracker adapter);
  the backend advertises them and answers tool calls in its own wire format;
- events come out as ``AgentEvent`` (``agents/events.py``), token usage as absolute thread
  totals in ``TokenUsage``;
- failures are ``AgentError`` (``agents/errors.py``);
- what the agent asks a human goes out as a ``HumanRequest`` through the session's
  ``HumanChannel`` and comes back as a ``HumanAnswer`` (``symphony.human``); operator guidance
  goes in through ``AgentSession.steer``.

See docs/extending/agents.md for how to add a backend.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from symphony.agents.continuation import continuation_guidance
from symphony.agents.events import AgentEvent
from symphony.agents.tools import ToolRegistry
from symphony.agents.transcript import Transcript
from symphony.checks import Check
from symphony.human import HumanAnswer, HumanRequest, SteerDelivery
from symphony.issue import Issue
from symphony.usage import TokenUsage
from symphony.workflow.store import Workflow

# Receives every event of a session, on the event loop; it must be quick. A backend keeps going
# when it raises (log it once).
EventSink = Callable[[AgentEvent], None]


class GuardedSink:
    """A session's ``EventSink`` that never raises into the session: the first failure calls
    ``on_first_failure`` (inside the ``except``, so it can log with ``exc_info``); later ones
    are only counted."""

    def __init__(self, sink: EventSink, on_first_failure: Callable[[AgentEvent], None]) -> None:
        self._sink = sink
        self._on_first_failure = on_first_failure
        self.failures = 0

    def __call__(self, event: AgentEvent) -> None:
        try:
            self._sink(event)
        except Exception:
            self.failures += 1
            if self.failures == 1:
                self._on_first_failure(event)


class HumanChannel(Protocol):
    """Where a session parks what its agent asks a human (one channel per run)."""

    async def ask(self, request: HumanRequest) -> HumanAnswer:
        """Wait for the operator's answer; returns ``HumanAnswer.declined()`` once the
        configured human time-out passed. Cancelling the call withdraws the request."""
        ...


@dataclass(frozen=True, slots=True)
class CommandRun:
    """One shell command the agent ran and finished during a turn (for the proof of work).
    ``exit_code`` and ``duration_ms`` are None when the backend did not report them."""

    command: str
    exit_code: int | None = None
    duration_ms: int | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "command": self.command,
            "exit_code": self.exit_code,
            "duration_ms": self.duration_ms,
        }


@dataclass(frozen=True, slots=True)
class TurnOutcome:
    """A turn that completed normally; every other ending raises ``AgentError``.

    ``thread_id`` names the conversation the session's turns share (Codex thread, Claude Code
    session), ``session_id`` this turn's session id as the events carried it.
    """

    session_id: str
    thread_id: str
    turn_id: str
    turn_number: int
    status: str
    usage: TokenUsage | None  # absolute thread totals when the turn ended
    usage_delta: TokenUsage  # what this turn added to the thread totals
    last_message: str | None
    duration_ms: int
    # Commands the agent finished during the turn, oldest first; bounded by the backend (the
    # Codex backend keeps the last ``MAX_TURN_COMMANDS``). Backends that cannot tell leave it empty.
    commands: tuple[CommandRun, ...] = ()
    # What the turn cost in US dollars when the agent reports it (Claude Code), else None.
    cost_usd: float | None = None


class AgentSession(Protocol):
    """One live agent conversation in one workspace; turns run one at a time."""

    async def run_turn(self, prompt: str, *, issue: Issue) -> TurnOutcome:
        """Run one turn with ``prompt`` and wait until it ends.

        ``issue`` is the current snapshot, the context of tool calls during the turn. Raises
        ``AgentError`` for every ending other than success.
        """
        ...

    async def steer(self, message: str) -> SteerDelivery:
        """Add operator guidance: to the running turn when the agent can take it there, else
        to the input of the next turn. Emits a ``steered`` event (the issue's timeline shows
        it). Raises ``AgentError`` when the session is closed."""
        ...

    async def stop(self) -> None:
        """End the session and kill the agent's processes; safe to call twice."""
        ...


class AgentBackend(abc.ABC):
    """One kind of coding agent. Subclass it and register an instance (see module docstring)."""

    #: The ``agent.kind`` value that selects this backend.
    kind: str

    @abc.abstractmethod
    async def start_session(
        self,
        *,
        workspace: Path,
        issue: Issue,
        tools: ToolRegistry,
        strip_env: frozenset[str],
        on_event: EventSink,
        transcript: Transcript | None,
        workflow: Workflow,
        human: HumanChannel | None = None,
        resume_thread_id: str | None = None,
    ) -> AgentSession:
        """Launch the agent in ``workspace`` and get it ready for the first turn.

        ``resume_thread_id`` (passed only when set) names the conversation of a run a restart
        cut short: continue it when the backend can, and say so with a true ``resumed``
        attribute on the session; otherwise start a new one.

        ``tools`` are bound to the tracker adapter current at dispatch; ``strip_env`` names
        environment variables the agent's processes must not inherit (tracker secrets);
        ``transcript`` receives every raw protocol line; ``workflow`` is the snapshot the attempt
        runs under (the backend reads its own settings from it, e.g. ``workflow.config.codex``).
        ``human``, when given, receives the agent's approval requests and questions that its
        own policy leaves to a human; without it the backend answers them itself.
        Raises ``AgentError`` and leaves nothing running when it does.
        """

    def continuation_prompt(self, turn: int, max_turns: int, issue: Issue) -> str:
        """The text of continuation turn ``turn`` (2-based) on the same live conversation."""
        return continuation_guidance(turn, max_turns, issue_identifier=issue.identifier)

    async def preflight(self, workflow: Workflow, *, env: Mapping[str, str]) -> Sequence[str]:
        """Problems an operator should fix before agents can run (``symphony validate``).

        Called with the environment the service would run in; returns warnings (empty when
        nothing is wrong). It must not raise for an environment problem.
        """
        return ()

    async def doctor(self, workflow: Workflow, *, env: Mapping[str, str]) -> Sequence[Check]:
        """``symphony doctor``'s checks of this backend: binary, version, credentials...

        The default turns ``preflight``'s warnings into failed checks; backends that can say
        more (the fix on its own line, what is fine) override it. Must not raise.
        """
        warnings = await self.preflight(workflow, env=env)
        name = f"{self.kind} agent"
        if not warnings:
            return [Check.ok(name, "no problem found")]
        return [Check.fail(name, warning, "see the problem") for warning in warnings]

    def describe(self, workflow: Workflow) -> str:
        """One line for ``symphony validate``'s summary: what will be launched."""
        return self.kind
