"""The human desk: requests agents park for an operator, their answers, and steering.

Each worker run gets a ``RunChannel`` (the ``HumanChannel`` its agent session parks requests
with) and registers its live session for steering. A parked request becomes a
``RequestRecord`` with an opaque id (uuid4 hex, unique across agents and restarts); it ends
``answered`` (an operator's answer), ``timed_out`` (``agent.human_timeout_ms`` passed: the agent
gets a denial, or no answers), ``canceled`` (the run or turn ended first) or ``expired`` (the
service shut down). Records stay in memory, the newest ``RECORD_LIMIT`` of them.

Listeners (``subscribe``) see every record when it is created and at each status change, and
every steer: that is the seam a durable store persists them through. ``on_pending`` tells the
runtime how many requests an issue's run has open (the stall check skips it meanwhile).
"""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from symphony.agents.base import AgentSession
from symphony.human import (
    AnswerOutcome,
    HumanAnswer,
    HumanRequest,
    InvalidAnswer,
    RequestRecord,
    RequestStatus,
    SteerRecord,
    parse_answer,
)
from symphony.issue import Issue
from symphony.logs import get_logger
from symphony.orchestrator.clock import LoopClock

log = get_logger("symphony.orchestrator.human")

RECORD_LIMIT = 2_000
STEER_LIMIT = 200

HumanRecord = RequestRecord | SteerRecord
Listener = Callable[[HumanRecord], None]


@dataclass(slots=True)
class _Run:
    issue_id: str
    identifier: str
    run_id: int
    attempt: int | None
    session: AgentSession | None = None


def request_comment(record: RequestRecord) -> str:
    """The tracker comment that tells people what the agent waits for, and where to answer."""
    request = record.request
    lines = [f"**Symphony: the agent working on {record.issue_identifier} waits for a human.**"]
    lines.append(f"It asks: {request.summary}")
    if request.command:
        lines.append(f"Command: `{request.command}`")
    if request.reason:
        lines.append(f"Reason: {request.reason}")
    for question in request.questions:
        options = f" (options: {', '.join(question.options)})" if question.options else ""
        lines.append(f"Question {question.id}: {question.question}{options}")
    how = (
        "--answer ID=TEXT"
        if request.kind == "question"
        else "--approve | --approve-for-session | --deny"
    )
    lines.append(
        f"Answer it on the Symphony dashboard (issue {record.issue_identifier}, "
        f'"Waiting for you"), or with `symphony answer {record.issue_identifier} {record.id} '
        f"{how}`. Without an answer it is declined after agent.human_timeout_ms."
    )
    return "\n\n".join(lines)


class RunChannel:
    """The ``HumanChannel`` of one run (``symphony.agents.base``)."""

    def __init__(self, desk: HumanDesk, run: _Run) -> None:
        self._desk = desk
        self._run = run

    async def ask(self, request: HumanRequest) -> HumanAnswer:
        return await self._desk._ask(self._run, request)


class HumanDesk:
    def __init__(
        self,
        *,
        timeout_ms: Callable[[], int],
        clock: Callable[[], LoopClock],
        on_pending: Callable[[str, int, int], None] | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._timeout_ms = timeout_ms
        self._clock = clock
        self._on_pending = on_pending
        self._now = now
        self._records: OrderedDict[str, RequestRecord] = OrderedDict()
        self._waiters: dict[str, asyncio.Future[HumanAnswer]] = {}
        self._runs: dict[str, _Run] = {}
        self._steers: list[SteerRecord] = []
        self._listeners: list[Listener] = []
        self._closed = False

    # -- runs ---------------------------------------------------------------------------------

    def open_run(self, issue: Issue, run_id: int, attempt: int | None) -> RunChannel:
        run = _Run(issue.id, issue.identifier, run_id, attempt)
        self._runs[issue.id] = run
        return RunChannel(self, run)

    def attach_session(self, issue_id: str, run_id: int, session: AgentSession | None) -> None:
        run = self._runs.get(issue_id)
        if run is not None and run.run_id == run_id:
            run.session = session

    def close_run(self, issue_id: str, run_id: int) -> None:
        """The run ended: its open requests are canceled and it takes no more steering."""
        run = self._runs.get(issue_id)
        if run is not None and run.run_id == run_id:
            del self._runs[issue_id]
        for record in self.pending(issue_id=issue_id):
            if record.run_id == run_id:
                self._finish(record.id, "canceled", HumanAnswer.declined())

    def expire_all(self) -> None:
        """Service shutdown: every open request is ``expired`` (the agent gets a denial)."""
        self._closed = True
        for record in self.pending():
            self._finish(record.id, "expired", HumanAnswer.declined())

    def restore(self, records: Iterable[RequestRecord], steers: Iterable[SteerRecord]) -> None:
        """Startup: the records a durable store kept from earlier runs (none of them pending:
        the store expires those first), so issue histories show them again."""
        for record in records:
            self._records[record.id] = record
        self._trim()
        self._steers[:0] = list(steers)
        del self._steers[:-STEER_LIMIT]

    # -- reads ----------------------------------------------------------------------------------

    def pending(
        self, *, issue_id: str | None = None, identifier: str | None = None
    ) -> list[RequestRecord]:
        return [
            record
            for record in self._records.values()
            if record.status == "pending"
            and (issue_id is None or record.issue_id == issue_id)
            and (identifier is None or record.issue_identifier == identifier)
        ]

    def records(self, issue_id: str) -> list[RequestRecord]:
        """Every request of the issue still in memory, oldest first."""
        return [record for record in self._records.values() if record.issue_id == issue_id]

    def steers(self, issue_id: str) -> list[SteerRecord]:
        return [steer for steer in self._steers if steer.issue_id == issue_id]

    def get(self, request_id: str) -> RequestRecord | None:
        return self._records.get(request_id)

    def steerable(self, identifier: str) -> bool:
        """An agent session runs for the identifier and takes steering."""
        return any(
            run.identifier == identifier and run.session is not None for run in self._runs.values()
        )

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """``listener`` sees each request when created and at every status change, and each
        steer. It runs on the event loop and must be quick; one that raises is logged."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    # -- operator actions ---------------------------------------------------------------------

    def answer(self, identifier: str, request_id: str, body: object) -> AnswerOutcome:
        record = self._records.get(request_id)
        if record is None or record.issue_identifier != identifier:
            return AnswerOutcome(
                "not_found", f"No request {request_id} for {identifier} (symphony requests)"
            )
        if record.status != "pending":
            return AnswerOutcome(
                "already_answered", f"Request {request_id} is {record.status}", record
            )
        try:
            answer = parse_answer(record.request, body)
        except InvalidAnswer as exc:
            return AnswerOutcome("invalid", str(exc), record)
        finished = self._finish(request_id, "answered", answer)
        log.info(
            "human request answered",
            issue_id=record.issue_id,
            issue_identifier=identifier,
            request_id=request_id,
            kind=record.kind,
            decision=answer.decision if record.kind != "question" else "answers",
        )
        return AnswerOutcome("accepted", "answered", finished)

    async def steer(self, identifier: str, message: str) -> SteerRecord | None:
        """Deliver ``message`` to the identifier's running agent; None when none runs.

        Raises ``AgentError`` when the session is closed or refuses it.
        """
        run = next((r for r in self._runs.values() if r.identifier == identifier), None)
        if run is None or run.session is None:
            return None
        delivery = await run.session.steer(message)
        record = SteerRecord(
            id=uuid.uuid4().hex,
            issue_id=run.issue_id,
            issue_identifier=run.identifier,
            run_id=run.run_id,
            message=message,
            at=self._now(),
            delivery=delivery,
        )
        self._steers.append(record)
        del self._steers[:-STEER_LIMIT]
        self._notify(record)
        return record

    # -- the channel ----------------------------------------------------------------------------

    async def _ask(self, run: _Run, request: HumanRequest) -> HumanAnswer:
        if self._closed:
            return HumanAnswer.declined()
        record = RequestRecord(
            id=uuid.uuid4().hex,
            issue_id=run.issue_id,
            issue_identifier=run.identifier,
            run_id=run.run_id,
            attempt=run.attempt,
            request=request,
            created_at=self._now(),
        )
        waiter: asyncio.Future[HumanAnswer] = asyncio.get_running_loop().create_future()
        self._records[record.id] = record
        self._waiters[record.id] = waiter
        self._trim()
        log.info(
            "agent waits for a human",
            issue_id=run.issue_id,
            issue_identifier=run.identifier,
            request_id=record.id,
            kind=request.kind,
            summary=request.summary,
        )
        self._notify(record)
        self._pending_changed(run.issue_id, run.run_id)
        timeout_ms = self._timeout_ms()
        handle = self._clock().call_later(
            timeout_ms / 1000.0, self._finish, record.id, "timed_out", HumanAnswer.declined()
        )
        try:
            return await waiter
        finally:
            handle.cancel()
            # Cancelled (the turn or the session ended first): withdraw it.
            self._finish(record.id, "canceled", HumanAnswer.declined())
            self._waiters.pop(record.id, None)

    def _finish(
        self, request_id: str, status: RequestStatus, answer: HumanAnswer
    ) -> RequestRecord | None:
        record = self._records.get(request_id)
        if record is None or record.status != "pending":
            return record
        if status == "timed_out":
            log.warning(
                "human request timed out, declined",
                issue_id=record.issue_id,
                issue_identifier=record.issue_identifier,
                request_id=request_id,
                timeout_ms=self._timeout_ms(),
            )
        record = replace(record, status=status, answer=answer, answered_at=self._now())
        self._records[request_id] = record
        waiter = self._waiters.get(request_id)
        if waiter is not None and not waiter.done():
            waiter.set_result(answer)
        self._notify(record)
        self._pending_changed(record.issue_id, record.run_id)
        return record

    def _pending_changed(self, issue_id: str, run_id: int) -> None:
        if self._on_pending is None:
            return
        count = sum(1 for r in self.pending(issue_id=issue_id) if r.run_id == run_id)
        self._on_pending(issue_id, run_id, count)

    def _notify(self, record: HumanRecord) -> None:
        for listener in list(self._listeners):
            try:
                listener(record)
            except Exception:
                log.exception("human request listener raised")

    def _trim(self) -> None:
        excess = len(self._records) - RECORD_LIMIT
        if excess <= 0:
            return
        for request_id in [i for i, r in self._records.items() if r.status != "pending"][:excess]:
            del self._records[request_id]
