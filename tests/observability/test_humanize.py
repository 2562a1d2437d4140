"""Humanized agent event summaries (SPEC §13.6, §17.6)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from symphony.observability.humanize import SUMMARY_LIMIT, summarize_event


def msg(method: str, **params: Any) -> dict[str, Any]:
    return {"method": method, "params": params}


def item(phase: str, **fields: Any) -> dict[str, Any]:
    return msg(f"item/{phase}", item=fields)


CASES: list[tuple[str | None, Any, str]] = [
    # runtime event names
    ("session_started", {"session_id": "thr-1-turn-1"}, "session started (thr-1-turn-1)"),
    ("session_started", None, "session started"),
    ("turn_input_required", None, "turn blocked: waiting for operator input"),
    ("turn_failed", "HTTP 500 from model", "turn failed: HTTP 500 from model"),
    ("startup_failed", {"reason": "codex: not found"}, "startup failed: codex: not found"),
    ("turn_cancelled", None, "turn cancelled"),
    ("malformed", {"raw": "{not json"}, "malformed JSON from agent: {not json"),
    (
        "approval_auto_approved",
        {
            "payload": msg("item/commandExecution/requestApproval", command="git push"),
            "decision": "acceptForSession",
        },
        "command approval requested: git push (auto-approved): acceptForSession",
    ),
    (
        "approval_required",
        msg("item/fileChange/requestApproval", reason="write outside workspace"),
        "approval required: file change approval requested: write outside workspace",
    ),
    (
        "tool_call_completed",
        msg("item/tool/call", tool="linear_graphql"),
        "tool call completed (linear_graphql)",
    ),
    (
        "tool_call_failed",
        {"params": {"name": "tracker_update"}},
        "tool call failed (tracker_update)",
    ),
    (
        "unsupported_tool_call",
        msg("item/tool/call", tool="rm_rf"),
        "unsupported tool call rejected (rm_rf)",
    ),
    # the Codex client's own one-line summaries pass through
    ("notification", "ran: git status (exit 0)", "ran: git status (exit 0)"),
    ("tool_call_completed", "tool linear_graphql: completed", "tool linear_graphql: completed"),
    # app-server methods
    ("notification", msg("thread/started", thread={"id": "019a"}), "thread started (019a)"),
    ("notification", msg("turn/started", turn={"id": "t1"}), "turn started (t1)"),
    (
        "turn_completed",
        msg("turn/completed", turn={"id": "t1", "status": "completed", "durationMs": 12_345}),
        "turn completed (completed) in 12.3s",
    ),
    (
        "turn_completed",
        msg("turn/completed", turn={"status": "failed", "error": {"message": "model overloaded"}}),
        "turn failed: model overloaded",
    ),
    ("turn_completed", None, "turn completed"),
    (
        None,
        item("started", type="commandExecution", command="pytest -q", status="inProgress"),
        "$ pytest -q",
    ),
    (
        None,
        item(
            "completed",
            type="commandExecution",
            command=["bash", "-lc", "make lint"],
            exitCode=2,
            durationMs=1500,
            status="failed",
        ),
        "$ make lint → exit 2 in 1.5s",
    ),
    (
        None,
        item("completed", type="commandExecution", command="rm -rf /", status="declined"),
        "command declined: rm -rf /",
    ),
    (
        None,
        item("completed", type="agentMessage", text="All tests pass.\nOpening a PR."),
        "agent: All tests pass. Opening a PR.",
    ),
    (None, item("started", type="agentMessage"), "agent message started"),
    (
        None,
        item("completed", type="reasoning", summary=["Look at the parser"]),
        "reasoning: Look at the parser",
    ),
    (
        None,
        item(
            "completed",
            type="fileChange",
            status="completed",
            changes=[
                {"path": "a.py", "kind": {"type": "update"}},
                {"path": "b.py", "kind": {"type": "add"}},
            ],
        ),
        "file change completed: update a.py, add b.py",
    ),
    (
        None,
        item(
            "completed",
            type="mcpToolCall",
            server="github",
            tool="create_pr",
            status="completed",
            durationMs=900,
        ),
        "MCP tool call completed: github.create_pr in 0.9s",
    ),
    (
        None,
        item("completed", type="dynamicToolCall", tool="linear_graphql", status="failed"),
        "tool call failed: linear_graphql",
    ),
    (
        None,
        item("completed", type="webSearch", query="python asyncio"),
        "web search: python asyncio",
    ),
    (None, item("completed", type="somethingNew"), "item completed: somethingNew"),
    (None, msg("item/agentMessage/delta", delta="Working on "), "agent typing: Working on"),
    (None, msg("item/commandExecution/outputDelta", delta="ok\n"), "command output: ok"),
    (
        None,
        msg(
            "thread/tokenUsage/updated",
            tokenUsage={
                "total": {"inputTokens": 1200, "outputTokens": 80, "totalTokens": 1280},
                "last": {"inputTokens": 5},
            },
        ),
        "token usage updated (in 1,200, out 80, total 1,280)",
    ),
    (
        None,
        msg(
            "account/rateLimits/updated",
            rateLimits={"primary": {"usedPercent": 42}, "secondary": {"usedPercent": 3}},
        ),
        "rate limits updated (primary 42% used, secondary 3% used)",
    ),
    (
        None,
        msg("error", error={"message": "Reconnecting... 1/2"}, willRetry=True),
        "error (retrying): Reconnecting... 1/2",
    ),
    (
        None,
        msg("error", error={"message": "Missing environment variable"}, willRetry=False),
        "error: Missing environment variable",
    ),
    (
        None,
        msg("configWarning", summary="bubblewrap not found"),
        "config warning: bubblewrap not found",
    ),
    (
        None,
        msg(
            "turn/plan/updated",
            plan=[{"step": "read", "status": "completed"}, {"step": "fix", "status": "inProgress"}],
        ),
        "plan updated (1/2 steps done): fix",
    ),
    (
        None,
        msg("turn/diff/updated", diff="--- a/x\n+++ b/x\n@@\n-a\n+b\n"),
        "diff updated (1 files, 5 lines)",
    ),
    (
        None,
        msg("item/tool/requestUserInput", questions=[{"question": "Which branch?"}]),
        "user input requested: Which branch?",
    ),
    (
        None,
        msg("mcpServer/elicitation/request", serverName="gh", message="Allow create_pr?"),
        "MCP approval requested (gh): Allow create_pr?",
    ),
    (None, msg("thread/status/changed", status={"type": "idle"}), "thread idle"),
    (None, msg("some/future/method"), "some/future/method"),
    # legacy wrapper events (older app-servers)
    (
        None,
        msg("codex/event/exec_command_begin", msg={"command": ["git", "diff", "--stat"]}),
        "$ git diff --stat",
    ),
    (None, msg("codex/event/exec_command_end", msg={"exit_code": 1}), "command completed (exit 1)"),
    (
        None,
        msg(
            "codex/event/token_count",
            msg={"info": {"total_token_usage": {"input_tokens": 9, "output_tokens": 1}}},
        ),
        "token count update (in 9, out 1, total 10)",
    ),
    (None, msg("codex/event/task_started"), "task started"),
    # envelopes and odd shapes
    ("notification", {"payload": {"payload": msg("turn/started")}}, "turn started"),
    (None, {"error": {"message": "boom"}}, "error: boom"),
    ("notification", None, "notification"),
    (None, None, "agent event"),
    ("other_message", 42, "42"),
]


@pytest.mark.parametrize(("event", "message", "expected"), CASES)
def test_summaries(event: str | None, message: Any, expected: str) -> None:
    assert summarize_event(event, message) == expected


def test_control_bytes_and_ansi_are_stripped_and_text_is_bounded() -> None:
    text = summarize_event("notification", "\x1b[1;31mred\x1b[0m\x00\x07 " + "x" * 500)
    assert text.startswith("red x")
    assert "\x1b" not in text and "\x00" not in text
    assert len(text) == SUMMARY_LIMIT and text.endswith("...")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["method", "params", "item", "type", "payload", "error", "msg", "turn"])
            | st.text(max_size=8),
            inner,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@given(
    event=st.none()
    | st.sampled_from(["notification", "session_started", "turn_failed", "malformed"]),
    message=json_values,
    method=st.sampled_from(["item/completed", "turn/completed", "codex/event/x", "error", "zzz"]),
)
def test_any_shape_yields_a_short_single_line(event: str | None, message: Any, method: str) -> None:
    for candidate in (message, {"method": method, "params": message}):
        text = summarize_event(event, candidate)
        assert isinstance(text, str) and text
        assert len(text) <= SUMMARY_LIMIT
        assert "\n" not in text and "\x1b" not in text
