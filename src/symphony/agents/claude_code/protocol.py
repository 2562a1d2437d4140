"""Claude Code's stream-json protocol, sans IO: lines in, ``AgentEvent``s and lines out.

The session (``session.py``) feeds every stdout line to ``receive_line`` and carries out the
returned actions. Facts this relies on (claude 2.1.328, docs/agents/claude-code.md):

- a turn is one ``user`` line in, and ends with exactly one ``result`` line; a turn failed when
  ``result.is_error`` is true, whatever ``subtype`` says (an API error ends ``success``);
- ``result.usage`` counts this turn only, ``total_cost_usd`` the whole process: totals are the
  sum of the usages, a turn's cost the difference of two ``total_cost_usd``;
- ``assistant`` lines carry one content block each and a usage that must not be counted;
- ``control_request`` ``can_use_tool`` blocks the turn until answered (``PermissionPolicy``).

The session id of events is ``<claude session id>-<turn number>`` (the core counts turns by it);
the thread id is claude's session id, stable across turns and ``--resume``.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from symphony.agents import events
from symphony.agents.base import CommandRun
from symphony.agents.claude_code.permissions import Allow, AskHuman, Deny, PermissionPolicy
from symphony.agents.codex.summary import clip
from symphony.agents.errors import TURN_CANCELLED, TURN_FAILED, AgentError
from symphony.agents.events import AgentEvent
from symphony.human import HumanAnswer, HumanRequest
from symphony.usage import TokenUsage

MAX_TURN_COMMANDS: Final = 200
PREVIEW: Final = 400
_EXIT_CODE = re.compile(r"\bExit code (\d+)")


@dataclass(frozen=True, slots=True)
class Send:
    """One JSON line for claude's stdin."""

    message: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Emit:
    event: AgentEvent


@dataclass(frozen=True, slots=True)
class Park:
    """Ask the human channel, then answer with ``human_answered``."""

    request_id: str
    tool: str
    tool_input: dict[str, Any]
    request: HumanRequest


@dataclass(frozen=True, slots=True)
class Withdraw:
    """Claude gave up waiting on a parked request (``control_cancel_request``)."""

    request_id: str


@dataclass(frozen=True, slots=True)
class Resolved:
    """The ``control_response`` to one of our control requests."""

    request_id: str
    response: dict[str, Any]
    error: str | None


@dataclass(frozen=True, slots=True)
class TurnEnded:
    """The running turn's ``result`` arrived; ``error`` is None only for a good turn."""

    result: dict[str, Any]
    error: AgentError | None
    cost_usd: float | None = None


Action = Send | Emit | Park | Withdraw | Resolved | TurnEnded


def user_message(text: str) -> dict[str, Any]:
    return {"type": "user", "message": {"role": "user", "content": text}}


def rate_limited(now: datetime, retry_delay_ms: float | None) -> dict[str, Any]:
    """Claude Code reports no quota, only that the API answered 429: a snapshot in the shape
    the dashboards read (a ``primary`` bucket with nothing remaining, until the retry)."""
    bucket: dict[str, Any] = {"remaining": 0}
    if retry_delay_ms is not None:
        bucket["resetsAt"] = now.timestamp() + retry_delay_ms / 1000
    return {"limitId": "anthropic", "limited": True, "error_status": 429, "primary": bucket}


def turn_usage(usage: Any) -> TokenUsage:
    """One ``result.usage`` as ``TokenUsage``: Anthropic counts cache reads and writes apart
    from ``input_tokens``; Symphony's input includes them (``cached_input_tokens`` is the read
    part), as Codex's does."""
    data = usage if isinstance(usage, Mapping) else {}

    def count(key: str) -> int:
        value = data.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0

    cached = count("cache_read_input_tokens")
    prompt = count("input_tokens") + cached + count("cache_creation_input_tokens")
    output = count("output_tokens")
    return TokenUsage(
        input_tokens=prompt,
        output_tokens=output,
        total_tokens=prompt + output,
        cached_input_tokens=cached,
    )


@dataclass(slots=True)
class _Turn:
    number: int
    commands: dict[str, str] = field(default_factory=dict)  # tool_use_id -> Bash command


class ClaudeProtocol:
    """The state of one claude process: its session, the running turn, totals and cost."""

    def __init__(self, policy: PermissionPolicy, *, pid: int | None) -> None:
        self.policy = policy
        self.pid = pid
        self.thread_id: str | None = None
        self.turn_number = 0
        self.latest_usage: TokenUsage | None = None
        self.latest_rate_limits: dict[str, Any] | None = None
        self.last_message: str | None = None
        self.turn_commands: deque[CommandRun] = deque(maxlen=MAX_TURN_COMMANDS)
        self._turn: _Turn | None = None
        # Results still owed for turns the session gave up on (time-out, cancellation).
        self._stale_results = 0
        self._cost_total = 0.0
        self._parked: set[str] = set()
        self._queued_steers: list[str] = []
        self._approved_for_session: set[str] = set()
        self._ids = itertools.count(1)

    @property
    def session_id(self) -> str | None:
        if self.thread_id and self.turn_number:
            return f"{self.thread_id}-{self.turn_number}"
        return None

    @property
    def turn_active(self) -> bool:
        return self._turn is not None

    def _emit(
        self,
        name: str,
        now: datetime,
        message: str | None,
        payload: Mapping[str, Any] | None = None,
        *,
        usage: TokenUsage | None = None,
        limits: dict[str, Any] | None = None,
        model: str | None = None,
        cost_usd: float | None = None,
    ) -> Emit:
        return Emit(
            AgentEvent(
                event=name,
                timestamp=now,
                pid=self.pid,
                session_id=self.session_id,
                thread_id=self.thread_id,
                turn_id=str(self.turn_number) if self.turn_number else None,
                message=clip(message) if message else None,
                usage=usage,
                rate_limits=limits,
                model=model,
                cost_usd=cost_usd,
                payload=dict(payload or {}),
            )
        )

    # -- requests from the session ------------------------------------------------------------

    def control_request(self, subtype: str) -> tuple[str, Send]:
        request_id = f"symphony-{subtype}-{next(self._ids)}"
        message = {
            "type": "control_request",
            "request_id": request_id,
            "request": {"subtype": subtype},
        }
        return request_id, Send(message)

    def start_turn(self, prompt: str) -> Send:
        """The user line of the next turn (operator guidance queued since goes first)."""
        if self._turn is not None:
            raise RuntimeError("start_turn while a turn is running")
        self.turn_number += 1
        self._turn = _Turn(self.turn_number)
        self.turn_commands.clear()
        text = prompt
        if self._queued_steers:
            guidance = "\n\n".join(self._queued_steers)
            self._queued_steers.clear()
            text = f"Operator guidance:\n{guidance}\n\n{prompt}"
        return Send(user_message(text))

    def queue_steer(self, message: str) -> None:
        self._queued_steers.append(message)

    def abandon_turn(self) -> None:
        """The session stopped waiting for the running turn; its ``result`` will be ignored."""
        if self._turn is not None:
            self._turn = None
            self._stale_results += 1

    # -- lines from claude ----------------------------------------------------------------------

    def receive_line(self, line: str, now: datetime) -> list[Action]:
        try:
            message = json.loads(line)
        except ValueError:
            return [
                self._emit(events.MALFORMED, now, f"not JSON: {line[:200]}", {"line": line[:2000]})
            ]
        if not isinstance(message, dict):
            return [self._emit(events.MALFORMED, now, "not a JSON object", {"line": line[:2000]})]
        kind = message.get("type")
        if kind == "system":
            return self._on_system(message, now)
        if kind == "assistant":
            return self._on_assistant(message, now)
        if kind == "user":
            return self._on_user(message, now)
        if kind == "result":
            return self._on_result(message, now)
        if kind == "control_request":
            return self._on_control_request(message, now)
        if kind == "control_response":
            return self._on_control_response(message)
        if kind == "control_cancel_request":
            request_id = str(message.get("request_id"))
            if request_id in self._parked:
                self._parked.discard(request_id)
                return [Withdraw(request_id)]
            return []
        return [self._emit(events.OTHER_MESSAGE, now, f"claude {kind}", message)]

    def oversized_line(self, size: int, limit: int, now: datetime) -> list[Action]:
        text = f"dropped a stdout line of {size} bytes (limit {limit})"
        return [self._emit(events.MALFORMED, now, text, {"size": size})]

    def _on_system(self, message: dict[str, Any], now: datetime) -> list[Action]:
        subtype = message.get("subtype")
        if subtype == "init":
            session = message.get("session_id")
            if isinstance(session, str) and session:
                self.thread_id = session
            # `init` opens every turn: the turn's session id is known from here on.
            text = f"session {self.session_id} started"
            payload = {
                "thread_id": self.thread_id,
                "model": message.get("model"),
                "permission_mode": message.get("permissionMode"),
                "mcp_servers": message.get("mcp_servers"),
                "claude_code_version": message.get("claude_code_version"),
            }
            model = message.get("model")
            return [
                self._emit(
                    events.SESSION_STARTED,
                    now,
                    text,
                    payload,
                    model=model if isinstance(model, str) and model else None,
                )
            ]
        if subtype == "api_retry":
            status = message.get("error_status")
            text = (
                f"API retry {message.get('attempt')}/{message.get('max_retries')}: "
                f"{message.get('error')} ({status}), next in {message.get('retry_delay_ms')} ms"
            )
            if status == 429 or message.get("error") == "rate_limit":
                delay = _number(message.get("retry_delay_ms"))
                limits = rate_limited(now, delay)
                limits["attempt"] = message.get("attempt")
                self.latest_rate_limits = limits
                return [self._emit(events.RATE_LIMITS_UPDATED, now, text, message, limits=limits)]
            return [self._emit(events.NOTIFICATION, now, text, message)]
        if subtype == "permission_denied":
            text = f"{message.get('tool_name')} denied: {message.get('message')}"
            return [self._emit(events.APPROVAL_DECLINED, now, text, message)]
        return [self._emit(events.NOTIFICATION, now, f"claude system/{subtype}", message)]

    def _blocks(self, message: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        inner = message.get("message")
        content = inner.get("content") if isinstance(inner, Mapping) else None
        if isinstance(content, str):
            return [{"type": "text", "text": content}]
        if not isinstance(content, list):
            return []
        return [b for b in content if isinstance(b, Mapping)]

    def _on_assistant(self, message: dict[str, Any], now: datetime) -> list[Action]:
        actions: list[Action] = []
        for block in self._blocks(message):
            kind = block.get("type")
            if kind == "text":
                text = str(block.get("text") or "")
                if text:
                    self.last_message = text
                actions.append(self._emit(events.NOTIFICATION, now, f"agent: {text}", message))
            elif kind == "tool_use":
                name = str(block.get("name"))
                tool_input = block.get("input") if isinstance(block.get("input"), Mapping) else {}
                assert isinstance(tool_input, Mapping)
                if name == "Bash" and self._turn is not None:
                    command = tool_input.get("command")
                    if isinstance(command, str):
                        self._turn.commands[str(block.get("id"))] = command
                if name.startswith("mcp__"):
                    text = f"tool {name} called"
                    actions.append(self._emit(events.TOOL_CALL_STARTED, now, text, message))
                else:
                    detail = tool_input.get("command") or tool_input.get("file_path") or ""
                    actions.append(
                        self._emit(events.NOTIFICATION, now, f"{name} {detail}".strip(), message)
                    )
            else:
                actions.append(self._emit(events.OTHER_MESSAGE, now, f"assistant {kind}", message))
        return actions

    def _on_user(self, message: dict[str, Any], now: datetime) -> list[Action]:
        actions: list[Action] = []
        structured = message.get("tool_use_result")
        for block in self._blocks(message):
            if block.get("type") != "tool_result":
                continue
            tool_use_id = str(block.get("tool_use_id"))
            failed = bool(block.get("is_error"))
            command = self._turn.commands.pop(tool_use_id, None) if self._turn else None
            output = _result_text(block.get("content"))
            if command is not None:
                self.turn_commands.append(
                    CommandRun(command, _exit_code(structured, output, failed))
                )
            preview = output[:PREVIEW]
            label = f"$ {command}" if command is not None else "tool result"
            text = f"{label}: {'failed' if failed else 'ok'}"
            payload = {"tool_use_id": tool_use_id, "is_error": failed, "output_preview": preview}
            actions.append(self._emit(events.NOTIFICATION, now, text, payload))
        return actions

    def _on_result(self, message: dict[str, Any], now: datetime) -> list[Action]:
        usage = turn_usage(message.get("usage"))
        if usage.is_zero and self.latest_usage is None:
            totals = None
        else:
            totals = (self.latest_usage or TokenUsage()) + usage
            self.latest_usage = totals
        cost = _number(message.get("total_cost_usd"))
        turn_cost: float | None = None
        if cost is not None:
            turn_cost = max(cost - self._cost_total, 0.0)
            self._cost_total = cost
        actions: list[Action] = []
        if totals is not None:
            text = f"tokens: {totals.total_tokens} total"
            actions.append(
                self._emit(
                    events.TOKEN_USAGE_UPDATED, now, text, message, usage=totals, cost_usd=turn_cost
                )
            )
        if message.get("api_error_status") == 429:
            limits = rate_limited(now, None)
            self.latest_rate_limits = limits
            text = "rate limited: " + str(message.get("result") or "")
            actions.append(
                self._emit(events.RATE_LIMITS_UPDATED, now, text, message, limits=limits)
            )
        if self._stale_results:
            # The result of a turn the session already gave up on: counted, not returned.
            self._stale_results -= 1
            return actions
        if self._turn is None:
            actions.append(self._emit(events.OTHER_MESSAGE, now, "result without a turn", message))
            return actions
        self._turn = None
        final = message.get("result")
        if isinstance(final, str) and final and not message.get("is_error"):
            self.last_message = final
        error = self._failure(message)
        if error is None:
            actions.append(
                self._emit(events.TURN_COMPLETED, now, "turn completed", message, usage=totals)
            )
        else:
            name = events.TURN_CANCELLED if error.code == TURN_CANCELLED else events.TURN_FAILED
            actions.append(self._emit(name, now, error.message, message))
        actions.append(TurnEnded(message, error, turn_cost))
        return actions

    def _failure(self, result: Mapping[str, Any]) -> AgentError | None:
        if result.get("is_error") is not True:
            return None
        subtype = str(result.get("subtype") or "")
        errors = result.get("errors")
        raw = result.get("result")
        reason = raw if isinstance(raw, str) else ""
        if not reason and isinstance(errors, list):
            reason = "; ".join(str(e) for e in errors)
        terminal = result.get("terminal_reason")
        # `aborted_tools`, `aborted_streaming`: an interrupt ended the turn.
        aborted = isinstance(terminal, str) and terminal.startswith("aborted")
        code = TURN_CANCELLED if aborted else TURN_FAILED
        details = {
            "subtype": subtype,
            "terminal_reason": terminal,
            "api_error_status": result.get("api_error_status"),
            "errors": errors if isinstance(errors, list) else None,
        }
        text = f"claude turn failed ({subtype or 'error'}, {terminal}): {reason or 'no detail'}"
        return AgentError(code, clip(text), session_id=self.session_id, details=details)

    def _on_control_request(self, message: dict[str, Any], now: datetime) -> list[Action]:
        request_id = str(message.get("request_id"))
        request = message.get("request") if isinstance(message.get("request"), Mapping) else {}
        assert isinstance(request, Mapping)
        subtype = request.get("subtype")
        if subtype != "can_use_tool":
            text = f"unsupported control request {subtype}"
            reply = {
                "type": "control_response",
                "response": {"subtype": "error", "request_id": request_id, "error": text},
            }
            return [Send(reply), self._emit(events.UNSUPPORTED_REQUEST, now, text, message)]
        tool = str(request.get("tool_name"))
        raw_input = request.get("input")
        tool_input = dict(raw_input) if isinstance(raw_input, Mapping) else {}
        decision = self.policy.decide(tool, tool_input)
        if isinstance(decision, AskHuman) and tool in self._approved_for_session:
            decision = Allow()
        if isinstance(decision, Allow):
            return [
                Send(_permission(request_id, {"behavior": "allow", "updatedInput": tool_input})),
                self._emit(events.APPROVAL_AUTO_APPROVED, now, f"{tool} allowed", message),
            ]
        if isinstance(decision, Deny):
            return [
                Send(_permission(request_id, {"behavior": "deny", "message": decision.message})),
                self._emit(events.APPROVAL_DECLINED, now, decision.message, message),
            ]
        assert isinstance(decision, AskHuman)
        self._parked.add(request_id)
        return [
            Park(request_id, tool, tool_input, decision.request),
            self._emit(events.HUMAN_REQUEST, now, decision.request.summary, message),
        ]

    def human_answered(self, park: Park, answer: HumanAnswer, now: datetime) -> list[Action]:
        if park.request_id not in self._parked:
            return []  # claude withdrew it meanwhile
        self._parked.discard(park.request_id)
        if answer.approves:
            body: dict[str, Any] = {"behavior": "allow", "updatedInput": park.tool_input}
            decision = "approved"
            if answer.decision == "approve_for_session":
                # Later calls of the tool in this session are allowed without asking again.
                self._approved_for_session.add(park.tool)
        else:
            body = {"behavior": "deny", "message": f"The operator denied {park.tool}."}
            decision = "denied"
        payload = {"request_id": park.request_id, "tool": park.tool, "decision": decision}
        return [
            Send(_permission(park.request_id, body)),
            self._emit(events.HUMAN_REQUEST_ANSWERED, now, f"{decision}: {park.tool}", payload),
        ]

    def _on_control_response(self, message: dict[str, Any]) -> list[Action]:
        response = message.get("response") if isinstance(message.get("response"), Mapping) else {}
        assert isinstance(response, Mapping)
        error = None
        if response.get("subtype") == "error":
            error = str(response.get("error") or "control request failed")
        return [Resolved(str(response.get("request_id")), dict(response), error)]

    def connection_lost(self, failure: AgentError, now: datetime) -> list[Action]:
        """The process exited: fail the running turn."""
        if self._turn is None:
            return []
        self._turn = None
        return [
            self._emit(events.TURN_ENDED_WITH_ERROR, now, failure.message, failure.to_dict()),
            TurnEnded({}, failure),
        ]


def _permission(request_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "control_response",
        "response": {"subtype": "success", "request_id": request_id, "response": body},
    }


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _result_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(b.get("text", "")) for b in content if isinstance(b, Mapping))
    return ""


def _exit_code(structured: Any, output: str, failed: bool) -> int | None:
    """Claude reports no exit code field: 0 for a good result, else the "Exit code N" it
    writes for the model, else unknown."""
    if isinstance(structured, Mapping) and structured.get("interrupted"):
        return None
    if not failed:
        return 0
    found = _EXIT_CODE.search(output)
    return int(found.group(1)) if found else None
