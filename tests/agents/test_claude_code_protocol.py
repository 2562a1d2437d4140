"""The sans-IO Claude Code protocol: lines in, events and lines out (no process)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from symphony.agents import events
from symphony.agents.claude_code.permissions import (
    Allow,
    AskHuman,
    Deny,
    PermissionPolicy,
)
from symphony.agents.claude_code.protocol import (
    Action,
    ClaudeProtocol,
    Emit,
    Park,
    Resolved,
    Send,
    TurnEnded,
    Withdraw,
    turn_usage,
)
from symphony.agents.errors import PORT_EXIT, TURN_CANCELLED, TURN_FAILED, AgentError
from symphony.human import HumanAnswer
from symphony.usage import TokenUsage
from tests.agents.conftest import NOW

SID = "4f622f92-5396-45a1-82bb-9bca6ca50967"


def make(tmp_path: Path, **policy: Any) -> ClaudeProtocol:
    return ClaudeProtocol(PermissionPolicy(tmp_path, **policy), pid=77)


def feed(protocol: ClaudeProtocol, message: dict[str, Any] | str) -> list[Action]:
    line = message if isinstance(message, str) else json.dumps(message)
    return protocol.receive_line(line, NOW)


def names(actions: list[Action]) -> list[str]:
    return [a.event.event for a in actions if isinstance(a, Emit)]


def sent(actions: list[Action]) -> list[dict[str, Any]]:
    return [a.message for a in actions if isinstance(a, Send)]


def ended(actions: list[Action]) -> TurnEnded:
    (end,) = [a for a in actions if isinstance(a, TurnEnded)]
    return end


def init() -> dict[str, Any]:
    return {"type": "system", "subtype": "init", "session_id": SID, "model": "m"}


def result(**fields: Any) -> dict[str, Any]:
    message: dict[str, Any] = {
        "type": "result",
        "subtype": "success",
        "is_error": False,
        "result": "Done.",
        "session_id": SID,
        "usage": {"input_tokens": 100, "output_tokens": 10, "cache_read_input_tokens": 0},
        "total_cost_usd": 0.01,
    }
    message.update(fields)
    return message


def can_use(tool: str, tool_input: dict[str, Any], request_id: str = "r-1") -> dict[str, Any]:
    return {
        "type": "control_request",
        "request_id": request_id,
        "request": {"subtype": "can_use_tool", "tool_name": tool, "input": tool_input},
    }


def test_a_turn_is_a_user_line_and_ends_with_its_result(tmp_path: Path) -> None:
    protocol = make(tmp_path)
    send = protocol.start_turn("Fix it")
    assert send.message == {"type": "user", "message": {"role": "user", "content": "Fix it"}}
    actions = feed(protocol, init())
    assert names(actions) == [events.SESSION_STARTED]
    assert protocol.thread_id == SID and protocol.session_id == f"{SID}-1"
    actions = feed(protocol, result())
    assert names(actions) == [events.TOKEN_USAGE_UPDATED, events.TURN_COMPLETED]
    end = ended(actions)
    assert end.error is None and end.cost_usd == pytest.approx(0.01)
    assert protocol.last_message == "Done." and not protocol.turn_active


def test_the_model_and_each_results_cost_reach_the_events(tmp_path: Path) -> None:
    protocol = make(tmp_path)
    protocol.start_turn("one")
    [started] = [a.event for a in feed(protocol, init()) if isinstance(a, Emit)]
    assert started.model == "m"
    costs = []
    for total in (0.01, 0.03):
        actions = feed(protocol, result(total_cost_usd=total))
        costs += [
            a.event.cost_usd
            for a in actions
            if isinstance(a, Emit) and a.event.event == events.TOKEN_USAGE_UPDATED
        ]
        protocol.start_turn("next")
        feed(protocol, init())
    # Increments, not the process's running total: the core adds them up.
    assert costs == pytest.approx([0.01, 0.02])


def test_usage_is_summed_per_result_and_cost_is_the_difference(tmp_path: Path) -> None:
    protocol = make(tmp_path)
    costs = []
    for turn, (tokens, cost) in enumerate([(100, 0.0006), (200, 0.0018), (300, 0.0036)], 1):
        protocol.start_turn(f"turn {turn}")
        feed(protocol, init())
        usage = {"input_tokens": tokens, "output_tokens": tokens // 10}
        costs.append(ended(feed(protocol, result(usage=usage, total_cost_usd=cost))).cost_usd)
    assert protocol.latest_usage == TokenUsage(600, 60, 660)
    assert costs == pytest.approx([0.0006, 0.0012, 0.0018])


def test_assistant_usage_is_never_counted(tmp_path: Path) -> None:
    protocol = make(tmp_path)
    protocol.start_turn("x")
    line = {
        "type": "assistant",
        "message": {
            "content": [{"type": "text", "text": "Hello"}],
            "usage": {"input_tokens": 1500, "output_tokens": 1},
        },
    }
    actions = feed(protocol, line)
    assert all(a.event.usage is None for a in actions if isinstance(a, Emit))
    assert protocol.latest_usage is None and protocol.last_message == "Hello"


def test_cache_tokens_count_as_input_and_cached(tmp_path: Path) -> None:
    usage = {
        "input_tokens": 10,
        "cache_read_input_tokens": 1000,
        "cache_creation_input_tokens": 50,
        "output_tokens": 5,
    }
    assert turn_usage(usage) == TokenUsage(1060, 5, 1065, cached_input_tokens=1000)


def test_is_error_fails_the_turn_whatever_the_subtype(tmp_path: Path) -> None:
    protocol = make(tmp_path)
    protocol.start_turn("x")
    api_error = result(
        is_error=True,
        terminal_reason="api_error",
        api_error_status=500,
        result="API Error: 500 fake api_error.",
    )
    actions = feed(protocol, api_error)
    end = ended(actions)
    assert end.error is not None and end.error.code == TURN_FAILED
    assert "API Error: 500" in end.error.message
    assert end.error.details["subtype"] == "success"
    assert events.TURN_FAILED in names(actions) and events.TURN_COMPLETED not in names(actions)
    assert protocol.last_message is None  # the error text is no agent message

    protocol.start_turn("y")
    aborted = result(
        subtype="error_during_execution",
        is_error=True,
        terminal_reason="aborted_tools",
        errors=["[ede_diagnostic] aborted"],
    )
    del aborted["result"]
    end = ended(feed(protocol, aborted))
    assert end.error is not None and end.error.code == TURN_CANCELLED
    assert "aborted" in end.error.message


def test_bash_tool_pairs_become_commands(tmp_path: Path) -> None:
    protocol = make(tmp_path)
    protocol.start_turn("x")
    for tool_id, command in (("t1", "make test"), ("t2", "false")):
        feed(
            protocol,
            {
                "type": "assistant",
                "message": {
                    "content": [
                        {
                            "type": "tool_use",
                            "id": tool_id,
                            "name": "Bash",
                            "input": {"command": command},
                        }
                    ]
                },
            },
        )
    feed(
        protocol,
        {
            "type": "user",
            "message": {"content": [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}]},
        },
    )
    feed(
        protocol,
        {
            "type": "user",
            "message": {
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "t2",
                        "is_error": True,
                        "content": "Exit code 1",
                    }
                ]
            },
        },
    )
    assert [(c.command, c.exit_code) for c in protocol.turn_commands] == [
        ("make test", 0),
        ("false", 1),
    ]


def test_can_use_tool_allowed_denied_or_parked(tmp_path: Path) -> None:
    protocol = make(tmp_path)
    protocol.start_turn("x")
    inside = str(tmp_path / "a.py")
    (reply,) = sent(feed(protocol, can_use("Edit", {"file_path": inside}, "r-1")))
    assert reply["response"]["request_id"] == "r-1"
    assert reply["response"]["response"] == {
        "behavior": "allow",
        "updatedInput": {"file_path": inside},
    }
    actions = feed(protocol, can_use("Write", {"file_path": "/etc/passwd"}, "r-2"))
    (reply,) = sent(actions)
    assert reply["response"]["response"]["behavior"] == "deny"
    assert "only inside the workspace" in reply["response"]["response"]["message"]
    assert names(actions) == [events.APPROVAL_DECLINED]
    (reply,) = sent(feed(protocol, can_use("WebFetch", {"url": "https://x"}, "r-3")))
    assert reply["response"]["response"]["behavior"] == "deny"
    assert "unattended" in reply["response"]["response"]["message"]


def test_a_parked_request_is_answered_once(tmp_path: Path) -> None:
    protocol = make(tmp_path, ask_human=True)
    protocol.start_turn("x")
    actions = feed(protocol, can_use("WebFetch", {"url": "https://x"}, "r-9"))
    assert sent(actions) == [] and names(actions) == [events.HUMAN_REQUEST]
    (park,) = [a for a in actions if isinstance(a, Park)]
    assert park.request.kind == "command_approval"
    answered = protocol.human_answered(park, HumanAnswer(decision="approve"), NOW)
    (reply,) = sent(answered)
    assert reply["response"]["response"]["behavior"] == "allow"
    assert protocol.human_answered(park, HumanAnswer(decision="approve"), NOW) == []


def test_claude_can_withdraw_a_parked_request(tmp_path: Path) -> None:
    protocol = make(tmp_path, ask_human=True)
    protocol.start_turn("x")
    (park,) = [a for a in feed(protocol, can_use("WebFetch", {}, "r-5")) if isinstance(a, Park)]
    actions = feed(protocol, {"type": "control_cancel_request", "request_id": "r-5"})
    assert actions == [Withdraw("r-5")]
    assert protocol.human_answered(park, HumanAnswer(decision="approve"), NOW) == []


def test_the_result_of_an_abandoned_turn_is_not_the_next_turns(tmp_path: Path) -> None:
    protocol = make(tmp_path)
    protocol.start_turn("slow")
    protocol.abandon_turn()
    protocol.start_turn("next")
    late = feed(protocol, result(result="late", total_cost_usd=0.01))
    assert not [a for a in late if isinstance(a, TurnEnded)]
    assert events.TOKEN_USAGE_UPDATED in names(late)  # its tokens still count
    end = ended(feed(protocol, result(result="mine", total_cost_usd=0.03)))
    assert end.error is None and protocol.last_message == "mine"
    assert end.cost_usd == pytest.approx(0.02)


def test_control_responses_resolve_and_unknown_requests_get_an_error(tmp_path: Path) -> None:
    protocol = make(tmp_path)
    request_id, send = protocol.control_request("initialize")
    assert send.message["request"] == {"subtype": "initialize"}
    response = {
        "type": "control_response",
        "response": {"subtype": "success", "request_id": request_id, "response": {}},
    }
    (resolved,) = feed(protocol, response)
    assert isinstance(resolved, Resolved) and resolved.error is None
    actions = feed(
        protocol,
        {"type": "control_request", "request_id": "q", "request": {"subtype": "hook_callback"}},
    )
    (reply,) = sent(actions)
    assert reply["response"]["subtype"] == "error"
    assert names(actions) == [events.UNSUPPORTED_REQUEST]


def test_rate_limit_retries_and_errors_become_rate_limit_events(tmp_path: Path) -> None:
    protocol = make(tmp_path)
    protocol.start_turn("x")
    retry = {
        "type": "system",
        "subtype": "api_retry",
        "attempt": 1,
        "max_retries": 2,
        "retry_delay_ms": 1100,
        "error_status": 429,
        "error": "rate_limit",
    }
    actions = feed(protocol, retry)
    assert names(actions) == [events.RATE_LIMITS_UPDATED]
    assert protocol.latest_rate_limits == {
        "limitId": "anthropic",
        "limited": True,
        "error_status": 429,
        "primary": {"remaining": 0, "resetsAt": NOW.timestamp() + 1.1},
        "attempt": 1,
    }
    server = dict(retry, error_status=500, error="server_error")
    assert names(feed(protocol, server)) == [events.NOTIFICATION]
    failed = feed(protocol, result(is_error=True, api_error_status=429, result="API Error: 429"))
    assert events.RATE_LIMITS_UPDATED in names(failed)


def test_steering_opens_the_next_turn(tmp_path: Path) -> None:
    protocol = make(tmp_path)
    protocol.queue_steer("Use the staging database.")
    send = protocol.start_turn("Continue.")
    text = send.message["message"]["content"]
    assert text.startswith("Operator guidance:\nUse the staging database.")
    assert text.endswith("Continue.")
    protocol.abandon_turn()
    assert protocol.start_turn("again").message["message"]["content"] == "again"


def test_malformed_lines_and_lost_connections(tmp_path: Path) -> None:
    protocol = make(tmp_path)
    assert names(feed(protocol, "not json")) == [events.MALFORMED]
    assert names(feed(protocol, "[1]")) == [events.MALFORMED]
    protocol.start_turn("x")
    actions = protocol.connection_lost(AgentError(PORT_EXIT, "gone"), NOW)
    assert ended(actions).error is not None
    assert names(actions) == [events.TURN_ENDED_WITH_ERROR]
    assert protocol.connection_lost(AgentError(PORT_EXIT, "gone"), NOW) == []


# -- the permission policy --------------------------------------------------------------------


def test_default_policy(tmp_path: Path) -> None:
    policy = PermissionPolicy(tmp_path)
    assert policy.cli_allowed_tools() == ["Bash", "TodoWrite", "mcp__symphony__*"]
    assert policy.decide("Bash", {"command": "rm -rf /"}) == Allow()
    assert policy.decide("mcp__symphony__linear_graphql", {}) == Allow()
    assert policy.decide("Read", {"file_path": "src/x.py"}) == Allow()
    assert policy.decide("Glob", {"pattern": "**/*.py"}) == Allow()
    assert isinstance(policy.decide("Read", {"file_path": "../other/x"}), Deny)
    assert isinstance(policy.decide("Edit", {"file_path": "~/.bashrc"}), Deny)
    assert isinstance(policy.decide("mcp__other__tool", {}), Deny)
    assert isinstance(policy.decide("WebFetch", {}), Deny)


def test_a_symlink_out_of_the_workspace_is_outside(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "escape").symlink_to(tmp_path)
    policy = PermissionPolicy(workspace)
    assert isinstance(policy.decide("Write", {"file_path": "escape/x.txt"}), Deny)


def test_configured_rules(tmp_path: Path) -> None:
    policy = PermissionPolicy(
        tmp_path,
        allowed_tools=["Bash(git *)", "Edit", "WebFetch", "mcp__symphony"],
        disallowed_tools=["WebFetch"],
        ask_human=True,
    )
    assert policy.cli_allowed_tools() == ["Bash(git *)", "WebFetch", "mcp__symphony"]
    assert policy.decide("mcp__symphony__board_move_issue", {}) == Allow()
    assert isinstance(policy.decide("WebFetch", {}), Deny)  # disallowed wins
    asked = policy.decide("Bash", {"command": "curl x", "description": "fetch"})
    assert isinstance(asked, AskHuman)
    assert asked.request.command == "curl x" and asked.request.reason == "fetch"
    assert isinstance(policy.decide("Write", {"file_path": "a"}), AskHuman)


def test_approve_for_session_allows_the_tool_from_then_on(tmp_path: Path) -> None:
    protocol = make(tmp_path, ask_human=True)
    protocol.start_turn("x")
    (park,) = [
        a for a in feed(protocol, can_use("WebFetch", {"url": "a"}, "r-1")) if isinstance(a, Park)
    ]
    protocol.human_answered(park, HumanAnswer(decision="approve_for_session"), NOW)
    (reply,) = sent(feed(protocol, can_use("WebFetch", {"url": "b"}, "r-2")))
    assert reply["response"]["response"]["behavior"] == "allow"
    other = feed(protocol, can_use("WebSearch", {"query": "q"}, "r-3"))
    assert [a for a in other if isinstance(a, Park)]  # only the approved tool
