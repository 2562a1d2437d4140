"""The ACP session against a scripted ACP agent (tests/support/fake_acp_agent.py).

The agent is a real subprocess speaking ACP over stdio through the same library, so these tests
cover the wire, the client methods' workspace confinement, the permission policy, stop reasons,
timeouts, exits and the process group, without a model.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from symphony.agents import AgentError, AgentEvent, ToolRegistry, events
from symphony.agents.acp.session import AGENT_NOT_FOUND, AcpSession
from symphony.agents.errors import (
    PORT_EXIT,
    RESPONSE_TIMEOUT,
    SESSION_CLOSED,
    TURN_CANCELLED,
    TURN_FAILED,
    TURN_TIMEOUT,
)
from symphony.core.tokens import counted_growth
from symphony.human import HumanAnswer, HumanRequest
from symphony.usage import TokenUsage
from symphony.workflow.config import AcpConfig
from tests.agents.conftest import make_issue
from tests.support.memory_tracker import MemoryAdapter, MemoryBoard
from tests.support.processes import alive
from tests.support.waiting import wait_until

FAKE_AGENT = Path(__file__).resolve().parents[1] / "support" / "fake_acp_agent.py"
ISSUE = make_issue(state="In Progress")


@dataclass
class Lines:
    lines: list[tuple[str, str]] = field(default_factory=list)

    def write(self, stream: str, line: str) -> None:
        self.lines.append((stream, line))


@dataclass
class Human:
    answer: HumanAnswer
    asked: list[HumanRequest] = field(default_factory=list)

    async def ask(self, request: HumanRequest) -> HumanAnswer:
        self.asked.append(request)
        return self.answer


@dataclass
class Harness:
    root: Path
    workspace: Path
    env: dict[str, str]
    events: list[AgentEvent] = field(default_factory=list)
    transcript: Lines = field(default_factory=Lines)

    async def start(
        self,
        *,
        tools: ToolRegistry | None = None,
        strip_env: frozenset[str] = frozenset(),
        human: Any = None,
        resume_thread_id: str | None = None,
        command: str | None = None,
        **settings: Any,
    ) -> AcpSession:
        config = AcpConfig(
            command=command or f"exec {shlex.quote(sys.executable)} {shlex.quote(str(FAKE_AGENT))}",
            **{"read_timeout_ms": 10_000, "turn_timeout_ms": 10_000, **settings},
        )
        return await AcpSession.start(
            workspace=self.workspace,
            workspace_root=self.root,
            acp=config,
            tools=tools or ToolRegistry.empty(),
            strip_env=strip_env,
            on_event=self.events.append,
            issue=ISSUE,
            transcript=self.transcript,
            env=self.env,
            human=human,
            resume_thread_id=resume_thread_id,
        )

    def named(self, name: str) -> list[AgentEvent]:
        return [e for e in self.events if e.event == name]


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    root = tmp_path / "workspaces"
    workspace = root / "SYM-1"
    workspace.mkdir(parents=True)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
    }
    yield Harness(root=root, workspace=workspace.resolve(), env=env)


async def run(session: AcpSession, *steps: dict[str, Any]) -> list[Any]:
    outcome = await session.run_turn(json.dumps(list(steps)), issue=ISSUE)
    assert outcome.last_message is not None
    results: list[Any] = json.loads(outcome.last_message)
    return results


async def test_turns_share_the_session_and_count_usage_once(harness: Harness) -> None:
    session = await harness.start()
    try:
        first = await session.run_turn(
            json.dumps(
                [
                    {"say": "working"},
                    {"stderr": "agent diagnostics: warming up"},
                    {"execute": "make test", "exit_code": 2},
                    {"usage": {"inputTokens": 100, "outputTokens": 20, "totalTokens": 120}},
                ]
            ),
            issue=ISSUE,
        )
        second = await session.run_turn(
            json.dumps([{"usage": {"inputTokens": 50, "outputTokens": 5, "totalTokens": 55}}]),
            issue=ISSUE,
        )
    finally:
        await session.stop()
        await session.stop()  # safe twice

    assert first.thread_id == second.thread_id == session.thread_id
    assert (first.turn_id, second.turn_id) == ("1", "2")
    assert first.session_id == f"{first.thread_id}-1"
    assert first.last_message == "[]"
    assert [(c.command, c.exit_code) for c in first.commands] == [("make test", 2)]
    assert second.commands == ()
    started = harness.named(events.SESSION_STARTED)
    assert [e.session_id for e in started] == [first.session_id, second.session_id]
    assert {e.pid for e in harness.events} == {session.pid}
    assert [e.message for e in harness.events if (e.message or "").startswith("ran")] == [
        "ran: make test (exit 2)"
    ]

    reported = TokenUsage()
    counted = TokenUsage()
    for event in harness.events:
        if event.usage is not None:
            delta, reported = counted_growth(reported, event.usage)
            counted = counted + delta
    assert counted.total_tokens == 175 and counted.input_tokens == 150
    assert second.usage == counted
    assert (first.usage_delta.total_tokens, second.usage_delta.total_tokens) == (120, 55)
    assert len(harness.named(events.TURN_COMPLETED)) == 2

    sent = [line for stream, line in harness.transcript.lines if stream == "send"]
    received = [line for stream, line in harness.transcript.lines if stream == "recv"]
    assert any('"method":"initialize"' in line for line in sent)
    assert any('"method":"session/new"' in line for line in sent)
    assert sum('"method":"session/prompt"' in line for line in sent) == 2
    assert any("session/update" in line for line in received)
    assert ("stderr", "agent diagnostics: warming up") in harness.transcript.lines


async def test_stop_reasons_other_than_end_turn_fail_the_turn(harness: Harness) -> None:
    expected = {
        "refusal": (TURN_FAILED, events.TURN_FAILED),
        "max_tokens": (TURN_FAILED, events.TURN_FAILED),
        "max_turn_requests": (TURN_FAILED, events.TURN_FAILED),
        "cancelled": (TURN_CANCELLED, events.TURN_CANCELLED),
    }
    seen: dict[str, tuple[str, str]] = {}
    session = await harness.start()
    try:
        for reason in expected:
            with pytest.raises(AgentError) as caught:
                await run(session, {"stop": reason})
            assert caught.value.details["stop_reason"] == reason
            seen[reason] = (caught.value.code, harness.events[-1].event)
            assert session.alive
        assert await run(session, {"say": "still here"}) == []
    finally:
        await session.stop()
    assert seen == expected


async def test_a_json_rpc_error_on_the_prompt_is_a_failed_turn(harness: Harness) -> None:
    session = await harness.start()
    try:
        with pytest.raises(AgentError) as caught:
            await run(session, {"error": "model unavailable"})
    finally:
        await session.stop()
    assert caught.value.code == TURN_FAILED
    assert "model unavailable" in json.dumps(caught.value.details)
    assert harness.named(events.TURN_FAILED)
    assert not harness.named(events.TURN_COMPLETED)


async def test_files_are_served_inside_the_workspace_only(harness: Harness, tmp_path: Path) -> None:
    ws = harness.workspace
    (ws / "notes.txt").write_text("one\ntwo\nthree\n")
    outside = tmp_path / "outside.txt"
    outside.write_text("host secret")
    (ws / "link").symlink_to(outside)
    (ws / "dir-link").symlink_to(tmp_path, target_is_directory=True)
    session = await harness.start()
    try:
        results = await run(
            session,
            {"read": str(ws / "notes.txt")},
            {"read": str(ws / "notes.txt"), "line": 2, "limit_lines": 1},
            {"read": str(outside)},
            {"read": str(ws / "link")},
            {"read": str(ws / ".." / ".." / "outside.txt")},
            {"read": "notes.txt"},
            {"write": str(ws / "sub" / "new.txt"), "content": "made"},
            {"write": str(outside), "content": "overwritten"},
            {"write": str(ws / "dir-link" / "escaped.txt"), "content": "x"},
            {"read": str(ws / "missing.txt")},
        )
    finally:
        await session.stop()
    assert results[0] == "one\ntwo\nthree\n"
    assert results[1] == "two\n"
    for refused in (results[2], results[3], results[4], results[5], results[7], results[8]):
        assert refused["error"] == -32602, refused
    assert "outside the workspace" in results[2]["message"]
    assert "absolute" in results[5]["message"]
    assert results[6] == "ok" and (ws / "sub" / "new.txt").read_text() == "made"
    assert outside.read_text() == "host secret"
    assert not (tmp_path / "escaped.txt").exists()
    assert results[9]["error"] == -32002


async def test_terminals_run_in_the_workspace_without_the_tracker_secret(
    harness: Harness, tmp_path: Path
) -> None:
    harness.env["TRACKER_API_KEY"] = "lin_api_SECRET"
    session = await harness.start(strip_env=frozenset({"TRACKER_API_KEY"}))
    try:
        results = await run(
            session,
            {
                "terminal": "pwd; echo ${TRACKER_API_KEY:-unset}; echo $ASKED; exit 3",
                "env": {"ASKED": "given", "TRACKER_API_KEY": "smuggled"},
            },
            {"terminal": "printf", "args": ["%s", "0123456789"], "limit": 4},
            {"terminal": "pwd", "cwd": str(tmp_path)},
            {"terminal": "pwd", "cwd": str(harness.workspace)},
            {"terminal_kill": "sleep 30"},
        )
    finally:
        await session.stop()
    assert results[0] == {
        "exit": 3,
        "output": f"{harness.workspace}\nunset\ngiven\n",
        "truncated": False,
    }
    assert results[1] == {"exit": 0, "output": "6789", "truncated": True}
    assert results[2]["error"] == -32602
    assert results[3]["exit"] == 0
    assert results[4] == {"signal": "SIGTERM"}
    assert session.terminal_pids == []


async def test_permissions_follow_the_policy_without_a_human(
    harness: Harness, tmp_path: Path
) -> None:
    session = await harness.start()
    try:
        results = await run(
            session,
            {"permission": "execute"},
            {"permission": "edit", "locations": [str(harness.workspace / "a.py")]},
            {"permission": "edit", "locations": [str(tmp_path / "a.py")]},
            {"permission": "fetch"},
            {"permission": "delete", "options": ["allow_once"]},
        )
    finally:
        await session.stop()
    assert results == ["allow_once", "allow_once", "reject_once", "reject_once", "cancelled"]
    assert len(harness.named(events.APPROVAL_AUTO_APPROVED)) == 2
    assert len(harness.named(events.APPROVAL_DECLINED)) == 3


async def test_permissions_the_policy_leaves_open_go_to_the_human(harness: Harness) -> None:
    human = Human(HumanAnswer(decision="approve_for_session"))
    session = await harness.start(human=human, permissions={"execute": "ask"})
    try:
        results = await run(
            session,
            {"permission": "execute", "title": "rm -rf build"},
            {"permission": "read"},
        )
    finally:
        await session.stop()
    assert results == ["allow_always", "allow_once"]
    (request,) = human.asked
    assert request.kind == "command_approval"
    assert request.command == "rm -rf build"
    assert request.cwd == str(harness.workspace)
    assert harness.named(events.HUMAN_REQUEST) and harness.named(events.HUMAN_REQUEST_ANSWERED)


async def test_tracker_tools_reach_the_agent_over_mcp(harness: Harness) -> None:
    board = MemoryBoard()
    board.put(ISSUE)
    adapter = MemoryAdapter(board)
    tools = ToolRegistry(adapter.agent_tool_specs(), adapter.execute_agent_tool)
    session = await harness.start(tools=tools)
    try:
        (result,) = await run(
            session, {"mcp": "memory_move", "arguments": {"state": "Human Review"}}
        )
    finally:
        await session.stop()
    assert result["tools"] == ["memory_move"] and not result["error"]
    assert board.issues[ISSUE.id].state == "Human Review"
    (done,) = harness.named(events.TOOL_CALL_COMPLETED)
    assert done.payload["tool"] == "memory_move"


async def test_an_agent_without_http_mcp_is_told_nothing_and_the_operator_warned(
    harness: Harness,
) -> None:
    harness.env["FAKE_ACP_CAPS"] = json.dumps({"mcpCapabilities": {"http": False}})
    adapter = MemoryAdapter(MemoryBoard())
    tools = ToolRegistry(adapter.agent_tool_specs(), adapter.execute_agent_tool)
    session = await harness.start(tools=tools)
    await session.stop()
    warned = [
        e for e in harness.named(events.NOTIFICATION) if "mcpCapabilities.http" in (e.message or "")
    ]
    assert warned and "memory_move" in (warned[0].message or "")
    sent = [line for stream, line in harness.transcript.lines if stream == "send"]
    new = next(line for line in sent if '"session/new"' in line)
    assert json.loads(new)["params"]["mcpServers"] == []


async def test_a_silent_turn_times_out_and_is_cancelled(harness: Harness) -> None:
    session = await harness.start(turn_timeout_ms=300)
    try:
        with pytest.raises(AgentError) as caught:
            await run(session, {"hang": True})
    finally:
        await session.stop()
    assert caught.value.code == TURN_TIMEOUT
    sent = [line for stream, line in harness.transcript.lines if stream == "send"]
    assert any('"method":"session/cancel"' in line for line in sent)


async def test_an_agent_that_exits_mid_turn_fails_it(harness: Harness) -> None:
    session = await harness.start()
    try:
        with pytest.raises(AgentError) as caught:
            await run(session, {"exit": 7})
        assert not session.alive
    finally:
        await session.stop()
    assert caught.value.code == PORT_EXIT
    assert caught.value.details["exit_code"] == 7


async def test_a_missing_agent_command_is_named(harness: Harness) -> None:
    with pytest.raises(AgentError) as caught:
        await harness.start(command="no-such-acp-agent-xyz")
    assert caught.value.code == AGENT_NOT_FOUND
    assert "acp.command" in caught.value.message


async def test_resume_loads_a_known_session_and_falls_back_to_a_new_one(harness: Harness) -> None:
    resumed = await harness.start(resume_thread_id="known-42")
    await resumed.stop()
    fresh = await harness.start(resume_thread_id="gone-1")
    await fresh.stop()
    assert resumed.resumed and resumed.thread_id == "known-42"
    assert not fresh.resumed and fresh.thread_id != "gone-1"
    # The replayed conversation is not news.
    assert not [e for e in harness.events if "replayed" in (e.message or "")]


async def test_steering_opens_the_next_turn(harness: Harness) -> None:
    session = await harness.start()
    try:
        assert await session.steer("use the staging database") == "next_turn"
        (text,) = await run(session, {"prompt": True})
    finally:
        await session.stop()
    assert text.startswith("Operator guidance: use the staging database")
    assert harness.named(events.STEERED)


async def test_stop_kills_the_agent_group_and_its_terminals(harness: Harness) -> None:
    session = await harness.start()
    (child,) = await run(session, {"spawn": "sleep 300"})
    assert session.pid is not None and alive(child) and alive(session.pid)
    await session.stop()
    await wait_until(
        lambda: not alive(child), "the agent's background child to be killed", timeout=2.0
    )
    assert not alive(session.pid)
    with pytest.raises(AgentError):
        await run(session, {"say": "too late"})


@dataclass
class SilentHuman:
    asked: list[HumanRequest] = field(default_factory=list)
    withdrawn: int = 0

    async def ask(self, request: HumanRequest) -> HumanAnswer:
        self.asked.append(request)
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.withdrawn += 1
            raise
        raise AssertionError("unreachable")


async def test_stopping_mid_turn_cancels_it_and_withdraws_the_human_request(
    harness: Harness,
) -> None:
    human = SilentHuman()
    # The clock stands still while the human decides: the short time-out never fires.
    session = await harness.start(human=human, turn_timeout_ms=200)
    turn = asyncio.ensure_future(run(session, {"permission": "fetch"}))
    await wait_until(lambda: human.asked, "the permission request to reach the human")
    await asyncio.sleep(0.4)  # longer than the silence time-out; still waiting, as it should
    assert not turn.done()
    await session.stop()
    with pytest.raises(AgentError) as caught:
        await turn
    assert caught.value.code == SESSION_CLOSED
    assert human.withdrawn == 1
    sent = [line for stream, line in harness.transcript.lines if stream == "send"]
    assert any('"method":"session/cancel"' in line for line in sent)


async def test_an_agent_that_never_answers_initialize_is_killed(harness: Harness) -> None:
    pid_file = harness.workspace / "agent.pid"
    with pytest.raises(AgentError) as caught:
        await harness.start(command=f"echo $$ > {pid_file}; exec sleep 60", read_timeout_ms=300)
    assert caught.value.code == RESPONSE_TIMEOUT
    assert "initialize" in caught.value.message and "acp.read_timeout_ms" in caught.value.message
    pid = int(pid_file.read_text())
    await wait_until(lambda: not alive(pid), "the silent agent to be killed", timeout=5)
