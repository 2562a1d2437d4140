"""How Symphony answers codex's server→client requests (SPEC §10.5); pure decisions.

Posture (docs/codex.md): with ``approval_policy: never`` codex sends no approval requests; any
that still arrive are accepted for the session, like the spec's high-trust example. Under any
other policy a request means codex wants a human decision: when the session has a human channel
(the orchestrator's, docs/human-requests.md) the request is *parked* there (``AskHuman``) and
answered with the operator's decision; without one Symphony *declines*: the command or patch
does not run, the model is told, the turn continues. Questions for a human
(``item/tool/requestUserInput``) are parked the same way; without a channel they, and MCP form
elicitations that are not tool approvals, fail the turn with ``turn_input_required`` (answered
first so codex never waits on us). Requests for more sandbox permissions are always declined.
Unknown requests get a JSON-RPC error. Nothing is ever left unanswered.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from symphony.agents import events
from symphony.agents.codex.summary import clip
from symphony.agents.codex.tools import tool_call_result
from symphony.human import HumanAnswer, HumanRequest, Question
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


@dataclass(frozen=True, slots=True)
class AskHuman:
    """Park the request with the session's human channel; ``human_result`` turns the answer into
    codex's result."""

    method: str
    params: Mapping[str, Any]
    request: HumanRequest


Decision = Reply | NeedsHuman | CallTool | AskHuman


def decide(
    method: str,
    params: Mapping[str, Any],
    *,
    auto_approve: bool,
    tool_names: Collection[str],
    now: datetime,
    ask_human: bool = False,
    diffs: Mapping[str, str] | None = None,
    mcp_approval: str | None = None,
) -> Decision:
    """``ask_human``: the session has a human channel; ``diffs`` maps codex item ids to the text
    of their pending file changes (a file-change approval names only the item); ``mcp_approval``
    (``codex.mcp_approval``) overrides how MCP tool-call approvals are answered: ``approve``,
    ``deny``, or ``ask`` (the human channel; declined without one)."""
    human = ask_human and not auto_approve
    mcp_human, mcp_approve = human, auto_approve
    if mcp_approval is not None:
        mcp_human = ask_human and mcp_approval == "ask"
        mcp_approve = mcp_approval == "approve"
    if method in (COMMAND_APPROVAL, FILE_CHANGE_APPROVAL) and human:
        return AskHuman(method, params, _approval_request(method, params, diffs or {}))
    if method in APPROVAL_METHODS:
        return _approval(method, params, auto_approve)
    if method == USER_INPUT:
        if mcp_human and _all_mcp_approvals(params):
            return AskHuman(method, params, _mcp_question_request(params))
        reply = _mcp_approval_questions(params, mcp_approve)
        if reply is not None:
            return reply
        if ask_human and _questions(params):
            return AskHuman(method, params, _question_request(params))
        return NeedsHuman({"answers": {}}, _needs_human_text(params))
    if method == MCP_ELICITATION:
        if mcp_human and _is_tool_approval(params):
            return AskHuman(method, params, _elicitation_request(params))
        reply = _tool_approval_elicitation(params, mcp_approve)
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


def _is_tool_approval(params: Mapping[str, Any]) -> bool:
    meta = params.get("_meta")
    return isinstance(meta, Mapping) and meta.get("codex_approval_kind") == "mcp_tool_call"


def _tool_approval_elicitation(params: Mapping[str, Any], auto_approve: bool) -> Reply | None:
    """In 0.169 MCP tool approvals arrive as elicitations tagged ``mcp_tool_call``."""
    if not _is_tool_approval(params):
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


# -- parking for a human --------------------------------------------------------------------


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _command_text(command: Any) -> str | None:
    if isinstance(command, list):
        return " ".join(str(part) for part in command) or None
    return _text(command)


def _approval_request(
    method: str, params: Mapping[str, Any], diffs: Mapping[str, str]
) -> HumanRequest:
    reason = _text(params.get("reason"))
    if method == COMMAND_APPROVAL:
        command = _command_text(params.get("command"))
        return HumanRequest(
            kind="command_approval",
            summary=clip(f"run {command}" if command else "run a command"),
            command=command,
            cwd=_text(params.get("cwd")),
            reason=reason,
        )
    item_id = params.get("itemId")
    diff = diffs.get(item_id) if isinstance(item_id, str) else None
    grant_root = _text(params.get("grantRoot"))
    summary = f"write under {grant_root}" if grant_root else "apply a file change"
    return HumanRequest(
        kind="file_change_approval", summary=summary, cwd=grant_root, reason=reason, diff=diff
    )


def _questions(params: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    questions = params.get("questions")
    if not isinstance(questions, Sequence) or isinstance(questions, str):
        return []
    found = [q for q in questions if isinstance(q, Mapping) and isinstance(q.get("id"), str)]
    return found if len(found) == len(questions) else []


def _all_mcp_approvals(params: Mapping[str, Any]) -> bool:
    questions = _questions(params)
    return bool(questions) and all(
        str(q["id"]).startswith(MCP_APPROVAL_QUESTION_PREFIX) for q in questions
    )


def _question_request(params: Mapping[str, Any]) -> HumanRequest:
    questions = tuple(
        Question(
            id=str(q["id"]),
            question=_text(q.get("question")) or "",
            header=_text(q.get("header")) or "",
            options=tuple(_labels(q)),
            allows_other=bool(q.get("isOther")) or not _labels(q),
            secret=bool(q.get("isSecret")),
        )
        for q in _questions(params)
    )
    first = questions[0].question or questions[0].header if questions else ""
    return HumanRequest(
        kind="question", summary=clip(first or "the agent asks a question"), questions=questions
    )


def _mcp_question_request(params: Mapping[str, Any]) -> HumanRequest:
    first = _questions(params)[0]
    text = _text(first.get("question")) or "use an MCP tool"
    return HumanRequest(kind="mcp_approval", summary=clip(text), reason=text)


def _elicitation_request(params: Mapping[str, Any]) -> HumanRequest:
    meta = params.get("_meta")
    tool = meta.get("tool_name") if isinstance(meta, Mapping) else None
    server = _text(params.get("serverName"))
    subject = f"MCP tool {tool}" if tool else "an MCP tool"
    if server:
        subject += f" ({server})"
    tool_params = meta.get("tool_params") if isinstance(meta, Mapping) else None
    arguments = json.dumps(tool_params, sort_keys=True) if tool_params is not None else None
    return HumanRequest(
        kind="mcp_approval",
        summary=clip(f"call {subject}"),
        command=clip(f"{tool} {arguments}") if tool and arguments else None,
        reason=_text(params.get("message")),
    )


_WIRE_DECISIONS = {
    "approve": "accept",
    "approve_for_session": "acceptForSession",
    "deny": "decline",
}


def human_result(ask: AskHuman, answer: HumanAnswer) -> tuple[dict[str, Any], str]:
    """Codex's result for a parked request, and the decision word for the event."""
    method, params = ask.method, ask.params
    if method in (COMMAND_APPROVAL, FILE_CHANGE_APPROVAL):
        decision = _WIRE_DECISIONS[answer.decision or "deny"]
        return {"decision": decision}, decision
    if method == MCP_ELICITATION:
        if answer.approves:
            return {"action": "accept", "content": {}}, "accept"
        return {"action": "decline", "content": None}, "decline"
    if ask.request.kind == "mcp_approval":
        answers: dict[str, Any] = {}
        for question in _questions(params):
            label = _pick(_labels(question), approve=answer.approves)
            if label is not None:
                answers[str(question["id"])] = {"answers": [label]}
        return {"answers": answers}, "approve" if answer.approves else "decline"
    given = {qid: {"answers": [text]} for qid, text in answer.answers.items()}
    return {"answers": given}, "answered" if given else "unanswered"


def _needs_human_text(params: Mapping[str, Any]) -> str:
    text = "codex asked for user input; Symphony has no operator channel"
    question: Any = params.get("message")
    questions = params.get("questions")
    if isinstance(questions, list) and questions and isinstance(questions[0], Mapping):
        question = questions[0].get("question")
    return clip(f"{text}: {question}") if isinstance(question, str) and question else text
