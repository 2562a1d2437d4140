"""The sans-IO protocol core, driven with scripted codex 0.169 messages."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest

from symphony.agents import events
from symphony.agents.codex import errors
from symphony.agents.codex.actions import HELD, Action, Resolved, RunTool, TurnEnded
from symphony.agents.codex.errors import AgentError
from symphony.agents.codex.protocol import CodexProtocol
from symphony.tools import ToolResult
from tests.agents.conftest import (
    NOW,
    WORKSPACE,
    Driver,
    emitted,
    ended,
    make_policy,
    names,
    only,
    sends,
    tool_run,
)


def test_handshake_messages_match_codex_0169() -> None:
    protocol = CodexProtocol(make_policy(), tool_names=["t"], pid=1)
    rid, init = protocol.initialize()
    assert init.message["method"] == "initialize"
    assert init.message["id"] == rid
    params = init.message["params"]
    assert params["capabilities"] == {"experimentalApi": True}
    assert params["clientInfo"]["name"] and params["clientInfo"]["version"]
    assert protocol.initialized().message == {"method": "initialized", "params": {}}
    tool = {"type": "function", "name": "t", "description": "d", "inputSchema": {}}
    _, start = protocol.start_thread(WORKSPACE, [tool])
    assert start.message["params"] == {
        "cwd": str(WORKSPACE),
        "approvalPolicy": "never",
        "sandbox": "workspace-write",
        "dynamicTools": [tool],
    }
    for message in (init.message, start.message):
        assert "jsonrpc" not in message


def test_thread_start_omits_dynamic_tools_when_there_are_none() -> None:
    _, start = CodexProtocol(make_policy()).start_thread(WORKSPACE, [])
    assert "dynamicTools" not in start.message["params"]


def test_turn_start_carries_text_cwd_and_policies(driver: Driver) -> None:
    _, send = driver.protocol.start_turn("hello there", WORKSPACE)
    assert send.message["params"] == {
        "threadId": "thr-1",
        "input": [{"type": "text", "text": "hello there"}],
        "cwd": str(WORKSPACE),
        "approvalPolicy": "never",
        "sandboxPolicy": {
            "type": "workspaceWrite",
            "writableRoots": [str(WORKSPACE)],
            "networkAccess": False,
        },
    }


def test_granular_policy_map_passes_through_verbatim() -> None:
    granular = {"granular": {"sandbox_approval": False, "rules": False, "mcp_elicitations": False}}
    d = Driver(approval=granular)
    d.handshake()
    _, send = d.protocol.start_turn("x", WORKSPACE)
    assert send.message["params"]["approvalPolicy"] == granular


def test_session_started_uses_thread_and_turn_ids(driver: Driver) -> None:
    actions = driver.start_turn("turn-7")
    assert only(actions, Resolved).error is None
    (event,) = emitted(actions)
    assert event.event == events.SESSION_STARTED
    assert event.session_id == "thr-1-turn-7"
    assert (event.thread_id, event.turn_id, event.pid) == ("thr-1", "turn-7", 4242)
    assert event.timestamp == NOW and event.timestamp.tzinfo is not None


def test_the_model_of_thread_start_is_on_the_session_started_event() -> None:
    d = Driver()
    rid, _ = d.protocol.initialize()
    d.feed({"id": rid, "result": {"userAgent": "x"}})
    rid, _ = d.protocol.start_thread(WORKSPACE, [])
    d.feed({"id": rid, "result": {"thread": {"id": "thr-1"}, "model": "gpt-6.1-sol"}})
    (event,) = emitted(d.start_turn())
    assert (event.event, event.model) == (events.SESSION_STARTED, "gpt-6.1-sol")


def test_thread_start_without_thread_id_is_a_response_error() -> None:
    d = Driver()
    rid, _ = d.protocol.start_thread(WORKSPACE, [])
    resolved = only(d.feed({"id": rid, "result": {"thread": {}}}), Resolved)
    assert resolved.error is not None and resolved.error.code == errors.RESPONSE_ERROR
    with pytest.raises(RuntimeError):
        d.protocol.start_turn("x", WORKSPACE)


def test_completed_turn_ends_with_success_and_latest_usage(driver: Driver) -> None:
    driver.start_turn()
    driver.feed(
        {
            "method": "thread/tokenUsage/updated",
            "params": {
                "threadId": "thr-1",
                "turnId": "turn-1",
                "tokenUsage": {
                    "total": {"totalTokens": 120, "inputTokens": 100, "outputTokens": 20},
                    "last": {"totalTokens": 999, "inputTokens": 999, "outputTokens": 999},
                },
            },
        }
    )
    actions = driver.complete()
    end = ended(actions)
    assert (end.status, end.error, end.turn_id) == ("completed", None, "turn-1")
    (event,) = emitted(actions)
    assert event.event == events.TURN_COMPLETED
    assert event.usage is not None and event.usage.total_tokens == 120


def test_failed_turn_status_is_a_failure_not_a_success(driver: Driver) -> None:
    driver.start_turn()
    error = {"message": "unexpected status 500", "codexErrorInfo": "internalServerError"}
    actions = driver.complete(status="failed", error=error)
    end = ended(actions)
    assert end.status == "failed"
    assert end.error is not None and end.error.code == errors.TURN_FAILED
    assert "unexpected status 500" in end.error.message
    assert names(actions) == [events.TURN_FAILED]


def test_failed_turn_without_error_uses_the_last_error_notification(driver: Driver) -> None:
    driver.start_turn()
    retry = {"error": {"message": "Reconnecting... 1/2"}, "willRetry": True, "threadId": "thr-1"}
    driver.feed({"method": "error", "params": retry})
    final = {"error": {"message": "model exploded"}, "willRetry": False, "threadId": "thr-1"}
    assert names(driver.feed({"method": "error", "params": final})) == [events.NOTIFICATION]
    end = ended(driver.complete(status="failed", error=None))
    assert end.error is not None and "model exploded" in end.error.message


def test_interrupted_turn_is_cancelled(driver: Driver) -> None:
    driver.start_turn()
    actions = driver.complete(status="interrupted")
    assert ended(actions).error is not None
    assert ended(actions).error.code == errors.TURN_CANCELLED  # type: ignore[union-attr]
    assert names(actions) == [events.TURN_CANCELLED]


def test_unknown_end_status_fails_the_turn(driver: Driver) -> None:
    driver.start_turn()
    actions = driver.complete(status="exploded")
    assert names(actions) == [events.TURN_ENDED_WITH_ERROR]
    assert ended(actions).error is not None


@pytest.mark.parametrize(
    ("method", "code"),
    [("turn/failed", errors.TURN_FAILED), ("turn/cancelled", errors.TURN_CANCELLED)],
)
def test_spec_turn_failed_and_cancelled_methods_still_end_the_turn(
    driver: Driver, method: str, code: str
) -> None:
    driver.start_turn()
    actions = driver.feed({"method": method, "params": {"threadId": "thr-1", "turnId": "turn-1"}})
    assert ended(actions).error.code == code  # type: ignore[union-attr]


def test_turn_completed_before_the_turn_start_response_is_held_back(driver: Driver) -> None:
    rid, _ = driver.protocol.start_turn("x", WORKSPACE)
    early = driver.complete("turn-5")
    assert early == []
    actions = driver.feed({"id": rid, "result": {"turn": {"id": "turn-5"}}})
    assert names(actions) == [events.SESSION_STARTED, events.TURN_COMPLETED]
    assert ended(actions).status == "completed"


def test_notifications_before_the_turn_start_response_are_forwarded(driver: Driver) -> None:
    rid, _ = driver.protocol.start_turn("x", WORKSPACE)
    started = {"threadId": "thr-1", "turn": {"id": "turn-1", "status": "inProgress"}}
    assert names(driver.feed({"method": "turn/started", "params": started})) == ["notification"]
    assert names(driver.feed({"id": rid, "result": {"turn": {"id": "turn-1"}}})) == [
        events.SESSION_STARTED
    ]


def test_stale_or_foreign_turn_endings_do_not_end_the_current_turn(driver: Driver) -> None:
    driver.start_turn("turn-2")
    assert names(driver.complete("turn-1")) == [events.NOTIFICATION]
    foreign = {"threadId": "other", "turn": {"id": "turn-2", "status": "completed"}}
    actions = driver.feed({"method": "turn/completed", "params": foreign})
    assert [a for a in actions if isinstance(a, TurnEnded)] == []
    assert ended(driver.complete("turn-2")).status == "completed"


def test_turn_completed_after_the_turn_ended_is_stale(driver: Driver) -> None:
    driver.start_turn()
    driver.complete()
    assert names(driver.complete()) == [events.NOTIFICATION]


def test_continuation_turn_gets_a_new_session_id_on_the_same_thread(driver: Driver) -> None:
    first = emitted(driver.start_turn("turn-1"))[0]
    driver.complete("turn-1")
    second = emitted(driver.start_turn("turn-2"))[0]
    assert first.thread_id == second.thread_id == "thr-1"
    assert (first.session_id, second.session_id) == ("thr-1-turn-1", "thr-1-turn-2")


def test_second_turn_while_one_is_active_is_refused(driver: Driver) -> None:
    driver.start_turn()
    with pytest.raises(RuntimeError):
        driver.protocol.start_turn("again", WORKSPACE)


def test_error_response_resolves_the_request_with_response_error(driver: Driver) -> None:
    rid, _ = driver.protocol.start_turn("x", WORKSPACE)
    error = {"code": -32600, "message": "Invalid request: unknown variant `reject`"}
    actions = driver.feed({"id": rid, "error": error})
    resolved = only(actions, Resolved)
    assert resolved.error is not None and resolved.error.code == errors.RESPONSE_ERROR
    assert "unknown variant" in resolved.error.message
    assert names(actions) == [events.STARTUP_FAILED]
    # The failed start leaves no active turn behind.
    driver.start_turn("turn-2")


def test_response_to_an_unknown_id_is_other_message(driver: Driver) -> None:
    assert names(driver.feed({"id": 99, "result": {}})) == [events.OTHER_MESSAGE]
    assert names(driver.feed({"foo": 1})) == [events.OTHER_MESSAGE]


# -- framing ------------------------------------------------------------------------------------


def test_malformed_lines_are_reported_and_do_not_break_the_stream(driver: Driver) -> None:
    driver.start_turn()
    for line in ("{not json", "plain text from a profile", "[1, 2]", '"just a string"'):
        actions = driver.feed(line)
        assert names(actions) == [events.MALFORMED]
        assert emitted(actions)[0].payload["line"] == line[:200]
    assert driver.feed("   ") == []
    assert ended(driver.complete()).status == "completed"


def test_a_line_over_one_megabyte_is_decoded(driver: Driver) -> None:
    driver.start_turn()
    text = "y" * 1_100_000
    params = {"item": {"type": "agentMessage", "id": "m", "text": text}, "threadId": "thr-1"}
    line = json.dumps({"method": "item/completed", "params": params})
    assert len(line) > 1_100_000
    (event,) = emitted(driver.feed(line))
    assert event.event == events.NOTIFICATION
    assert event.payload["params"]["item"]["text"] == text
    assert driver.protocol.last_agent_message == text


def test_oversized_line_becomes_a_malformed_event(driver: Driver) -> None:
    (event,) = emitted(driver.protocol.oversized_line(70_000_000, 1_000, NOW))
    assert event.event == events.MALFORMED and "70000000" in (event.message or "")


# -- server requests ----------------------------------------------------------------------------


def _request(
    driver: Driver, method: str, params: Mapping[str, object], rid: int = 0
) -> list[Action]:
    return driver.feed({"id": rid, "method": method, "params": {"threadId": "thr-1", **params}})


def test_tool_call_with_request_id_zero_runs_the_tool_and_answers_id_zero() -> None:
    d = Driver(tools=("tracker_comment",))
    d.handshake()
    d.start_turn()
    args = {"body": "hi"}
    actions = _request(
        d,
        "item/tool/call",
        {"turnId": "turn-1", "callId": "c1", "tool": "tracker_comment", "arguments": args},
    )
    call = tool_run(actions)
    assert (call.request_id, call.name, call.arguments, call.call_id) == (
        0,
        "tracker_comment",
        args,
        "c1",
    )
    assert names(actions) == [events.TOOL_CALL_STARTED]
    assert sends(actions) == []  # answered only when the tool finishes
    done = d.protocol.tool_finished(call, ToolResult.ok({"ok": True}), NOW, duration_ms=5)
    (answer,) = sends(done)
    assert answer["id"] == 0
    assert answer["result"]["success"] is True
    assert answer["result"]["contentItems"][0]["type"] == "inputText"
    assert names(done) == [events.TOOL_CALL_COMPLETED]
    failed = d.protocol.tool_finished(call, ToolResult.fail("nope"), NOW)
    assert sends(failed)[0]["result"]["success"] is False
    assert names(failed) == [events.TOOL_CALL_FAILED]


def test_unknown_tool_gets_a_structured_failure_and_the_turn_continues() -> None:
    d = Driver(tools=("known",))
    d.handshake()
    d.start_turn()
    actions = _request(d, "item/tool/call", {"tool": "mystery", "arguments": {}}, rid=3)
    (answer,) = sends(actions)
    assert answer["id"] == 3 and answer["result"]["success"] is False
    assert "mystery" in answer["result"]["contentItems"][0]["text"]
    assert "known" in answer["result"]["contentItems"][0]["text"]
    assert names(actions) == [events.UNSUPPORTED_TOOL_CALL]
    assert [a for a in actions if isinstance(a, (RunTool, TurnEnded))] == []
    assert d.protocol.turn_active


@pytest.mark.parametrize(
    ("approval", "decision", "event"),
    [
        ("never", "acceptForSession", events.APPROVAL_AUTO_APPROVED),
        ("untrusted", "decline", events.APPROVAL_DECLINED),
        ("on-request", "decline", events.APPROVAL_DECLINED),
        ({"granular": {"sandbox_approval": True}}, "decline", events.APPROVAL_DECLINED),
    ],
)
@pytest.mark.parametrize(
    "method", ["item/commandExecution/requestApproval", "item/fileChange/requestApproval"]
)
def test_approval_requests_are_answered_per_policy(
    approval: object, decision: str, event: str, method: str
) -> None:
    d = Driver(approval=approval)
    d.handshake()
    d.start_turn()
    actions = _request(d, method, {"turnId": "turn-1", "itemId": "i", "command": "touch x"})
    assert sends(actions) == [{"id": 0, "result": {"decision": decision}}]
    assert names(actions) == [event]
    assert emitted(actions)[0].payload["decision"] == decision
    assert d.protocol.turn_active


def test_legacy_and_permission_approvals_are_answered() -> None:
    d = Driver(approval="never")
    d.handshake()
    assert sends(_request(d, "execCommandApproval", {"command": ["ls"]})) == [
        {"id": 0, "result": {"decision": "approved_for_session"}}
    ]
    strict = Driver(approval="untrusted")
    strict.handshake()
    (answer,) = sends(strict.feed({"id": 1, "method": "applyPatchApproval", "params": {}}))
    assert "denied" in answer["result"]["decision"]
    (grant,) = sends(_request(d, "item/permissions/requestApproval", {"permissions": {}}, rid=2))
    assert grant == {"id": 2, "result": {"permissions": {}, "scope": "turn"}}


def test_user_input_request_is_answered_then_fails_the_turn(driver: Driver) -> None:
    driver.start_turn()
    question = {"id": "q1", "header": "H", "question": "Which branch?", "options": []}
    actions = _request(
        driver, "item/tool/requestUserInput", {"turnId": "turn-1", "questions": [question]}
    )
    answer, interrupt = sends(actions)
    assert answer == {"id": 0, "result": {"answers": {}}}
    assert interrupt["method"] == "turn/interrupt"
    assert interrupt["params"] == {"threadId": "thr-1", "turnId": "turn-1"}
    assert names(actions) == [events.TURN_INPUT_REQUIRED]
    end = ended(actions)
    assert end.error is not None and end.error.code == errors.TURN_INPUT_REQUIRED
    assert "Which branch?" in end.error.message
    # The interrupted turn's own completion afterwards is stale.
    assert names(driver.complete(status="interrupted")) == [events.NOTIFICATION]


@pytest.mark.parametrize(
    ("approval", "label", "event"),
    [
        ("never", "Approve this Session", events.APPROVAL_AUTO_APPROVED),
        ("untrusted", "Deny", events.APPROVAL_DECLINED),
    ],
)
def test_mcp_approval_questions_are_answered_without_failing(
    driver: Driver, approval: str, label: str, event: str
) -> None:
    d = Driver(approval=approval)
    d.handshake()
    d.start_turn()
    options = [
        {"label": x, "description": ""} for x in ("Approve Once", "Approve this Session", "Deny")
    ]
    question = {
        "id": "mcp_tool_call_approval_1",
        "header": "",
        "question": "ok?",
        "options": options,
    }
    actions = _request(d, "item/tool/requestUserInput", {"questions": [question]})
    assert sends(actions) == [
        {"id": 0, "result": {"answers": {"mcp_tool_call_approval_1": {"answers": [label]}}}}
    ]
    assert names(actions) == [event]
    assert d.protocol.turn_active


def test_mcp_tool_approval_elicitation_follows_the_approval_policy() -> None:
    params = {"serverName": "s", "mode": "form", "_meta": {"codex_approval_kind": "mcp_tool_call"}}
    for approval, action, event in [
        ("never", "accept", events.APPROVAL_AUTO_APPROVED),
        ("on-request", "decline", events.APPROVAL_DECLINED),
    ]:
        d = Driver(approval=approval)
        d.handshake()
        d.start_turn()
        actions = _request(d, "mcpServer/elicitation/request", params)
        assert sends(actions)[0]["result"]["action"] == action
        assert names(actions) == [event]


def test_other_elicitations_need_a_human_and_fail_the_turn(driver: Driver) -> None:
    driver.start_turn()
    params = {"serverName": "s", "mode": "form", "message": "Your password?", "_meta": {}}
    actions = _request(driver, "mcpServer/elicitation/request", params, rid=5)
    assert sends(actions)[0] == {"id": 5, "result": {"action": "cancel", "content": None}}
    assert ended(actions).error.code == errors.TURN_INPUT_REQUIRED  # type: ignore[union-attr]


def test_unknown_server_requests_get_an_error_answer(driver: Driver) -> None:
    actions = _request(driver, "attestation/generate", {}, rid=7)
    (answer,) = sends(actions)
    assert answer["id"] == 7 and answer["error"]["code"] == -32601
    assert names(actions) == [events.UNSUPPORTED_REQUEST]


def test_current_time_is_answered_from_the_passed_clock(driver: Driver) -> None:
    (answer,) = sends(_request(driver, "currentTime/read", {}))
    assert answer == {"id": 0, "result": {"currentTimeAt": int(NOW.timestamp())}}


# -- telemetry ----------------------------------------------------------------------------------


def test_token_usage_of_another_thread_is_not_our_usage(driver: Driver) -> None:
    params = {"threadId": "sub-agent", "tokenUsage": {"total": {"totalTokens": 5}}}
    assert names(driver.feed({"method": "thread/tokenUsage/updated", "params": params})) == [
        events.NOTIFICATION
    ]
    assert driver.protocol.latest_usage is None


def test_rate_limits_are_tracked_and_empty_snapshots_ignored(driver: Driver) -> None:
    limits = {"limitId": "codex", "primary": {"usedPercent": 12, "windowDurationMins": 300}}
    actions = driver.feed(
        {"method": "account/rateLimits/updated", "params": {"rateLimits": limits}}
    )
    (event,) = emitted(actions)
    assert event.event == events.RATE_LIMITS_UPDATED and event.rate_limits == limits
    empty = {"limitId": "codex", "primary": None, "secondary": None, "credits": None}
    assert names(
        driver.feed({"method": "account/rateLimits/updated", "params": {"rateLimits": empty}})
    ) == [events.NOTIFICATION]
    assert driver.protocol.latest_rate_limits == limits


def test_connection_lost_fails_pending_requests_and_the_turn(driver: Driver) -> None:
    driver.protocol.start_turn("x", WORKSPACE)
    failure = AgentError(errors.PORT_EXIT, "exited")
    actions = driver.protocol.connection_lost(failure, NOW)
    assert only(actions, Resolved).error is failure
    assert ended(actions).error is failure
    assert names(actions) == [events.TURN_ENDED_WITH_ERROR]
    assert driver.protocol.connection_lost(failure, NOW) == []


def test_every_sent_message_is_plain_json_without_jsonrpc(driver: Driver) -> None:
    messages = [driver.protocol.start_turn("x", WORKSPACE)[1].message]
    messages += sends(_request(driver, "item/commandExecution/requestApproval", {}))
    for message in messages:
        assert "jsonrpc" not in message
        assert json.loads(json.dumps(message)) == message


def _command_item(
    command: object, exit_code: object = 0, duration: object = 12, thread: str = "thr-1"
) -> dict[str, object]:
    item = {
        "type": "commandExecution",
        "id": "call-1",
        "command": command,
        "cwd": str(WORKSPACE),
        "status": "completed",
        "exitCode": exit_code,
        "durationMs": duration,
        "aggregatedOutput": "ok\n",
    }
    return {"method": "item/completed", "params": {"threadId": thread, "item": item}}


def test_completed_commands_of_the_turn_are_kept_for_the_proof(driver: Driver) -> None:
    from symphony.agents.base import CommandRun

    driver.start_turn()
    started = _command_item("pytest -q")
    started["method"] = "item/started"
    driver.feed(started)  # not finished yet: not a command run
    driver.feed(_command_item("pytest -q", 1, 340))
    driver.feed(_command_item(["git", "commit", "-m", "x"], None, None))
    driver.feed(_command_item("ls", 0, 1, thread="sub-agent"))  # another thread's
    driver.feed(_command_item(42))  # not a command: ignored
    assert list(driver.protocol.turn_commands) == [
        CommandRun("pytest -q", 1, 340),
        CommandRun("git commit -m x", None, None),
    ]
    driver.complete()
    driver.start_turn("turn-2")
    assert list(driver.protocol.turn_commands) == []  # per turn


def test_a_turn_keeps_only_its_last_commands(driver: Driver) -> None:
    from symphony.agents.codex.protocol import MAX_TURN_COMMANDS

    driver.start_turn()
    for n in range(MAX_TURN_COMMANDS + 5):
        driver.feed(_command_item(f"echo {n}"))
    kept = list(driver.protocol.turn_commands)
    assert len(kept) == MAX_TURN_COMMANDS
    assert kept[0].command == "echo 5" and kept[-1].command == f"echo {MAX_TURN_COMMANDS + 4}"


def _delta(text: str, method: str = "item/agentMessage/delta") -> dict[str, object]:
    return {"method": method, "params": {"threadId": "thr-1", "itemId": "m1", "delta": text}}


def test_streaming_fragments_are_held_and_emitted_once_as_the_latest(driver: Driver) -> None:
    driver.start_turn("turn-1")
    for n in range(5):
        assert driver.feed(_delta(f"part {n}")) == [HELD]
    assert driver.feed(_delta("why", "item/reasoning/summaryTextDelta")) == [HELD]
    (event,) = emitted(driver.protocol.take_chatter())
    assert event.event == events.NOTIFICATION
    assert event.payload["method"] == "item/reasoning/summaryTextDelta"
    assert event.session_id == "thr-1-turn-1"
    assert driver.protocol.take_chatter() == []  # taken once


def test_a_held_fragment_goes_out_before_the_next_message_with_its_own_ids(
    driver: Driver,
) -> None:
    driver.start_turn("turn-1")
    driver.feed(_delta("last words"))
    actions = driver.complete("turn-1")
    assert names(actions)[0] == events.NOTIFICATION
    assert emitted(actions)[0].payload["params"]["delta"] == "last words"
    assert emitted(actions)[0].turn_id == "turn-1"
    assert names(actions)[1:] == [events.TURN_COMPLETED]
    # The next turn's fragments carry the next turn's id.
    driver.start_turn("turn-2")
    driver.feed(_delta("again"))
    assert emitted(driver.protocol.take_chatter())[0].turn_id == "turn-2"


def test_a_held_fragment_is_not_lost_when_the_connection_ends(driver: Driver) -> None:
    driver.start_turn("turn-1")
    driver.feed(_delta("unfinished"))
    failure = AgentError(errors.PORT_EXIT, "gone")
    actions = driver.protocol.connection_lost(failure, NOW)
    assert names(actions)[:2] == [events.NOTIFICATION, events.TURN_ENDED_WITH_ERROR]


def test_malformed_lines_and_other_messages_are_not_held(driver: Driver) -> None:
    driver.start_turn("turn-1")
    driver.feed(_delta("x"))
    assert names(driver.feed("not json")) == [events.NOTIFICATION, events.MALFORMED]
    started = {"method": "item/started", "params": {"threadId": "thr-1", "item": {"type": "x"}}}
    assert HELD not in driver.feed(started)


def test_compact_fragments_are_held_undecoded_and_read_the_same_when_taken(
    driver: Driver,
) -> None:
    driver.start_turn("turn-1")
    message = _delta("same")
    compact = json.dumps(message, separators=(",", ":"))
    assert compact.startswith('{"method":"item/agentMessage/delta"')
    assert driver.feed(compact) == [HELD]
    fast = emitted(driver.protocol.take_chatter())[0]
    assert driver.feed(message) == [HELD]  # spaced JSON takes the decoding path
    slow = emitted(driver.protocol.take_chatter())[0]
    assert fast == slow and fast.payload == message


def test_a_held_fragment_that_is_not_json_is_reported_when_taken(driver: Driver) -> None:
    driver.start_turn("turn-1")
    assert driver.feed('{"method":"item/agentMessage/delta","params":{"delta":}') == [HELD]
    (event,) = emitted(driver.protocol.take_chatter())
    assert event.event == events.MALFORMED
