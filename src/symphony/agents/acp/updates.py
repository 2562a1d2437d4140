"""``session/update`` notifications into neutral agent events, and what a turn said and ran.

Pure: typed protocol values (``acp.schema``) in, ``AgentEvent`` values and the turn's record out.
Every update becomes one event (streamed output counts as activity for the stall check). Agent
message chunks build the turn's messages (a new message starts with a new ``messageId`` or after
any other update); ``execute`` tool calls that finish become ``CommandRun`` entries; plans and
context-window reports become notifications.

Token usage: ACP reports a turn's tokens on the ``session/prompt`` response (``usage``, per
turn), and the context window in ``usage_update`` notifications (tokens currently in context,
not a running total). Only the former is counted: ``add_turn_usage`` adds each turn's usage to
the session's absolute totals, which the event carries (docs/extending/agents.md).
"""

from __future__ import annotations

import shlex
from collections import deque
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from acp.schema import (
    AgentMessageChunk,
    AgentPlanUpdate,
    AgentThoughtChunk,
    TextContentBlock,
    ToolCallProgress,
    ToolCallStart,
    Usage,
    UsageUpdate,
)

from symphony.agents.base import CommandRun
from symphony.agents.events import NOTIFICATION, OTHER_MESSAGE, TOKEN_USAGE_UPDATED, AgentEvent
from symphony.text import clip
from symphony.usage import TokenUsage

MAX_TURN_COMMANDS: Final = 200
MESSAGE_LIMIT: Final = 300
_FINISHED = frozenset({"completed", "failed"})


class UpdateMapper:
    """One ACP session's updates; ``begin_turn`` before each ``session/prompt``."""

    def __init__(self, pid: int | None, thread_id: str) -> None:
        self.pid = pid
        self.thread_id = thread_id
        self.session_id: str | None = None
        self.turn_id: str | None = None
        self.usage: TokenUsage | None = None
        self.commands: deque[CommandRun] = deque(maxlen=MAX_TURN_COMMANDS)
        self._messages: list[str] = []
        self._message_id: str | None = None
        self._in_message = False
        # Running tool calls by id: kind, command text and when they started (loop seconds).
        self._calls: dict[str, tuple[str | None, str, float]] = {}

    @property
    def last_message(self) -> str | None:
        for text in reversed(self._messages):
            if text.strip():
                return text.strip()
        return None

    def begin_turn(self, turn_id: str) -> None:
        self.turn_id = turn_id
        self.session_id = f"{self.thread_id}-{turn_id}"
        self.commands.clear()
        self._messages = []
        self._message_id = None
        self._in_message = False
        self._calls.clear()

    def event(self, name: str, now: datetime, message: str | None, **fields: Any) -> AgentEvent:
        return AgentEvent(
            event=name,
            timestamp=now,
            pid=self.pid,
            session_id=self.session_id,
            thread_id=self.thread_id,
            turn_id=self.turn_id,
            message=clip(message, MESSAGE_LIMIT, marker="...") if message else message,
            **fields,
        )

    def update(self, update: Any, now: datetime, clock: float) -> AgentEvent:
        """The event for one ``session/update`` (``clock``: loop time, for command durations)."""
        if isinstance(update, AgentMessageChunk):
            text = _text(update.content)
            message_id = update.message_id
            if not self._in_message or (message_id is not None and message_id != self._message_id):
                self._messages.append("")
            self._in_message = True
            self._message_id = message_id
            self._messages[-1] += text
            # The bulk of a busy stream: a small payload, not a dump of the whole model.
            chunk = {"sessionUpdate": "agent_message_chunk", "text": text}
            return self.event(NOTIFICATION, now, f"agent: {text}", payload=chunk)
        self._in_message = False
        if isinstance(update, AgentThoughtChunk):
            thought = {"sessionUpdate": "agent_thought_chunk", "text": _text(update.content)}
            return self.event(NOTIFICATION, now, "agent is thinking", payload=thought)
        payload = _dump(update)
        if isinstance(update, ToolCallStart):
            command = _command_text(update.raw_input, update.title)
            self._calls[update.tool_call_id] = (update.kind, command, clock)
            if update.status in _FINISHED:
                return self._finished(
                    update.tool_call_id, update.status, update.raw_output, now, clock, payload
                )
            return self.event(
                NOTIFICATION, now, f"tool ({update.kind or 'other'}): {command}", payload=payload
            )
        if isinstance(update, ToolCallProgress):
            if update.tool_call_id not in self._calls:
                command = _command_text(update.raw_input, update.title)
                self._calls[update.tool_call_id] = (update.kind, command, clock)
            elif update.kind is not None or update.title is not None:
                kind, command, started = self._calls[update.tool_call_id]
                self._calls[update.tool_call_id] = (
                    update.kind or kind,
                    update.title or command,
                    started,
                )
            if update.status in _FINISHED:
                return self._finished(
                    update.tool_call_id, update.status, update.raw_output, now, clock, payload
                )
            _, command, _ = self._calls[update.tool_call_id]
            return self.event(NOTIFICATION, now, f"tool update: {command}", payload=payload)
        if isinstance(update, AgentPlanUpdate):
            done = sum(1 for entry in update.entries if entry.status == "completed")
            return self.event(
                NOTIFICATION,
                now,
                f"plan: {done}/{len(update.entries)} steps done",
                payload=payload,
            )
        if isinstance(update, UsageUpdate):
            return self.event(
                NOTIFICATION,
                now,
                f"context: {update.used}/{update.size} tokens",
                payload=payload,
            )
        kind = payload.get("sessionUpdate")
        return self.event(OTHER_MESSAGE, now, f"session update: {kind}", payload=payload)

    def add_turn_usage(self, usage: Usage | None, now: datetime) -> AgentEvent | None:
        """Add a ``session/prompt`` response's per-turn usage to the totals; the event carries
        the new absolute totals (None when the agent reported none)."""
        if usage is None:
            return None
        turn = TokenUsage(
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            total_tokens=usage.total_tokens,
            cached_input_tokens=usage.cached_read_tokens or 0,
            reasoning_output_tokens=usage.thought_tokens or 0,
        )
        self.usage = turn if self.usage is None else self.usage + turn
        return self.event(
            TOKEN_USAGE_UPDATED,
            now,
            f"tokens: {self.usage.total_tokens} in this session",
            usage=self.usage,
            payload={"usage": _dump(usage)},
        )

    def _finished(
        self,
        call_id: str,
        status: str | None,
        raw_output: Any,
        now: datetime,
        clock: float,
        payload: dict[str, Any],
    ) -> AgentEvent:
        kind, command, started = self._calls.pop(call_id)
        if kind != "execute":
            return self.event(NOTIFICATION, now, f"tool {status}: {command}", payload=payload)
        exit_code = _exit_code(raw_output)
        self.commands.append(
            CommandRun(command, exit_code=exit_code, duration_ms=int((clock - started) * 1000))
        )
        shown = f"exit {exit_code}" if exit_code is not None else status
        return self.event(NOTIFICATION, now, f"ran: {command} ({shown})", payload=payload)


def _dump(value: Any) -> dict[str, Any]:
    dumped = value.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dumped if isinstance(dumped, dict) else {"value": dumped}


def _text(content: Any) -> str:
    return content.text if isinstance(content, TextContentBlock) else ""


def _command_text(raw_input: Any, title: str | None) -> str:
    """The command an ``execute`` call runs: ``rawInput.command`` when the agent sends it (a
    string, or an argv whose ``sh -c``/``bash -lc`` wrapper is dropped), else the title."""
    command = raw_input.get("command") if isinstance(raw_input, Mapping) else None
    if isinstance(command, str) and command.strip():
        return command
    if isinstance(command, list) and command and all(isinstance(p, str) for p in command):
        if len(command) == 3 and command[1] in ("-c", "-lc"):
            return str(command[2])
        return shlex.join(command)
    return title or "(unnamed tool call)"


def _exit_code(raw_output: Any) -> int | None:
    if not isinstance(raw_output, Mapping):
        return None
    for key in ("exit_code", "exitCode"):
        value = raw_output.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None
