"""How Symphony answers codex's server→client requests (SPEC §10.5); pure decisions.

Posture (docs/codex.md): with ``approval_policy: never`` codex sends no approval requests; any
that still arrive are accepted for the session, like the spec's high-trust example. Under any
other policy a request means codex wants a human decision and Symphony has no operator channel,
so it *declines*: the command or patch does not run, the model is told, the turn continues.
Requests for more sandbox permissions are always declined. Genuine questions for a human
(``item/tool/requestUserInput``, MCP form elicitations) cannot be answered and fail the turn with
``turn_input_required``; they are still answered first so codex never waits on us. Unknown
requests get a JSON-RPC error. Nothing is ever left unanswered.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from symphony.agents import events
from symphony.agents.codex.summary import clip
from symphony.agents.codex.tools import tool_call_result
from symphony.tools import unsupported_tool

COMMAND_APPROVAL: Final = "item/commandExecution/requestApproval"
FILE_CHANGE_APPROVAL: Final = "item/fileChange/requestApproval"
PERMISSIONS_APPROVAL: Final = "item/permissions/requestApproval"
LEGACY_EXEC_APPROVAL: Final = "execCommandApproval"
LEGACY_PATCH_APPROVAL: Final = "applyPatchApproval"
USER_INPUT: Final = "item/tool/requestUserInput"
MCP_ELICITATION: Final = "mcpServer/elicitation/request"
TOOL_CALL: Final = "item/tool/call"
CURRENT_TIME: Final = "currentTime/read"

APPROVAL_METHODS: Final = frozenset(
    {
        COMMAND_APPROVAL,
        FILE_CHANGE_APPROVAL,
        PERMISSIONS_APPROVAL,
        LEGACY_EXEC_APPROVAL,
        LEGACY_PATCH_APPROVAL,
    }
)
MCP_APPROVAL_QUESTION_PREFIX: Final = "mcp_tool_call_approval_"
METHOD_NOT_FOUND: Final = -32601
DECLINE_REASON: Final = (
    "Symphony runs unattended and declines actions that need approval under this "
    "approval_policy; continue within the sandbox."
)

# Preferred approval labels, best first; otherwise the first word decides.
_APPROVE_LABELS = ("approve this session", "approve once")
_APPROVE_WORDS = frozenset({"approve", "allow", "accept", "yes"})
_DECLINE_WORDS = frozenset({"deny", "decline", "reject", "no", "cancel", "don't", "dont", "skip"})


@dataclass(frozen=True, slots=True)
class Reply:
    """Answer now (``result`` or JSON-RPC ``error``) and emit ``event``."""

    event: str
    message: str
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    decision: str | None = None


@dataclass(frozen=True, slots=True)
class NeedsHuman:
    """Answer with ``result`` so codex moves on, then fail the turn: input was required."""

    result: dict[str, Any]
    message: str


@dataclass(frozen=True, slots=True)
class CallTool:
    """Run an advertised dynamic tool host-side; the answer follows when it finishes."""

    name: str
    arguments: Any
    call_id: str | None
    turn_id: str | None


Decision = Reply | NeedsHuman | CallTool


def decide(
    method: str,
    params: Mapping[str, Any],
    *,
    auto_approve: bool,
    tool_names: Collection[str],
    now: datetime,
) -> Decision:
    if method in APPROVAL_METHODS:
        return _approval(method, params, auto_approve)
    if method == USER_INPUT:
        reply = _mcp_approval_questions(params, auto_approve)
        return reply or NeedsHuman({"answers": {}}, _needs_human_text(params))
    if method == MCP_ELICITATION:
        reply = _tool_approval_elicitation(params, auto_approve)
        return reply or NeedsHuman({"action": "cancel", "content": None}, _needs_human_text(params))
    if method == TOOL_CALL:
        return _tool_call(params, tool_names)
    if method == CURRENT_TIME:
        return Reply(
            events.NOTIFICATION,
            "answered currentTime/read",
            {"currentTimeAt": int(now.timestamp())},
        )
    return Reply(
        events.UNSUPPORTED_REQUEST,
        f"answered unsupported request {method} with an error",
        error={"code": METHOD_NOT_FOUND, "message": f"Symphony does not handle {method!r}"},
    )


def _approved(subject: str, result: dict[str, Any], decision: str, approved: bool) -> Reply:
    name = events.APPROVAL_AUTO_APPROVED if approved else events.APPROVAL_DECLINED
    verb = "approved" if approved else "declined"
    return Reply(name, clip(f"{verb} {subject} ({decision})"), result, decision=decision)


def _approval(method: str, params: Mapping[str, Any], auto_approve: bool) -> Reply:
    subject = _subject(method, params)
    if method == PERMISSIONS_APPROVAL:
        # Granting nothing keeps the configured sandbox; a broader grant is never automatic.
        return _approved(subject, {"permissions": {}, "scope": "turn"}, "grant none", False)
    if method in (LEGACY_EXEC_APPROVAL, LEGACY_PATCH_APPROVAL):
        if auto_approve:
            return _approved(
                subject, {"decision": "approved_for_session"}, "approved_for_session", True
            )
        denied = {"decision": {"denied": {"rejection": DECLINE_REASON}}}
        return _approved(subject, denied, "denied", False)
    if auto_approve:
        return _approved(subject, {"decision": "acceptForSession"}, "acceptForSession", True)
    return _approved(subject, {"decision": "decline"}, "decline", False)


def _labels(question: Mapping[str, Any]) -> list[str]:
    options = question.get("options")
    if not isinstance(options, Sequence):
        return []
    return [
        str(option["label"])
        for option in options
        if isinstance(option, Mapping) and isinstance(option.get("label"), str)
    ]


def _pick(labels: Sequence[str], *, approve: bool) -> str | None:
    lowered = {label.strip().lower(): label for label in labels}
    if approve:
        for wanted in _APPROVE_LABELS:
            if wanted in lowered:
                return lowered[wanted]
    words = _APPROVE_WORDS if approve else _DECLINE_WORDS
    for norm, label in lowered.items():
        first = norm.split()[0].strip(",.:;!") if norm.split() else ""
        if first in words or (not approve and norm.startswith("do not")):
            return label
    return None


def _mcp_approval_questions(params: Mapping[str, Any], auto_approve: bool) -> Reply | None:
    """Questions that are all MCP tool approvals get an approval answer; others need a human."""
    questions = params.get("questions")
    if not isinstance(questions, Sequence) or not questions:
        return None
    answers: dict[str, Any] = {}
    for question in questions:
        if not isinstance(question, Mapping):
            return None
        qid = question.get("id")
        if not isinstance(qid, str) or not qid.startswith(MCP_APPROVAL_QUESTION_PREFIX):
            return None
        label = _pick(_labels(question), approve=auto_approve)
        if label is None:
            return None
        answers[qid] = {"answers": [label]}
    decision = "approve" if auto_approve else "decline"
    return _approved("MCP tool call", {"answers": answers}, decision, auto_approve)


def _tool_approval_elicitation(params: Mapping[str, Any], auto_approve: bool) -> Reply | None:
    """In 0.169 MCP tool approvals arrive as elicitations tagged ``mcp_tool_call``."""
    meta = params.get("_meta")
    if not isinstance(meta, Mapping) or meta.get("codex_approval_kind") != "mcp_tool_call":
        return None
    subject = _subject(MCP_ELICITATION, params)
    if auto_approve:
        return _approved(subject, {"action": "accept", "content": {}}, "accept", True)
    return _approved(subject, {"action": "decline", "content": None}, "decline", False)


def _tool_call(params: Mapping[str, Any], tool_names: Collection[str]) -> Decision:
    raw_name = params.get("tool", params.get("name"))
    name = raw_name.strip() if isinstance(raw_name, str) else ""
    arguments = params.get("arguments")
    call_id = params.get("callId")
    turn_id = params.get("turnId")
    if name not in tool_names:
        return Reply(
            events.UNSUPPORTED_TOOL_CALL,
            clip(f"unsupported tool call: {name or '(no name)'}"),
            tool_call_result(unsupported_tool(name, sorted(tool_names))),
        )
    return CallTool(
        name,
        {} if arguments is None else arguments,
        call_id if isinstance(call_id, str) else None,
        turn_id if isinstance(turn_id, str) else None,
    )


def _subject(method: str, params: Mapping[str, Any]) -> str:
    command = params.get("command")
    if isinstance(command, str) and command:
        return f"command {command}"
    if isinstance(command, list):
        return "command " + " ".join(str(part) for part in command)
    if method in (FILE_CHANGE_APPROVAL, LEGACY_PATCH_APPROVAL):
        return "file change"
    if method == PERMISSIONS_APPROVAL:
        return "extra sandbox permissions"
    meta = params.get("_meta")
    if isinstance(meta, Mapping) and meta.get("tool_name"):
        return f"MCP tool {meta.get('tool_name')}"
    return method


def _needs_human_text(params: Mapping[str, Any]) -> str:
    text = "codex asked for user input; Symphony has no operator channel"
    question: Any = params.get("message")
    questions = params.get("questions")
    if isinstance(questions, list) and questions and isinstance(questions[0], Mapping):
        question = questions[0].get("question")
    return clip(f"{text}: {question}") if isinstance(question, str) and question else text
