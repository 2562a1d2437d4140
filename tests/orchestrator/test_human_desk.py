"""The human desk: parking, answering, time-outs, cancellation and steering, on a fake clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from symphony.human import (
    HumanAnswer,
    HumanRequest,
    Question,
    RequestRecord,
    SteerDelivery,
    SteerRecord,
)
from symphony.issue import Issue
from symphony.orchestrator.human_desk import HumanDesk
from tests.support.loop_clock import FakeLoopClock
from tests.support.waiting import wait_until

ISSUE = Issue(id="id-1", identifier="SYM-1", title="t", state="Todo", dispatchable=True)
COMMAND = HumanRequest(kind="command_approval", summary="run make", command="make", cwd="/ws")
QUESTION = HumanRequest(
    kind="question",
    summary="Which color?",
    questions=(Question(id="color", question="Which color?", options=("Red", "Blue")),),
)
TIMEOUT_MS = 60_000


class Desk:
    def __init__(self) -> None:
        self.clock = FakeLoopClock()
        self.counts: list[tuple[str, int, int]] = []
        self.seen: list[RequestRecord | SteerRecord] = []
        self.desk = HumanDesk(
            timeout_ms=lambda: TIMEOUT_MS,
            clock=lambda: self.clock,
            on_pending=lambda *count: self.counts.append(count),
            now=lambda: datetime(2026, 1, 1, tzinfo=UTC),
        )
        self.desk.subscribe(self.seen.append)

    async def park(
        self, request: HumanRequest = COMMAND, run_id: int = 1
    ) -> tuple[asyncio.Task[HumanAnswer], RequestRecord]:
        channel = self.desk.open_run(ISSUE, run_id, 2)
        task = asyncio.create_task(channel.ask(request))
        pending = await wait_until(lambda: self.desk.pending(identifier="SYM-1"))
        return task, pending[-1]


async def test_an_answer_reaches_the_waiting_agent_and_is_recorded() -> None:
    d = Desk()
    task, record = await d.park()
    assert len(record.id) == 32 and record.attempt == 2 and record.run_id == 1
    assert d.counts == [("id-1", 1, 1)]

    outcome = d.desk.answer("SYM-1", record.id, {"decision": "approve_for_session"})

    assert outcome.status == "accepted"
    assert await task == HumanAnswer(decision="approve_for_session")
    final = d.desk.get(record.id)
    assert final is not None and final.status == "answered" and final.answered_at is not None
    assert d.counts[-1] == ("id-1", 1, 0)
    assert [r.status for r in d.seen if isinstance(r, RequestRecord)] == ["pending", "answered"]


async def test_the_human_timeout_declines_and_marks_it_timed_out() -> None:
    d = Desk()
    task, record = await d.park()
    d.clock.advance(TIMEOUT_MS / 1000 - 1)
    assert not task.done()
    d.clock.advance(1)
    assert await task == HumanAnswer.declined()
    assert d.desk.get(record.id).status == "timed_out"  # type: ignore[union-attr]
    again = d.desk.answer("SYM-1", record.id, {"decision": "approve"})
    assert (again.status, again.record.status) == ("already_answered", "timed_out")  # type: ignore[union-attr]


async def test_a_withdrawn_request_is_canceled_and_its_timer_stops() -> None:
    d = Desk()
    task, record = await d.park()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert d.desk.get(record.id).status == "canceled"  # type: ignore[union-attr]
    assert d.clock.pending() == []


async def test_the_run_ending_cancels_and_shutdown_expires() -> None:
    d = Desk()
    first, one = await d.park(run_id=1)
    d.desk.close_run("id-1", 1)
    assert await first == HumanAnswer.declined()
    assert d.desk.get(one.id).status == "canceled"  # type: ignore[union-attr]

    second, two = await d.park(run_id=2)
    d.desk.expire_all()
    assert await second == HumanAnswer.declined()
    assert d.desk.get(two.id).status == "expired"  # type: ignore[union-attr]
    # After shutdown nothing is parked any more: the agent gets a denial at once.
    late = d.desk.open_run(ISSUE, 3, None)
    assert await late.ask(COMMAND) == HumanAnswer.declined()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"decision": "maybe"}, "decision"),
        ({"answers": {"color": "Red"}}, "decision"),
        ([], "JSON object"),
    ],
)
async def test_a_bad_approval_answer_is_invalid_and_leaves_it_pending(
    body: Any, message: str
) -> None:
    d = Desk()
    task, record = await d.park()
    outcome = d.desk.answer("SYM-1", record.id, body)
    assert outcome.status == "invalid" and message in outcome.message
    assert d.desk.get(record.id).status == "pending"  # type: ignore[union-attr]
    task.cancel()


@pytest.mark.parametrize(
    ("answers", "message"),
    [({}, "missing: color"), ({"colour": "Red", "color": "Red"}, "unknown question")],
)
async def test_question_answers_must_cover_exactly_the_questions(
    answers: dict[str, str], message: str
) -> None:
    d = Desk()
    task, record = await d.park(QUESTION)
    outcome = d.desk.answer("SYM-1", record.id, {"answers": answers})
    assert outcome.status == "invalid" and message in outcome.message
    ok = d.desk.answer("SYM-1", record.id, {"answers": {"color": "Green, really"}})
    assert ok.status == "accepted"
    assert await task == HumanAnswer(answers={"color": "Green, really"})


async def test_unknown_ids_and_other_issues_are_not_found() -> None:
    d = Desk()
    task, record = await d.park()
    assert d.desk.answer("SYM-1", "nope", {"decision": "deny"}).status == "not_found"
    assert d.desk.answer("SYM-2", record.id, {"decision": "deny"}).status == "not_found"
    task.cancel()


class SteerableSession:
    def __init__(self) -> None:
        self.steers: list[str] = []

    async def steer(self, message: str) -> SteerDelivery:
        self.steers.append(message)
        return "next_turn"


async def test_steering_reaches_the_live_session_and_is_recorded() -> None:
    d = Desk()
    assert await d.desk.steer("SYM-1", "hi") is None
    d.desk.open_run(ISSUE, 1, None)
    session = SteerableSession()
    d.desk.attach_session("id-1", 1, session)  # type: ignore[arg-type]
    steered = await d.desk.steer("SYM-1", "use tabs")
    assert steered is not None and steered.delivery == "next_turn" and steered.run_id == 1
    assert session.steers == ["use tabs"]
    assert d.desk.steers("id-1") == [steered] and d.seen[-1] == steered
    d.desk.close_run("id-1", 1)
    assert await d.desk.steer("SYM-1", "again") is None
