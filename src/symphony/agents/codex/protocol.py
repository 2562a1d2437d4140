"""Sans-IO core of the codex app-server client (SPEC §10, codex 0.169 wire behaviour).

``CodexProtocol`` consumes decoded lines and returns *actions* (``actions.py``): messages to
send, events to emit, tool calls to run host-side, request resolutions and turn endings. It never
reads the clock (``now`` is passed in), never awaits and never touches the process, so every path
is testable with scripted messages. ``session.py`` is the IO shell around it.

Wire facts this relies on (checked against codex 0.169; docs/codex.md): no ``jsonrpc`` field;
notifications carry ``emittedAtMs``; server request ids start at 0 (so ``"id" in msg``, never
truthiness); a turn ends only with ``turn/completed`` whose ``turn.status`` is
completed/interrupted/failed.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import orjson

from symphony.agents import events
from symphony.agents.base import CommandRun
from symphony.agents.codex import server_requests
from symphony.agents.codex.actions import (
    HELD,
    Action,
    Emit,
    ParkRequest,
    RequestId,
    Resolved,
    RunTool,
    Send,
    TurnEnded,
    WithdrawRequest,
)
from symphony.agents.codex.errors import (
    RESPONSE_ERROR,
    TURN_INPUT_REQUIRED,
    AgentError,
    turn_failure,
)
from symphony.agents.codex.policy import CLIENT_INFO, SessionPolicy
from symphony.agents.codex.server_requests import AskHuman, CallTool, NeedsHuman, human_result
from symphony.agents.codex.summary import clip, rate_limit_summary, summarize, usage_summary
from symphony.agents.codex.tools import tool_call_result
from symphony.agents.codex.usage import rate_limits, thread_totals
from symphony.agents.events import AgentEvent
from symphony.human import TEXT_LIMIT, HumanAnswer
from symphony.tools import ToolResult
from symphony.usage import TokenUsage

INITIALIZE: Final = "initialize"
THREAD_START: Final = "thread/start"
THREAD_RESUME: Final = "thread/resume"
THREAD_SET_NAME: Final = "thread/name/set"
TURN_START: Final = "turn/start"
TURN_INTERRUPT: Final = "turn/interrupt"
TURN_STEER: Final = "turn/steer"
# turn/failed and turn/cancelled do not exist in 0.169; accepted for other servers.
TURN_END_METHODS: Final = frozenset({"turn/completed", "turn/failed", "turn/cancelled"})
PREVIEW = 200
# Streaming fragments of an item (agent message, reasoning and command output deltas): most of
# what a working agent sends, and nothing the orchestrator decides on. The latest is held back
# (``HeldChatter``) and emitted when the session asks or before anything else is emitted, so the
# orchestrator sees a burst of them as one event, in order with everything else.
CHATTER_SUFFIXES: Final = ("Delta", "/delta", "/summaryPartAdded")
_METHOD_FIRST: Final = '{"method":"'
_METHOD_AT: Final = len(_METHOD_FIRST)
_OBJECT_END: Final = ("}", "}\r")
# Commands of one turn kept for the proof of work; a turn running more keeps the last ones.
MAX_TURN_COMMANDS: Final = 200
COMMAND_LIMIT: Final = 2_000


@dataclass(slots=True)
class _Turn:
    request_id: RequestId
    turn_id: str | None = None
    ended: bool = False


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class CodexProtocol:
    """State of one app-server connection: one thread, turns started one at a time."""

    def __init__(
        self,
        policy: SessionPolicy,
        *,
        tool_names: Sequence[str] = (),
        pid: int | None = None,
        client_info: Mapping[str, str] = CLIENT_INFO,
        ask_human: bool = False,
    ) -> None:
        self.policy = policy
        # The session has a human channel: requests the policy leaves to a human are parked.
        self.ask_human = ask_human
        # Parked requests not answered yet, by codex's request id.
        self._parked: set[RequestId] = set()
        self.tool_names = frozenset(tool_names)
        self.pid = pid
        self.client_info = dict(client_info)
        self.thread_id: str | None = None
        # The model codex reports for the thread (thread/start, thread/resume), for pricing.
        self.model: str | None = None
        self.turn_id: str | None = None
        self.latest_usage: TokenUsage | None = None
        self.latest_rate_limits: dict[str, Any] | None = None
        self.last_error_message: str | None = None
        self.last_agent_message: str | None = None
        # Completed ``commandExecution`` items of the current turn, oldest first.
        self.turn_commands: deque[CommandRun] = deque(maxlen=MAX_TURN_COMMANDS)
        self._next_id = 1
        # The streaming fragment held back, as (method, message or its line, received at).
        self._chatter: tuple[str, dict[str, Any] | str, datetime] | None = None
        self._pending: dict[RequestId, str] = {}
        self._turn: _Turn | None = None
        # turn/completed seen before the turn/start response told us the turn id.
        self._early_endings: dict[str, dict[str, Any]] = {}
        # Diffs of file changes in progress, by item id: a file-change approval names only the item.
        self._diffs: dict[str, str] = {}
        # Operator guidance that found no running turn: it opens the next turn's input.
        self._queued_steers: list[str] = []

    @property
    def session_id(self) -> str | None:
        if self.thread_id and self.turn_id:
            return f"{self.thread_id}-{self.turn_id}"
        return None

    @property
    def turn_active(self) -> bool:
        return self._turn is not None and not self._turn.ended

    def pending_method(self, request_id: RequestId) -> str | None:
        return self._pending.get(request_id)

    def _emit(
        self,
        name: str,
        now: datetime,
        message: str | None,
        payload: Mapping[str, Any] | None,
        *,
        usage: TokenUsage | None = None,
        limits: dict[str, Any] | None = None,
        model: str | None = None,
    ) -> Emit:
        event = AgentEvent(
            event=name,
            timestamp=now,
            pid=self.pid,
            session_id=self.session_id,
            thread_id=self.thread_id,
            turn_id=self.turn_id,
            message=clip(message) if message else None,
            usage=usage,
            rate_limits=limits,
            model=model,
            payload=payload if isinstance(payload, dict) else dict(payload or {}),
        )
        return Emit(event)

    # -- client → server --------------------------------------------------------------------

    def request(self, method: str, params: Mapping[str, Any]) -> tuple[RequestId, Send]:
        request_id = self._next_id
        self._next_id += 1
        self._pending[request_id] = method
        return request_id, Send({"id": request_id, "method": method, "params": dict(params)})

    def initialize(self) -> tuple[RequestId, Send]:
        # experimentalApi is what lets thread/start carry dynamicTools on 0.169.
        return self.request(
            INITIALIZE,
            {"clientInfo": self.client_info, "capabilities": {"experimentalApi": True}},
        )

    @staticmethod
    def initialized() -> Send:
        return Send({"method": "initialized", "params": {}})

    def start_thread(
        self, cwd: Path, dynamic_tools: Sequence[Mapping[str, Any]]
    ) -> tuple[RequestId, Send]:
        return self.request(THREAD_START, self.policy.thread_start_params(cwd, dynamic_tools))

    def resume_thread(self, thread_id: str, cwd: Path) -> tuple[RequestId, Send]:
        """Continue a stored thread (a run a restart cut short) with this session's policy."""
        params = self.policy.thread_start_params(cwd, ())
        # The conversation is what the restarted run needs; not its turns in the response.
        return self.request(THREAD_RESUME, {**params, "threadId": thread_id, "excludeTurns": True})

    def set_thread_name(self, name: str) -> tuple[RequestId, Send]:
        if self.thread_id is None:
            raise RuntimeError("thread/name/set before thread/start completed")
        return self.request(THREAD_SET_NAME, {"threadId": self.thread_id, "name": name})

    def start_turn(self, text: str, cwd: Path) -> tuple[RequestId, Send]:
        if self.thread_id is None:
            raise RuntimeError("turn/start before thread/start completed")
        if self.turn_active:
            raise RuntimeError("turn/start while another turn is active")
        params = self.policy.turn_start_params(self.thread_id, text, cwd)
        if self._queued_steers:
            steers = [{"type": "text", "text": steer} for steer in self._queued_steers]
            params["input"] = [*steers, *params["input"]]
            self._queued_steers = []
        request_id, send = self.request(TURN_START, params)
        self._turn = _Turn(request_id)
        self.turn_id = None
        self.last_error_message = None
        self.last_agent_message = None
        self.turn_commands.clear()
        return request_id, send

    def interrupt_turn(self) -> Send | None:
        if self.thread_id is None or self.turn_id is None:
            return None
        _, send = self.request(TURN_INTERRUPT, {"threadId": self.thread_id, "turnId": self.turn_id})
        return send

    def steer(self, text: str) -> tuple[RequestId, Send] | None:
        """``turn/steer`` into the running turn, or None when no turn runs (then the text is
        queued for the next ``turn/start``; see ``queue_steer``)."""
        if self.thread_id is None or self.turn_id is None or not self.turn_active:
            return None
        params = {
            "threadId": self.thread_id,
            "expectedTurnId": self.turn_id,
            "input": [{"type": "text", "text": text}],
        }
        return self.request(TURN_STEER, params)

    def queue_steer(self, text: str) -> None:
        self._queued_steers.append(text)

    def abandon_turn(self) -> None:
        """The shell gave up on the active turn (timeout); later messages for it are stale."""
        if self._turn is not None:
            self._turn.ended = True

    # -- server → client --------------------------------------------------------------------

    def receive_line(self, line: str, now: datetime) -> list[Action]:
        if line.startswith(_METHOD_FIRST):
            # codex writes the method first: a streaming fragment is held without decoding it.
            end = line.find('"', _METHOD_AT)
            if (
                end > 0
                and line.endswith(_OBJECT_END)
                and line[_METHOD_AT:end].endswith(CHATTER_SUFFIXES)
            ):
                self._chatter = (line[_METHOD_AT:end], line, now)
                return [HELD]
        if not line or line.isspace():
            return []
        try:
            message = orjson.loads(line)  # JSON allows the whitespace around it: no strip copy
        except ValueError as exc:
            return [*self.take_chatter(), self._malformed(line.strip(), now, f"not JSON: {exc}")]
        if not isinstance(message, dict):
            reason = "JSON value is not an object"
            return [*self.take_chatter(), self._malformed(line.strip(), now, reason)]
        return self._receive(message, now)

    def take_chatter(self) -> list[Action]:
        """The held-back streaming fragment as its event (see ``CHATTER_SUFFIXES``), if any."""
        held = self._chatter
        if held is None:
            return []
        self._chatter = None
        method, message, now = held
        if isinstance(message, str):
            line = message
            try:
                message = orjson.loads(line)
            except ValueError as exc:
                return [self._malformed(line.strip(), now, f"not JSON: {exc}")]
            if not isinstance(message, dict):
                return [self._malformed(line.strip(), now, "JSON value is not an object")]
        return [self._notification(method, _dict(message.get("params")), message, now)]

    def _malformed(self, text: str, now: datetime, reason: str) -> Emit:
        payload = {"reason": reason, "line": text[:PREVIEW], "size": len(text)}
        return self._emit(events.MALFORMED, now, f"{reason}: {text[:PREVIEW]}", payload)

    def oversized_line(self, size: int, limit: int, now: datetime) -> list[Action]:
        """The shell dropped a line longer than its buffer limit."""
        reason = f"line of {size} bytes exceeds the {limit}-byte limit and was dropped"
        return [self._emit(events.MALFORMED, now, reason, {"reason": reason, "size": size})]

    def receive(self, message: Mapping[str, Any], now: datetime) -> list[Action]:
        return self._receive(dict(message), now)

    def _receive(self, message: dict[str, Any], now: datetime) -> list[Action]:
        """``message`` is ours (freshly decoded): events carry it without a copy."""
        method = message.get("method")
        has_id = message.get("id") is not None  # ids start at 0: never test truthiness
        if not has_id and isinstance(method, str) and method.endswith(CHATTER_SUFFIXES):
            self._chatter = (method, message, now)
            return [HELD]
        # The fragment held back goes first, with the ids it arrived under.
        held = self.take_chatter() if self._chatter is not None else []
        if isinstance(method, str):
            params = _dict(message.get("params"))
            if has_id:
                actions = self._on_server_request(message["id"], method, params, message, now)
            else:
                actions = self._on_notification(method, params, message, now)
        elif has_id and ("result" in message or "error" in message):
            actions = self._on_response(message, now)
        else:
            actions = [self._emit(events.OTHER_MESSAGE, now, "message without a method", message)]
        return held + actions if held else actions

    # -- responses ----------------------------------------------------------------------------

    def _on_response(self, message: Mapping[str, Any], now: datetime) -> list[Action]:
        request_id = message["id"]
        method = self._pending.pop(request_id, None)
        if method is None:
            text = f"response to unknown request id {request_id!r}"
            return [self._emit(events.OTHER_MESSAGE, now, text, message)]
        if "error" in message:
            error = message.get("error")
            detail = error.get("message") if isinstance(error, Mapping) else None
            failure = AgentError(
                RESPONSE_ERROR,
                f"codex rejected {method}: {detail or json.dumps(error)}",
                session_id=self.session_id,
                details={"method": method, "error": error},
            )
            return self._response_failed(request_id, method, failure, now)
        result = message.get("result")
        if not isinstance(result, dict):
            return self._bad_result(request_id, method, "without a result object", message, now)
        if method in (THREAD_START, THREAD_RESUME):
            thread_id = _str(_dict(result.get("thread")).get("id"))
            if thread_id is None:
                return self._bad_result(request_id, method, "without result.thread.id", result, now)
            self.thread_id = thread_id
            self.model = _str(result.get("model")) or self.model
        if method == TURN_START:
            return self._on_turn_started(request_id, result, now)
        return [Resolved(request_id, method, result, None)]

    def _bad_result(
        self,
        request_id: RequestId,
        method: str,
        what: str,
        payload: Mapping[str, Any],
        now: datetime,
    ) -> list[Action]:
        failure = AgentError(
            RESPONSE_ERROR,
            f"codex answered {method} {what}",
            details={"method": method, "response": dict(payload)},
        )
        return self._response_failed(request_id, method, failure, now)

    def _response_failed(
        self, request_id: RequestId, method: str, failure: AgentError, now: datetime
    ) -> list[Action]:
        actions: list[Action] = [Resolved(request_id, method, None, failure)]
        if method == TURN_START and self._turn is not None and self._turn.request_id == request_id:
            self._turn = None
            actions.append(
                self._emit(events.STARTUP_FAILED, now, failure.message, failure.to_dict())
            )
        return actions

    def _on_turn_started(
        self, request_id: RequestId, result: dict[str, Any], now: datetime
    ) -> list[Action]:
        turn_id = _str(_dict(result.get("turn")).get("id"))
        if turn_id is None:
            return self._bad_result(request_id, TURN_START, "without result.turn.id", result, now)
        self.turn_id = turn_id
        if self._turn is not None and self._turn.request_id == request_id:
            self._turn.turn_id = turn_id
        actions: list[Action] = [
            Resolved(request_id, TURN_START, result, None),
            self._emit(
                events.SESSION_STARTED,
                now,
                f"session {self.session_id} started",
                {"thread_id": self.thread_id, "turn_id": turn_id, "model": self.model},
                model=self.model,
            ),
        ]
        early = self._early_endings.pop(turn_id, None)
        self._early_endings.clear()
        if early is not None:
            actions.extend(self._on_turn_end(early, now))
        return actions

    # -- notifications ------------------------------------------------------------------------

    def _other_thread(self, params: Mapping[str, Any]) -> bool:
        thread_id = params.get("threadId")
        return (
            self.thread_id is not None
            and isinstance(thread_id, str)
            and (thread_id != self.thread_id)
        )

    def _notification(
        self, method: str, params: Mapping[str, Any], message: dict[str, Any], now: datetime
    ) -> Emit:
        return self._emit(events.NOTIFICATION, now, summarize(method, params), message)

    def _on_notification(
        self, method: str, params: dict[str, Any], message: dict[str, Any], now: datetime
    ) -> list[Action]:
        if method in TURN_END_METHODS:
            return self._on_turn_end(message, now)
        ours = not self._other_thread(params)
        if method == "thread/tokenUsage/updated" and ours:
            totals = thread_totals(params)
            if totals is not None:
                self.latest_usage = totals
                text = usage_summary(totals)
                return [self._emit(events.TOKEN_USAGE_UPDATED, now, text, message, usage=totals)]
        if self._parked and method == "serverRequest/resolved":
            request_id = params.get("requestId")
            if request_id in self._parked:
                self._parked.discard(request_id)
                return [
                    self._notification(method, params, message, now),
                    WithdrawRequest(request_id),
                ]
        if method == "account/rateLimits/updated":
            limits = rate_limits(params)
            if limits is not None:
                self.latest_rate_limits = limits
                text = rate_limit_summary(limits)
                return [self._emit(events.RATE_LIMITS_UPDATED, now, text, message, limits=limits)]
        item = _dict(params.get("item"))
        if item.get("type") == "fileChange":
            self._track_diff(method, item)
        if method == "item/completed" and ours:
            kind = item.get("type")
            if kind == "agentMessage":
                self.last_agent_message = _str(item.get("text")) or self.last_agent_message
            elif kind == "commandExecution":
                self._command_done(item)
        if method == "error" and ours and not params.get("willRetry"):
            error_text = _str(_dict(params.get("error")).get("message"))
            self.last_error_message = error_text or self.last_error_message
        return [self._notification(method, params, message, now)]

    def _command_done(self, item: dict[str, Any]) -> None:
        command = item.get("command")
        if isinstance(command, list):  # older servers sent argv
            command = " ".join(str(part) for part in command)
        if not isinstance(command, str):
            return
        self.turn_commands.append(
            CommandRun(
                clip(command, COMMAND_LIMIT),
                _int(item.get("exitCode")),
                _int(item.get("durationMs")),
            )
        )

    def _track_diff(self, method: str, item: dict[str, Any]) -> None:
        item_id = _str(item.get("id"))
        if item_id is None:
            return
        if method != "item/started":
            self._diffs.pop(item_id, None)
            return
        changes = item.get("changes")
        parts = (
            [
                f"{change.get('path')}\n{change.get('diff') or ''}".rstrip()
                for change in changes
                if isinstance(change, Mapping)
            ]
            if isinstance(changes, list)
            else []
        )
        self._diffs[item_id] = "\n\n".join(parts)[:TEXT_LIMIT]

    def _on_turn_end(self, message: dict[str, Any], now: datetime) -> list[Action]:
        method = str(message.get("method"))
        params = _dict(message.get("params"))
        turn = _dict(params.get("turn"))
        turn_id = _str(turn.get("id")) or _str(params.get("turnId"))
        current = self._turn
        if self._other_thread(params) or current is None or current.ended:
            return [self._notification(method, params, message, now)]
        if current.turn_id is None:
            if turn_id is not None:
                # Out of order: the turn/start response (with the turn id) has not arrived yet.
                self._early_endings[turn_id] = message
                return []
        elif turn_id is not None and turn_id != current.turn_id:
            return [self._notification(method, params, message, now)]  # a stale turn
        current.ended = True
        status = _str(turn.get("status")) or "unknown"
        if method == "turn/failed":
            status = "failed"
        elif method == "turn/cancelled":
            status = "interrupted"
        return self._turn_outcome(status, turn, message, now)

    def _turn_outcome(
        self, status: str, turn: dict[str, Any], message: dict[str, Any], now: datetime
    ) -> list[Action]:
        usage = self.latest_usage
        if status == "completed":
            return [
                self._emit(events.TURN_COMPLETED, now, "turn completed", message, usage=usage),
                TurnEnded(self.turn_id, status, None, turn),
            ]
        reason = _str(_dict(turn.get("error")).get("message")) or self.last_error_message
        name, failure = turn_failure(status, reason, turn.get("error"), self.session_id)
        return [
            self._emit(name, now, failure.message, message, usage=usage),
            TurnEnded(self.turn_id, status, failure, turn),
        ]

    # -- server requests ----------------------------------------------------------------------

    def _on_server_request(
        self,
        request_id: RequestId,
        method: str,
        params: dict[str, Any],
        message: dict[str, Any],
        now: datetime,
    ) -> list[Action]:
        decision = server_requests.decide(
            method,
            params,
            auto_approve=self.policy.auto_approve,
            tool_names=self.tool_names,
            now=now,
            ask_human=self.ask_human,
            diffs=self._diffs,
            mcp_approval=self.policy.mcp_approval,
        )
        if isinstance(decision, AskHuman):
            text = f"waiting for a human: {decision.request.summary}"
            self._parked.add(request_id)
            return [
                self._emit(events.HUMAN_REQUEST, now, text, message),
                ParkRequest(request_id, decision),
            ]
        if isinstance(decision, CallTool):
            return [
                self._emit(events.TOOL_CALL_STARTED, now, f"tool {decision.name} called", message),
                RunTool(
                    request_id,
                    decision.name,
                    decision.arguments,
                    decision.call_id,
                    decision.turn_id or self.turn_id,
                ),
            ]
        if isinstance(decision, NeedsHuman):
            return self._input_required(request_id, decision, message, now)
        answer: dict[str, Any] = {"id": request_id}
        if decision.error is not None:
            answer["error"] = decision.error
        else:
            answer["result"] = decision.result or {}
        if decision.decision is not None:
            message = {**message, "decision": decision.decision}
        return [Send(answer), self._emit(decision.event, now, decision.message, message)]

    def _input_required(
        self, request_id: RequestId, need: NeedsHuman, message: dict[str, Any], now: datetime
    ) -> list[Action]:
        # Answer first so codex is never left waiting, then end our turn (SPEC §10.5).
        actions: list[Action] = [Send({"id": request_id, "result": dict(need.result)})]
        current = self._turn
        active = current is not None and not current.ended
        if current is not None and active:
            current.ended = True
            interrupt = self.interrupt_turn()
            if interrupt is not None:
                actions.append(interrupt)
        actions.append(self._emit(events.TURN_INPUT_REQUIRED, now, need.message, message))
        if active:
            failure = AgentError(
                TURN_INPUT_REQUIRED,
                need.message,
                session_id=self.session_id,
                details={"method": message.get("method"), "params": message.get("params")},
            )
            actions.append(TurnEnded(self.turn_id, "input_required", failure))
        return actions

    def human_answered(self, park: ParkRequest, answer: HumanAnswer, now: datetime) -> list[Action]:
        """Answer a parked request with what the human channel returned."""
        if park.request_id not in self._parked:
            return []  # codex withdrew it meanwhile: an answer now would be to nothing
        self._parked.discard(park.request_id)
        result, decision = human_result(park.ask, answer)
        payload = {
            "method": park.ask.method,
            "request_id": park.request_id,
            "kind": park.ask.request.kind,
            "decision": decision,
        }
        text = f"{decision}: {park.ask.request.summary}"
        return [
            *self.take_chatter(),
            Send({"id": park.request_id, "result": result}),
            self._emit(events.HUMAN_REQUEST_ANSWERED, now, text, payload),
        ]

    def tool_finished(
        self, call: RunTool, result: ToolResult, now: datetime, *, duration_ms: int | None = None
    ) -> list[Action]:
        name = events.TOOL_CALL_COMPLETED if result.success else events.TOOL_CALL_FAILED
        payload = {
            "tool": call.name,
            "call_id": call.call_id,
            "request_id": call.request_id,
            "success": result.success,
            "duration_ms": duration_ms,
            "output_preview": result.text()[:PREVIEW],
        }
        text = f"tool {call.name}: {'ok' if result.success else 'failed'}"
        return [
            *self.take_chatter(),
            Send({"id": call.request_id, "result": tool_call_result(result)}),
            self._emit(name, now, text, payload),
        ]

    # -- end of the connection ---------------------------------------------------------------

    def connection_lost(self, failure: AgentError, now: datetime) -> list[Action]:
        """The process exited or the stream closed: fail every waiter and the active turn."""
        actions: list[Action] = self.take_chatter()
        actions.extend(
            Resolved(request_id, method, None, failure)
            for request_id, method in self._pending.items()
        )
        self._pending.clear()
        current = self._turn
        if current is not None and not current.ended:
            current.ended = True
            actions.append(
                self._emit(events.TURN_ENDED_WITH_ERROR, now, failure.message, failure.to_dict())
            )
            actions.append(TurnEnded(self.turn_id, "error", failure))
        return actions
