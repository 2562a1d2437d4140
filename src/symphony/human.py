"""What an agent asks a human, and the human's answer, in neutral terms (docs/human-requests.md).

A backend turns its own server requests (Codex: command/file-change/MCP approvals, questions)
into a ``HumanRequest`` and hands it to the session's ``HumanChannel``
(``symphony.agents.base``); the answer comes back as a ``HumanAnswer``, which the backend
translates into its wire format. The orchestrator keeps one ``RequestRecord`` per request and
run; surfaces (HTTP API, CLI, dashboard) read those and parse answers with ``parse_answer``.
Plain data over the standard library, so the pure core may use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal, get_args

RequestKind = Literal["command_approval", "file_change_approval", "mcp_approval", "question"]
Decision = Literal["approve", "approve_for_session", "deny"]
RequestStatus = Literal["pending", "answered", "timed_out", "expired", "canceled"]
# Where a steer message went: into the turn that is running, or the start of the next one.
SteerDelivery = Literal["running_turn", "next_turn"]

DECISIONS: Final[tuple[Decision, ...]] = get_args(Decision)
APPROVAL_KINDS: Final = frozenset({"command_approval", "file_change_approval", "mcp_approval"})
DEFAULT_HUMAN_TIMEOUT_MS: Final = 3_600_000
# What every surface (and the store) shows instead of an answer to a question marked secret.
HIDDEN_ANSWER: Final = "(secret)"
# Long enough for a long command or a diff, short enough for a JSON row per request.
TEXT_LIMIT: Final = 20_000


@dataclass(frozen=True, slots=True)
class Question:
    """One question of a ``question`` request; ``options`` are the labels offered, if any."""

    id: str
    question: str
    header: str = ""
    options: tuple[str, ...] = ()
    # The human may answer with free text even when options are offered.
    allows_other: bool = True
    secret: bool = False


@dataclass(frozen=True, slots=True)
class HumanRequest:
    """One decision or answer the agent waits for; the backend fills in what it knows."""

    kind: RequestKind
    summary: str
    command: str | None = None
    cwd: str | None = None
    reason: str | None = None
    diff: str | None = None
    questions: tuple[Question, ...] = ()


@dataclass(frozen=True, slots=True)
class HumanAnswer:
    """A decision (approvals) or answers by question id (questions).

    ``declined()`` is what the agent gets when no human answered (time-out, cancellation): a
    denial for approvals, no answers for questions.
    """

    decision: Decision | None = None
    answers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def declined(cls) -> HumanAnswer:
        return cls(decision="deny")

    @property
    def approves(self) -> bool:
        return self.decision in ("approve", "approve_for_session")


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request of one run, as the orchestrator keeps it (and a store may persist it).

    ``id`` is opaque and unique across agents and restarts (never the agent's own request id).
    ``answer`` is set once the status left ``pending`` through an answer or a time-out.
    """

    id: str
    issue_id: str
    issue_identifier: str
    run_id: int
    attempt: int | None
    request: HumanRequest
    created_at: datetime
    status: RequestStatus = "pending"
    answer: HumanAnswer | None = None
    answered_at: datetime | None = None

    @property
    def kind(self) -> RequestKind:
        return self.request.kind


def question_fields(question: Question) -> dict[str, Any]:
    """A question as JSON fields (the API's ``questions[]`` and the store's copy)."""
    return {
        "id": question.id,
        "header": question.header,
        "question": question.question,
        "options": list(question.options),
        "allows_other": question.allows_other,
        "secret": question.secret,
    }


def shown_answers(record: RequestRecord) -> dict[str, str] | None:
    """The record's answers with those to secret questions replaced by ``HIDDEN_ANSWER``: what
    every surface shows and the store keeps."""
    if record.answer is None:
        return None
    secret = {q.id for q in record.request.questions if q.secret}
    return {
        qid: HIDDEN_ANSWER if qid in secret else text for qid, text in record.answer.answers.items()
    }


@dataclass(frozen=True, slots=True)
class SteerRecord:
    """One operator message to a running agent; ``delivery`` says where it went."""

    id: str
    issue_id: str
    issue_identifier: str
    run_id: int
    message: str
    at: datetime
    delivery: SteerDelivery


@dataclass(frozen=True, slots=True)
class AnswerOutcome:
    """What answering a request did: ``accepted``, or why not (the API maps it to a status)."""

    status: Literal["accepted", "not_found", "already_answered", "invalid"]
    message: str
    record: RequestRecord | None = None


class InvalidAnswer(ValueError):
    """An answer body that does not fit the request; the message says what to send instead."""


def parse_answer(request: HumanRequest, body: Any) -> HumanAnswer:
    """Check an operator's answer body against ``request``; raises ``InvalidAnswer``.

    Approvals take ``{"decision": "approve" | "approve_for_session" | "deny"}``, questions
    ``{"answers": {"<question id>": "<text or option label>"}}`` with every question answered.
    """
    if not isinstance(body, Mapping):
        raise InvalidAnswer("the body must be a JSON object")
    if request.kind in APPROVAL_KINDS:
        decision = body.get("decision")
        if decision not in DECISIONS:
            raise InvalidAnswer(
                f'{request.kind} needs {{"decision": one of {", ".join(DECISIONS)}}}'
            )
        return HumanAnswer(decision=decision)
    answers = body.get("answers")
    if not isinstance(answers, Mapping) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in answers.items()
    ):
        raise InvalidAnswer('a question needs {"answers": {"<question id>": "<text>"}}')
    known = {question.id: question for question in request.questions}
    unknown = sorted(set(answers) - set(known))
    if unknown:
        raise InvalidAnswer(
            f"unknown question id(s) {', '.join(unknown)}; the questions are "
            f"{', '.join(known) or '(none)'}"
        )
    missing = sorted(set(known) - set(answers))
    if missing:
        raise InvalidAnswer(f"every question needs an answer; missing: {', '.join(missing)}")
    for qid, text in answers.items():
        question = known[qid]
        if question.options and not question.allows_other and text not in question.options:
            raise InvalidAnswer(
                f"question {qid} takes one of the options: {', '.join(question.options)}"
            )
    return HumanAnswer(answers=dict(answers))
