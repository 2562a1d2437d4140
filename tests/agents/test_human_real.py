"""Requests parked for a human and operator steering, against the REAL codex binary (0.169).

The session gets a scripted human channel; the fake model (tests/support/fake_model.py) shows
what codex sent back to it. See docs/human-requests.md.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from symphony.agents import events
from symphony.human import HumanAnswer, HumanRequest
from tests.agents.test_codex_real import ISSUE, PROMPT, Harness, harness, pytestmark
from tests.support.fake_model import Reply, write_codex_home
from tests.support.waiting import wait_until

__all__ = ["harness", "pytestmark"]


class ScriptedHuman:
    """A human channel that records each request and answers when the test says so."""

    def __init__(self) -> None:
        self.asked: list[HumanRequest] = []
        self.answers: asyncio.Queue[HumanAnswer] = asyncio.Queue()

    async def ask(self, request: HumanRequest) -> HumanAnswer:
        self.asked.append(request)
        return await asyncio.wait_for(self.answers.get(), timeout=30)


@pytest.mark.parametrize(
    ("decision", "created"), [("approve", True), ("approve_for_session", True), ("deny", False)]
)
async def test_command_approval_is_parked_and_the_answer_decides(
    harness: Harness, decision: str, created: bool
) -> None:
    harness.model.script(
        Reply.exec_command("touch approved.txt"),
        Reply.message("Done."),
    )
    human = ScriptedHuman()
    session = await harness.start(approval_policy="untrusted", human=human)
    try:
        turn = asyncio.create_task(session.run_turn(PROMPT, issue=ISSUE))
        await wait_until(lambda: human.asked, "the command approval reached the human")
        (request,) = human.asked
        assert request.kind == "command_approval"
        assert request.command is not None and "touch approved.txt" in request.command
        assert request.cwd == str(harness.workspace)
        assert not turn.done()
        human.answers.put_nowait(HumanAnswer(decision=decision))  # type: ignore[arg-type]
        result = await asyncio.wait_for(turn, timeout=30)
    finally:
        await session.stop()

    assert result.status == "completed"
    assert (harness.workspace / "approved.txt").exists() is created
    (answered,) = harness.named(events.HUMAN_REQUEST_ANSWERED)
    wire = {"approve": "accept", "approve_for_session": "acceptForSession", "deny": "decline"}
    assert answered.payload["decision"] == wire[decision]
    assert harness.named(events.HUMAN_REQUEST)
    (output,) = harness.model.requests[1].function_call_outputs().values()
    assert ("rejected" in output.lower()) is not created


async def test_question_is_answered_and_the_answer_reaches_the_model(
    harness: Harness, tmp_path: Path
) -> None:
    write_codex_home(
        tmp_path / "codex-home",
        base_url=harness.model.base_url,
        extra_toml="default_mode_request_user_input = true\n",
    )
    question = {
        "id": "color",
        "header": "Color",
        "question": "Which color should the button be?",
        "options": [
            {"label": "Red", "description": "Warm."},
            {"label": "Blue", "description": "Calm."},
        ],
    }
    harness.model.script(
        Reply.function_call("request_user_input", {"questions": [question]}),
        Reply.message("Blue it is."),
    )
    human = ScriptedHuman()
    session = await harness.start(human=human)
    try:
        turn = asyncio.create_task(session.run_turn(PROMPT, issue=ISSUE))
        await wait_until(lambda: human.asked, "the question reached the human")
        (request,) = human.asked
        assert request.kind == "question"
        (asked,) = request.questions
        assert (asked.id, asked.question, asked.options) == (
            "color",
            "Which color should the button be?",
            ("Red", "Blue"),
        )
        human.answers.put_nowait(HumanAnswer(answers={"color": "Teal, actually"}))
        result = await asyncio.wait_for(turn, timeout=30)
    finally:
        await session.stop()

    assert result.status == "completed"
    (output,) = harness.model.requests[1].function_call_outputs().values()
    assert "Teal, actually" in output


async def test_steer_reaches_the_model_in_the_running_turn(harness: Harness) -> None:
    gate = harness.workspace / "go"
    # The command holds the turn open until the test opens the gate (bounded at 20 s).
    wait_for_gate = "for i in $(seq 400); do [ -f go ] && break; sleep 0.05; done; echo waited"
    harness.model.script(Reply.exec_command(wait_for_gate), Reply.message("Steered."))
    session = await harness.start(
        turn_sandbox_policy={"type": "dangerFullAccess"}, thread_sandbox="danger-full-access"
    )
    try:
        turn = asyncio.create_task(session.run_turn(PROMPT, issue=ISSUE))
        await wait_until(
            lambda: any(
                "commandExecution" in str(e.payload.get("params", {}).get("item", {}).get("type"))
                for e in harness.events
            ),
            "the gated command started",
            timeout=20,
        )
        delivery = await session.steer("Use tabs, not spaces. (operator steer 7f3a)")
        gate.touch()
        result = await asyncio.wait_for(turn, timeout=30)
    finally:
        await session.stop()

    assert delivery == "running_turn"
    assert result.status == "completed"
    second = harness.model.requests[1]
    assert any("operator steer 7f3a" in text for text in second.user_texts())
    assert "operator steer 7f3a" not in harness.model.requests[0].text()
    (steered,) = harness.named(events.STEERED)
    assert steered.payload["delivery"] == "running_turn"


async def test_steer_between_turns_opens_the_next_turn(harness: Harness) -> None:
    harness.model.script(Reply.message("First."), Reply.message("Second."))
    session = await harness.start()
    try:
        await session.run_turn(PROMPT, issue=ISSUE)
        delivery = await session.steer("Remember the changelog. (between turns 51c2)")
        await session.run_turn("continue", issue=ISSUE)
    finally:
        await session.stop()

    assert delivery == "next_turn"
    assert any("between turns 51c2" in text for text in harness.model.requests[1].user_texts())


PATCH = """apply_patch <<'EOF'
*** Begin Patch
*** Add File: patched.txt
+patched by the agent
*** End Patch
EOF"""


@pytest.mark.parametrize(("decision", "written"), [("approve", True), ("deny", False)])
async def test_file_change_approval_shows_the_diff_and_the_answer_decides(
    harness: Harness, decision: str, written: bool
) -> None:
    harness.model.script(Reply.exec_command(PATCH), Reply.message("Done."))
    human = ScriptedHuman()
    session = await harness.start(approval_policy="untrusted", human=human)
    try:
        turn = asyncio.create_task(session.run_turn(PROMPT, issue=ISSUE))
        await wait_until(lambda: human.asked, "the file change reached the human")
        (request,) = human.asked
        human.answers.put_nowait(HumanAnswer(decision=decision))  # type: ignore[arg-type]
        result = await asyncio.wait_for(turn, timeout=30)
    finally:
        await session.stop()

    assert result.status == "completed"
    assert request.kind == "file_change_approval"
    assert request.diff is not None and "patched by the agent" in request.diff
    assert "patched.txt" in request.diff
    assert (harness.workspace / "patched.txt").exists() is written
