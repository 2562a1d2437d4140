"""The ACP backend's pure parts: the permission policy and the mapping of session updates."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from acp.helpers import (
    plan_entry,
    start_tool_call,
    update_agent_message_text,
    update_agent_thought_text,
    update_plan,
    update_tool_call,
)
from acp.schema import AvailableCommandsUpdate, Usage, UsageUpdate

from symphony.agents import events
from symphony.agents.acp import files
from symphony.agents.acp.policy import (
    PermissionCall,
    PermissionOption,
    PermissionPolicy,
    answered_option,
    human_request,
    own_tool_call,
    pick_option,
)
from symphony.agents.acp.updates import UpdateMapper
from symphony.human import HumanAnswer
from symphony.workflow.config import DEFAULT_ACP_PERMISSIONS

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
POLICY = PermissionPolicy(DEFAULT_ACP_PERMISSIONS, "ask")
OPTIONS = [
    PermissionOption("a1", "allow_once"),
    PermissionOption("a2", "allow_always"),
    PermissionOption("r1", "reject_once"),
    PermissionOption("r2", "reject_always"),
]


def inside_ws(path: str) -> bool:
    return path.startswith("/ws/")


def test_allowed_kinds_inside_the_workspace_pass_and_the_rest_asks_or_is_rejected() -> None:
    def verdict(kind: str | None, *paths: str, human: bool = False) -> str:
        call = PermissionCall(kind, "t", paths)
        return POLICY.verdict(call, inside=inside_ws, has_human=human)

    assert verdict("execute") == "allow"
    assert verdict("edit", "/ws/a.py") == "allow"
    assert verdict("read", "/ws/a.py", "/etc/passwd") == "reject"
    assert verdict("read", "/ws/a.py", "/etc/passwd", human=True) == "ask"
    assert verdict("fetch") == "reject"
    assert verdict("fetch", human=True) == "ask"
    assert verdict(None, human=True) == "ask"
    strict = PermissionPolicy({**DEFAULT_ACP_PERMISSIONS, "execute": "reject"}, "reject")
    assert strict.verdict(PermissionCall("execute", "t"), inside=inside_ws, has_human=True) == (
        "reject"
    )
    own = PermissionCall("fetch", "t", ("/elsewhere",), own_tool=True)
    assert strict.verdict(own, inside=inside_ws, has_human=False) == "allow"


def test_options_are_picked_by_kind() -> None:
    assert pick_option(OPTIONS, allow=True) == "a1"
    assert pick_option(OPTIONS, allow=True, always=True) == "a2"
    assert pick_option(OPTIONS, allow=False) == "r1"
    assert pick_option(OPTIONS[:2], allow=False) is None
    assert pick_option([PermissionOption("x", "allow_always")], allow=True) == "x"
    assert answered_option(HumanAnswer(decision="approve"), OPTIONS) == "a1"
    assert answered_option(HumanAnswer(decision="approve_for_session"), OPTIONS) == "a2"
    assert answered_option(HumanAnswer.declined(), OPTIONS) == "r1"


def test_the_human_sees_a_neutral_request() -> None:
    command = human_request(PermissionCall("execute", "rm -rf b", (), "rm -rf b"), cwd="/ws")
    assert (command.kind, command.command, command.cwd) == ("command_approval", "rm -rf b", "/ws")
    edit = human_request(PermissionCall("delete", "Delete x", ("/etc/x",)), cwd="/ws")
    assert edit.kind == "file_change_approval" and "/etc/x" in edit.summary
    other = human_request(PermissionCall(None, None), cwd="/ws")
    assert other.kind == "mcp_approval" and "needs approval" in (other.reason or "")


def test_symphony_tool_calls_are_recognised_in_either_spelling() -> None:
    tools = ["linear_graphql", "board_move"]
    assert own_tool_call("mcp__symphony__board_move", None, server="symphony", tools=tools)
    codex_acp = {"server_name": "symphony", "request": {"message": 'run tool "board_move"?'}}
    assert own_tool_call("Approve MCP tool call", codex_acp, server="symphony", tools=tools)
    other = {"server_name": "github", "request": {"message": 'run tool "board_move"?'}}
    assert not own_tool_call("Approve MCP tool call", other, server="symphony", tools=tools)
    assert not own_tool_call("mcp__symphony__rm", None, server="symphony", tools=tools)
    assert not own_tool_call("mcp__symphony__board_move", None, server=None, tools=tools)


def test_paths_are_confined_with_symlinks_resolved(tmp_path: Path) -> None:
    ws = (tmp_path / "ws").resolve()
    ws.mkdir()
    (ws / "out").symlink_to(tmp_path)
    assert files.inside(str(ws / "a" / "b.txt"), ws)
    assert files.inside("a/b.txt", ws)
    assert not files.inside(str(ws / "out" / "x"), ws)
    assert not files.inside(str(ws / ".." / "x"), ws)
    assert not files.inside("/etc/passwd", ws)


def test_updates_become_events_with_the_turn_record() -> None:
    mapper = UpdateMapper(pid=42, thread_id="s1")
    mapper.begin_turn("1")
    seen = [
        mapper.update(update_agent_message_text("Let me "), NOW, 0.0),
        mapper.update(update_agent_message_text("look."), NOW, 0.0),
        mapper.update(update_agent_thought_text("hmm"), NOW, 0.0),
        mapper.update(
            start_tool_call(
                "c1", "Run tests", kind="execute", raw_input={"command": ["bash", "-lc", "pytest"]}
            ),
            NOW,
            1.0,
        ),
        mapper.update(
            update_tool_call("c1", status="completed", raw_output={"exitCode": 1}), NOW, 3.5
        ),
        mapper.update(
            start_tool_call("c2", "Read a.py", kind="read", status="completed"), NOW, 4.0
        ),
        mapper.update(
            update_plan([plan_entry("a", status="completed"), plan_entry("b")]), NOW, 4.0
        ),
        mapper.update(UsageUpdate(session_update="usage_update", used=10, size=100), NOW, 4.0),
        mapper.update(
            AvailableCommandsUpdate(
                session_update="available_commands_update", available_commands=[]
            ),
            NOW,
            4.0,
        ),
        mapper.update(update_agent_message_text("Done."), NOW, 5.0),
    ]
    assert [e.message for e in seen] == [
        "agent: Let me ",
        "agent: look.",
        "agent is thinking",
        "tool (execute): pytest",
        "ran: pytest (exit 1)",
        "tool completed: Read a.py",
        "plan: 1/2 steps done",
        "context: 10/100 tokens",
        "session update: available_commands_update",
        "agent: Done.",
    ]
    assert {e.session_id for e in seen} == {"s1-1"} and {e.pid for e in seen} == {42}
    assert seen[-2].event == events.OTHER_MESSAGE
    assert all(e.usage is None for e in seen)  # the context window is not token usage
    assert mapper.last_message == "Done."
    (run,) = mapper.commands
    assert (run.command, run.exit_code, run.duration_ms) == ("pytest", 1, 2500)
    mapper.begin_turn("2")
    assert mapper.last_message is None and not mapper.commands


def test_turn_usage_adds_up_to_absolute_totals() -> None:
    mapper = UpdateMapper(pid=1, thread_id="s1")
    mapper.begin_turn("1")
    assert mapper.add_turn_usage(None, NOW) is None
    first = mapper.add_turn_usage(
        Usage(input_tokens=100, output_tokens=20, total_tokens=120, cached_read_tokens=30), NOW
    )
    second = mapper.add_turn_usage(Usage(input_tokens=10, output_tokens=5, total_tokens=15), NOW)
    assert first is not None and second is not None
    assert first.event == events.TOKEN_USAGE_UPDATED
    assert first.usage is not None and first.usage.cached_input_tokens == 30
    assert second.usage is not None
    assert (second.usage.total_tokens, second.usage.input_tokens) == (135, 110)
