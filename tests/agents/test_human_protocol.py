"""Requests parked for a human and steering in the sans-IO codex core (docs/human-requests.md)."""

from __future__ import annotations

from typing import Any

import pytest

from symphony.agents import events
from symphony.agents.codex.actions import Action, ParkRequest, WithdrawRequest
from symphony.agents.codex.protocol import CodexProtocol
from symphony.human import HumanAnswer
from tests.agents.conftest import NOW, WORKSPACE, Driver, make_policy, names, only, sends


def human_driver(approval: Any = "untrusted") -> Driver:
    d = Driver(approval=approval)
    d.protocol = CodexProtocol(make_policy(approval), pid=4242, ask_human=True)
    d.handshake()
    d.start_turn()
    return d


def request(d: Driver, method: str, params: dict[str, Any], rid: int = 0) -> list[Action]:
    return d.feed({"id": rid, "method": method, "params": {"threadId": "thr-1", **params}})


def parked(actions: list[Action]) -> ParkRequest:
    assert sends(actions) == [], "a parked request is not answered at once"
    assert names(actions) == [events.HUMAN_REQUEST]
    return only(actions, ParkRequest)  # type: ignore[no-any-return]


COMMAND = {
    "turnId": "turn-1",
    "itemId": "call-1",
    "command": "touch approved.txt",
    "cwd": str(WORKSPACE),
    "reason": "needs to write",
}


@pytest.mark.parametrize(
    ("decision", "wire"),
    [("approve", "accept"), ("approve_for_session", "acceptForSession"), ("deny", "decline")],
)
def test_command_approval_is_parked_and_answered_with_the_decision(
    decision: Any, wire: str
) -> None:
    d = human_driver()
    park = parked(request(d, "item/commandExecution/requestApproval", COMMAND, rid=3))
    req = park.ask.request
    assert (req.kind, req.command, req.cwd, req.reason) == (
        "command_approval",
        "touch approved.txt",
        str(WORKSPACE),
        "needs to write",
    )
    assert d.protocol.turn_active  # the turn goes on while the human decides
    actions = d.protocol.human_answered(park, HumanAnswer(decision=decision), NOW)
    assert sends(actions) == [{"id": 3, "result": {"decision": wire}}]
    assert names(actions) == [events.HUMAN_REQUEST_ANSWERED]


def test_a_declined_answer_declines() -> None:
    d = human_driver()
    park = parked(request(d, "item/commandExecution/requestApproval", COMMAND))
    actions = d.protocol.human_answered(park, HumanAnswer.declined(), NOW)
    assert sends(actions) == [{"id": 0, "result": {"decision": "decline"}}]


def test_file_change_approval_carries_the_diff_of_its_item() -> None:
    d = human_driver("on-request")
    item = {
        "type": "fileChange",
        "id": "patch-1",
        "status": "inProgress",
        "changes": [{"path": "a.txt", "kind": {"type": "add"}, "diff": "+hello"}],
    }
    d.feed({"method": "item/started", "params": {"threadId": "thr-1", "item": item}})
    params = {"turnId": "turn-1", "itemId": "patch-1", "reason": None, "grantRoot": None}
    req = parked(request(d, "item/fileChange/requestApproval", params)).ask.request
    assert req.kind == "file_change_approval"
    assert req.diff == "a.txt\n+hello"


def test_question_is_parked_and_the_answers_go_back_by_question_id() -> None:
    d = human_driver("never")  # questions go to a human under every policy
    question = {
        "id": "color",
        "header": "Color",
        "question": "Which color?",
        "options": [{"label": "Red", "description": ""}],
    }
    park = parked(request(d, "item/tool/requestUserInput", {"questions": [question]}))
    (asked,) = park.ask.request.questions
    assert (asked.id, asked.options, asked.allows_other) == ("color", ("Red",), False)
    answer = HumanAnswer(answers={"color": "Red"})
    actions = d.protocol.human_answered(park, answer, NOW)
    assert sends(actions) == [{"id": 0, "result": {"answers": {"color": {"answers": ["Red"]}}}}]
    assert d.protocol.human_answered(park, answer, NOW) == [], "answered once only"
    again = parked(request(d, "item/tool/requestUserInput", {"questions": [question]}, rid=1))
    timed_out = d.protocol.human_answered(again, HumanAnswer.declined(), NOW)
    assert sends(timed_out) == [{"id": 1, "result": {"answers": {}}}]


@pytest.mark.parametrize(("decision", "action"), [("approve", "accept"), ("deny", "decline")])
def test_mcp_tool_elicitation_is_parked_and_answered(decision: Any, action: str) -> None:
    d = human_driver()
    params = {
        "serverName": "files",
        "mode": "form",
        "message": "Allow write_file?",
        "_meta": {"codex_approval_kind": "mcp_tool_call", "tool_name": "write_file"},
    }
    park = parked(request(d, "mcpServer/elicitation/request", params))
    assert park.ask.request.kind == "mcp_approval"
    assert "write_file" in park.ask.request.summary
    actions = d.protocol.human_answered(park, HumanAnswer(decision=decision), NOW)
    assert sends(actions)[0]["result"]["action"] == action


def test_never_still_auto_approves_without_asking() -> None:
    d = human_driver("never")
    actions = request(d, "item/commandExecution/requestApproval", COMMAND)
    assert sends(actions) == [{"id": 0, "result": {"decision": "acceptForSession"}}]
    assert names(actions) == [events.APPROVAL_AUTO_APPROVED]


def test_without_a_human_channel_approvals_are_declined_as_before(driver: Driver) -> None:
    strict = Driver(approval="untrusted")
    strict.handshake()
    strict.start_turn()
    actions = request(strict, "item/commandExecution/requestApproval", COMMAND)
    assert sends(actions) == [{"id": 0, "result": {"decision": "decline"}}]


def test_steer_targets_the_running_turn() -> None:
    d = human_driver()
    call = d.protocol.steer("use tabs")
    assert call is not None
    _, send = call
    assert send.message["method"] == "turn/steer"
    assert send.message["params"] == {
        "threadId": "thr-1",
        "expectedTurnId": "turn-1",
        "input": [{"type": "text", "text": "use tabs"}],
    }


def test_steer_without_a_running_turn_opens_the_next_turn(driver: Driver) -> None:
    driver.start_turn()
    driver.complete()
    assert driver.protocol.steer("remember the changelog") is None
    driver.protocol.queue_steer("remember the changelog")
    _, send = driver.protocol.start_turn("continue", WORKSPACE)
    texts = [item["text"] for item in send.message["params"]["input"]]
    assert texts == ["remember the changelog", "continue"]
    driver.feed({"id": send.message["id"], "result": {"turn": {"id": "turn-2"}}})
    driver.complete("turn-2")
    _, later = driver.protocol.start_turn("continue again", WORKSPACE)
    assert [item["text"] for item in later.message["params"]["input"]] == ["continue again"]


def test_a_request_codex_settles_itself_is_withdrawn_and_never_answered() -> None:
    d = human_driver()
    park = parked(request(d, "item/commandExecution/requestApproval", COMMAND, rid=5))
    other = parked(request(d, "item/commandExecution/requestApproval", COMMAND, rid=6))

    actions = d.feed(
        {"method": "serverRequest/resolved", "params": {"threadId": "thr-1", "requestId": 5}}
    )

    assert only(actions, WithdrawRequest) == WithdrawRequest(5)
    assert d.protocol.human_answered(park, HumanAnswer(decision="approve"), NOW) == []
    # The other request still waits, and is answered as usual.
    assert sends(d.protocol.human_answered(other, HumanAnswer(decision="deny"), NOW)) == [
        {"id": 6, "result": {"decision": "decline"}}
    ]


def test_a_resolved_notice_after_the_answer_withdraws_nothing() -> None:
    d = human_driver()
    park = parked(request(d, "item/commandExecution/requestApproval", COMMAND, rid=7))
    d.protocol.human_answered(park, HumanAnswer(decision="approve"), NOW)

    actions = d.feed(
        {"method": "serverRequest/resolved", "params": {"threadId": "thr-1", "requestId": 7}}
    )

    assert [a for a in actions if isinstance(a, WithdrawRequest)] == []
