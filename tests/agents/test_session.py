"""CodexSession over a real subprocess speaking the app-server protocol (tests/support/fake_codex).

The fake is scripted per test, so timeouts, exits, huge lines and stderr noise are exact and fast.
The real codex binary is exercised in test_codex_real.py.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from symphony.agents import events
from symphony.agents.base import HumanChannel
from symphony.agents.codex import errors, launch
from symphony.agents.codex import session as session_module
from symphony.agents.codex.errors import AgentError
from symphony.agents.codex.session import CodexSession
from symphony.agents.codex.tools import dynamic_tool
from symphony.agents.events import AgentEvent
from symphony.agents.tools import ToolRegistry
from symphony.human import HumanAnswer, HumanRequest
from symphony.tools import ToolContext, ToolResult, ToolSpec
from symphony.workflow.config import CodexConfig
from tests.agents.conftest import FAKE_CODEX, FakeCodexFactory, make_issue, read_log
from tests.support.processes import alive
from tests.support.waiting import wait_until

RESPOND_TURN: dict[str, Any] = {"respond": {"turn": {"id": "$TURN", "status": "inProgress"}}}
ISSUE = make_issue()


class Recorder:
    def __init__(self) -> None:
        self.events: list[AgentEvent] = []
        self.lines: list[tuple[str, str]] = []

    def __call__(self, event: AgentEvent) -> None:
        self.events.append(event)

    def write(self, stream: str, line: str) -> None:
        self.lines.append((stream, line))

    def names(self) -> list[str]:
        return [e.event for e in self.events]


async def _start(
    codex: CodexConfig,
    workspace: tuple[Path, Path],
    env: dict[str, str],
    recorder: Recorder | None = None,
    tools: ToolRegistry | None = None,
    strip_env: frozenset[str] = frozenset(),
    human: HumanChannel | None = None,
) -> CodexSession:
    rec = recorder or Recorder()
    return await CodexSession.start(
        workspace=workspace[0],
        workspace_root=workspace[1],
        codex=codex,
        tools=tools or ToolRegistry.empty(),
        strip_env=strip_env,
        on_event=rec,
        issue=ISSUE,
        transcript=rec,
        env=env,
        human=human,
    )


async def test_handshake_turn_and_continuation_on_one_process(
    fake_codex: FakeCodexFactory, workspace: tuple[Path, Path], clean_env: dict[str, str]
) -> None:
    codex, log_path = fake_codex()
    recorder = Recorder()
    spec = ToolSpec("echo", "Echo.", {"type": "object"})

    async def echo(name: str, arguments: Any, context: ToolContext) -> ToolResult:
        return ToolResult.ok(arguments)

    session = await _start(codex, workspace, clean_env, recorder, ToolRegistry([spec], echo))
    try:
        first = await session.run_turn("the rendered prompt", issue=ISSUE)
        second = await session.run_turn("continuation guidance", issue=ISSUE)
    finally:
        await session.stop()
    sent = read_log(log_path)
    methods = [m.get("method") for m in sent]
    assert methods == [
        "initialize",
        "initialized",
        "thread/start",
        "thread/name/set",
        "turn/start",
        "turn/start",
    ]
    assert sent[0]["params"]["capabilities"] == {"experimentalApi": True}
    ws = str(workspace[0].resolve())
    assert sent[2]["params"]["cwd"] == ws
    assert sent[2]["params"]["dynamicTools"] == [dynamic_tool(spec)]
    assert sent[3]["params"] == {"threadId": "thread-fake", "name": "SYM-1: Make a file"}
    assert [m["params"]["input"][0]["text"] for m in sent[4:]] == [
        "the rendered prompt",
        "continuation guidance",
    ]
    assert all(m["params"]["threadId"] == "thread-fake" for m in sent[4:])
    assert (first.session_id, second.session_id) == ("thread-fake-turn-1", "thread-fake-turn-2")
    assert first.thread_id == second.thread_id == session.thread_id
    assert recorder.names().count(events.SESSION_STARTED) == 2
    assert recorder.names().count(events.TURN_COMPLETED) == 2
    assert all(e.pid == session.pid for e in recorder.events)
    assert session.pid is not None and not alive(session.pid)


async def test_command_not_found_is_codex_not_found(
    workspace: tuple[Path, Path], clean_env: dict[str, str]
) -> None:
    codex = CodexConfig(command="symphony-no-such-codex-binary app-server")
    with pytest.raises(AgentError) as caught:
        await _start(codex, workspace, clean_env)
    assert caught.value.code == errors.CODEX_NOT_FOUND
    assert "symphony-no-such-codex-binary" in caught.value.message


async def test_workspace_outside_the_root_is_refused_before_launch(
    fake_codex: FakeCodexFactory, tmp_path: Path, clean_env: dict[str, str]
) -> None:
    codex, log_path = fake_codex()
    root = tmp_path / "root"
    outside = tmp_path / "elsewhere"
    root.mkdir()
    outside.mkdir()
    for ws in (outside, root):
        with pytest.raises(AgentError) as caught:
            await _start(codex, (ws, root), clean_env)
        assert caught.value.code == errors.INVALID_WORKSPACE_CWD
    assert not log_path.exists()


async def test_request_without_answer_times_out_and_leaves_nothing_running(
    fake_codex: FakeCodexFactory, workspace: tuple[Path, Path], clean_env: dict[str, str]
) -> None:
    codex, _ = fake_codex({"initialize": [[{"sleep": 30}]]}, read_timeout_ms=200)
    recorder = Recorder()
    began = time.monotonic()
    with pytest.raises(AgentError) as caught:
        await _start(codex, workspace, clean_env, recorder)
    assert caught.value.code == errors.RESPONSE_TIMEOUT
    assert "initialize" in caught.value.message
    assert time.monotonic() - began < 8
    sent = [line for stream, line in recorder.lines if stream == "send"]
    assert len(sent) == 1


async def test_exit_before_initialize_is_port_exit_with_stderr(
    fake_codex: FakeCodexFactory, workspace: tuple[Path, Path], clean_env: dict[str, str]
) -> None:
    codex, _ = fake_codex({"initialize": [[{"stderr": "fatal: bad config.toml"}, {"exit": 2}]]})
    with pytest.raises(AgentError) as caught:
        await _start(codex, workspace, clean_env)
    assert caught.value.code == errors.PORT_EXIT
    assert "status 2" in caught.value.message and "bad config.toml" in caught.value.message


async def test_rejected_thread_start_is_response_error(
    fake_codex: FakeCodexFactory, workspace: tuple[Path, Path], clean_env: dict[str, str]
) -> None:
    error = {"code": -32600, "message": "Invalid request: unknown variant `reject`"}
    codex, _ = fake_codex({"thread/start": [[{"error": error}]]})
    with pytest.raises(AgentError) as caught:
        await _start(codex, workspace, clean_env)
    assert caught.value.code == errors.RESPONSE_ERROR
    assert "unknown variant" in caught.value.message


async def test_a_refused_thread_name_does_not_stop_the_session(
    fake_codex: FakeCodexFactory, workspace: tuple[Path, Path], clean_env: dict[str, str]
) -> None:
    error = {"code": -32600, "message": "unknown variant thread/name/set"}
    codex, log_path = fake_codex({"thread/name/set": [[{"error": error}]]})
    session = await _start(codex, workspace, clean_env)
    try:
        result = await session.run_turn("go", issue=ISSUE)
        again = await session.run_turn("go on", issue=ISSUE)
    finally:
        await session.stop()
    assert (result.status, again.status) == ("completed", "completed")
    # Asked once: a refusal is not retried on every turn.
    assert [m.get("method") for m in read_log(log_path)].count("thread/name/set") == 1


async def test_the_first_turn_does_not_wait_for_the_thread_name(
    fake_codex: FakeCodexFactory, workspace: tuple[Path, Path], clean_env: dict[str, str]
) -> None:
    # Naming is cosmetic: a server that never answers it must not delay or fail the turn.
    codex, _ = fake_codex({"thread/name/set": [[]]}, read_timeout_ms=1500)
    session = await _start(codex, workspace, clean_env)
    try:
        result = await session.run_turn("go", issue=ISSUE)
    finally:
        await session.stop()
    assert result.status == "completed"


async def test_a_rejected_or_timed_out_turn_does_not_block_the_next_one(
    fake_codex: FakeCodexFactory, workspace: tuple[Path, Path], clean_env: dict[str, str]
) -> None:
    error = {"code": -32600, "message": "Invalid request: bad sandboxPolicy"}
    reactions = [[{"error": error}], [{"sleep": 1.8}, {"default": True}], [{"default": True}]]
    codex, _ = fake_codex({"turn/start": reactions}, read_timeout_ms=1500)
    session = await _start(codex, workspace, clean_env)
    try:
        with pytest.raises(AgentError) as rejected:
            await session.run_turn("one", issue=ISSUE)
        assert rejected.value.code == errors.RESPONSE_ERROR
        with pytest.raises(AgentError) as slow:
            await session.run_turn("two", issue=ISSUE)
        assert slow.value.code == errors.RESPONSE_TIMEOUT
        result = await session.run_turn("three", issue=ISSUE)
    finally:
        await session.stop()
    assert result.status == "completed" and result.turn_number == 3


async def test_turn_silence_times_out(
    fake_codex: FakeCodexFactory, workspace: tuple[Path, Path], clean_env: dict[str, str]
) -> None:
    codex, _ = fake_codex({"turn/start": [[RESPOND_TURN, {"sleep": 30}]]}, turn_timeout_ms=300)
    session = await _start(codex, workspace, clean_env)
    began = time.monotonic()
    try:
        with pytest.raises(AgentError) as caught:
            await session.run_turn("go", issue=ISSUE)
    finally:
        await session.stop()
    assert caught.value.code == errors.TURN_TIMEOUT
    assert 0.25 < time.monotonic() - began < 5


async def test_any_output_resets_the_turn_silence_timer(
    fake_codex: FakeCodexFactory, workspace: tuple[Path, Path], clean_env: dict[str, str]
) -> None:
    ping = {"send": {"method": "item/agentMessage/delta", "params": {"delta": "."}}}
    noise = {"stderr": "still working"}
    steps = [RESPOND_TURN]
    for i in range(8):
        steps += [{"sleep": 0.15}, ping if i % 2 else noise]
    steps.append({"complete": "completed"})
    # Gaps of ~0.15 s against a 1 s timeout: wide margin for a loaded machine.
    codex, _ = fake_codex({"turn/start": [steps]}, turn_timeout_ms=1000)
    session = await _start(codex, workspace, clean_env)
    began = time.monotonic()
    try:
        result = await session.run_turn("go", issue=ISSUE)
    finally:
        await session.stop()
    assert result.status == "completed"
    assert time.monotonic() - began > 1.0  # longer than the timeout, yet never silent that long


async def test_exit_during_a_turn_is_port_exit(
    fake_codex: FakeCodexFactory, workspace: tuple[Path, Path], clean_env: dict[str, str]
) -> None:
    codex, _ = fake_codex({"turn/start": [[RESPOND_TURN, {"stderr": "panic: boom"}, {"exit": 3}]]})
    recorder = Recorder()
    session = await _start(codex, workspace, clean_env, recorder)
    try:
        with pytest.raises(AgentError) as caught:
            await session.run_turn("go", issue=ISSUE)
        assert caught.value.code == errors.PORT_EXIT
        assert "status 3" in caught.value.message and "panic: boom" in caught.value.message
        assert events.TURN_ENDED_WITH_ERROR in recorder.names()
        assert not session.alive
        with pytest.raises(AgentError) as again:
            await session.run_turn("more", issue=ISSUE)
        assert again.value.code == errors.PORT_EXIT
    finally:
        await session.stop()


async def test_failed_turn_raises_turn_failed(
    fake_codex: FakeCodexFactory, workspace: tuple[Path, Path], clean_env: dict[str, str]
) -> None:
    failed = {"complete": "failed", "error": {"message": "stream disconnected"}}
    codex, _ = fake_codex({"turn/start": [[RESPOND_TURN, failed]]})
    session = await _start(codex, workspace, clean_env)
    try:
        with pytest.raises(AgentError) as caught:
            await session.run_turn("go", issue=ISSUE)
    finally:
        await session.stop()
    assert caught.value.code == errors.TURN_FAILED
    assert "stream disconnected" in caught.value.message


async def test_megabyte_lines_malformed_lines_and_stderr_json_are_handled(
    fake_codex: FakeCodexFactory, workspace: tuple[Path, Path], clean_env: dict[str, str]
) -> None:
    fake_end = (
        '{"method":"turn/completed","params":{"threadId":"thread-fake",'
        '"turn":{"id":"turn-1","status":"failed"}}}'
    )
    steps = [
        RESPOND_TURN,
        {"big": 1_100_000},
        {"raw": "this is not json"},
        {"stderr": fake_end},  # diagnostics, never protocol
        {"complete": "completed"},
    ]
    codex, _ = fake_codex({"turn/start": [steps]})
    recorder = Recorder()
    session = await _start(codex, workspace, clean_env, recorder)
    try:
        result = await session.run_turn("go", issue=ISSUE)
    finally:
        await session.stop()
    assert result.status == "completed"
    big = [e for e in recorder.events if e.payload.get("method") == "item/agentMessage/delta"]
    assert len(big[0].payload["params"]["delta"]) == 1_100_000
    malformed = [e for e in recorder.events if e.event == events.MALFORMED]
    assert [e.payload["line"] for e in malformed] == ["this is not json"]
    assert ("stderr", fake_end) in recorder.lines


async def test_lines_over_the_limit_are_dropped_and_reading_continues(
    fake_codex: FakeCodexFactory,
    workspace: tuple[Path, Path],
    clean_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(launch, "MAX_LINE_BYTES", 64 * 1024)
    steps = [RESPOND_TURN, {"big": 300_000}, {"complete": "completed"}]
    codex, _ = fake_codex({"turn/start": [steps]})
    recorder = Recorder()
    session = await _start(codex, workspace, clean_env, recorder)
    try:
        result = await session.run_turn("go", issue=ISSUE)
    finally:
        await session.stop()
    assert result.status == "completed"
    (dropped,) = [e for e in recorder.events if e.event == events.MALFORMED]
    assert dropped.payload["size"] > 300_000


async def test_tool_calls_run_while_the_stream_keeps_flowing(
    fake_codex: FakeCodexFactory, workspace: tuple[Path, Path], clean_env: dict[str, str]
) -> None:
    call = {
        "id": 0,
        "method": "item/tool/call",
        "params": {
            "threadId": "$THREAD",
            "turnId": "$TURN",
            "callId": "call-1",
            "tool": "slow",
            "arguments": {"n": 1},
        },
    }
    ping = {"method": "warning", "params": {"threadId": "$THREAD", "message": "ping"}}
    steps = [RESPOND_TURN, {"send": call}, {"send": ping}, {"wait_reply": True}]
    steps.append({"complete": "completed"})
    codex, log_path = fake_codex({"turn/start": [steps]})
    pinged = asyncio.Event()
    seen: list[ToolContext] = []

    def on_event(event: AgentEvent) -> None:
        if event.payload.get("method") == "warning":
            pinged.set()

    async def slow(name: str, arguments: Any, context: ToolContext) -> ToolResult:
        seen.append(context)
        # Finishes only once a message sent *after* the call has been read.
        await asyncio.wait_for(pinged.wait(), timeout=10)
        return ToolResult.ok({"got": arguments})

    tools = ToolRegistry([ToolSpec("slow", "Slow tool.", {"type": "object"})], slow)
    session = await CodexSession.start(
        workspace=workspace[0],
        workspace_root=workspace[1],
        codex=codex,
        tools=tools,
        strip_env=frozenset(),
        on_event=on_event,
        issue=ISSUE,
        env=clean_env,
    )
    try:
        await session.run_turn("go", issue=ISSUE)
    finally:
        await session.stop()
    (answer,) = [m for m in read_log(log_path) if m.get("id") == 0 and "method" not in m]
    assert answer["result"]["success"] is True
    assert '"n": 1' in answer["result"]["contentItems"][0]["text"]
    assert seen[0].issue == ISSUE and seen[0].extra["call_id"] == "call-1"


async def test_approval_and_user_input_requests_never_stall(
    fake_codex: FakeCodexFactory, workspace: tuple[Path, Path], clean_env: dict[str, str]
) -> None:
    approval = {
        "id": 0,
        "method": "item/commandExecution/requestApproval",
        "params": {"threadId": "$THREAD", "turnId": "$TURN", "itemId": "i", "command": "rm -rf x"},
    }
    question = {"id": "q", "header": "", "question": "Which env?", "options": None}
    ask = {
        "id": 1,
        "method": "item/tool/requestUserInput",
        "params": {
            "threadId": "$THREAD",
            "turnId": "$TURN",
            "itemId": "j",
            "questions": [question],
        },
    }
    steps = [RESPOND_TURN, {"send": approval}, {"wait_reply": True}, {"send": ask}]
    steps += [{"wait_reply": True}, {"sleep": 30}]
    codex, log_path = fake_codex({"turn/start": [steps]}, approval_policy="untrusted")
    recorder = Recorder()
    session = await _start(codex, workspace, clean_env, recorder)
    began = time.monotonic()
    try:
        with pytest.raises(AgentError) as caught:
            await session.run_turn("go", issue=ISSUE)
    finally:
        await session.stop()
    assert caught.value.code == errors.TURN_INPUT_REQUIRED
    assert time.monotonic() - began < 5
    sent = read_log(log_path)
    assert {"id": 0, "result": {"decision": "decline"}} in sent
    assert {"id": 1, "result": {"answers": {}}} in sent
    assert any(m.get("method") == "turn/interrupt" for m in sent)
    assert events.APPROVAL_DECLINED in recorder.names()
    assert events.TURN_INPUT_REQUIRED in recorder.names()


async def test_tracker_secrets_never_reach_the_child(
    fake_codex: FakeCodexFactory, workspace: tuple[Path, Path], clean_env: dict[str, str]
) -> None:
    home = Path(clean_env["HOME"])
    (home / ".bash_profile").write_text("export TRACKER_TOKEN=from-profile\n")
    codex, log_path = fake_codex({"initialize": [[{"env": True}, {"default": True}]]})
    env = {**clean_env, "TRACKER_TOKEN": "lin_api_supersecret", "KEEP_ME": "yes"}
    session = await _start(codex, workspace, env, strip_env=frozenset({"TRACKER_TOKEN"}))
    await session.stop()
    (child_env,) = [m["_env"] for m in read_log(log_path) if "_env" in m]
    assert "TRACKER_TOKEN" not in child_env
    assert child_env["KEEP_ME"] == "yes"


async def test_transcript_sees_every_line_and_failing_listeners_are_contained(
    fake_codex: FakeCodexFactory, workspace: tuple[Path, Path], clean_env: dict[str, str]
) -> None:
    steps = [RESPOND_TURN, {"stderr": "diag line"}, {"complete": "completed"}]
    codex, _ = fake_codex({"turn/start": [steps]})

    class Broken:
        def __init__(self) -> None:
            self.calls = 0

        def write(self, stream: str, line: str) -> None:
            self.calls += 1
            raise OSError("disk full")

    lines: list[tuple[str, str]] = []

    class Good:
        def write(self, stream: str, line: str) -> None:
            lines.append((stream, line))

    def explode(event: AgentEvent) -> None:
        raise RuntimeError("listener bug")

    for transcript in (Good(), Broken()):
        session = await CodexSession.start(
            workspace=workspace[0],
            workspace_root=workspace[1],
            codex=codex,
            tools=ToolRegistry.empty(),
            strip_env=frozenset(),
            on_event=explode,
            issue=ISSUE,
            transcript=transcript,
            env=clean_env,
        )
        try:
            assert (await session.run_turn("go", issue=ISSUE)).status == "completed"
        finally:
            await session.stop()
        if isinstance(transcript, Broken):
            assert transcript.calls == 1  # switched off after the first failure
    streams = {stream for stream, _ in lines}
    assert streams == {"send", "recv", "stderr"}
    assert ("stderr", "diag line") in lines
    assert any('"method":"initialize"' in line for stream, line in lines if stream == "send")


async def test_stop_kills_what_the_app_server_left_in_its_group(
    workspace: tuple[Path, Path], clean_env: dict[str, str], tmp_path: Path
) -> None:
    scenario = tmp_path / "scenario.json"
    scenario.write_text("{}")
    pid_file = tmp_path / "sleeper.pid"
    command = (
        f"sleep 300 >/dev/null 2>&1 & echo $! > {pid_file}; "
        f"{sys.executable} {FAKE_CODEX} {scenario} {tmp_path / 'log.jsonl'}"
    )
    session = await _start(CodexConfig(command=command), workspace, clean_env)
    sleeper = int(pid_file.read_text())
    assert alive(sleeper)
    await session.stop()
    # The kill is delivered asynchronously.
    await wait_until(lambda: not alive(sleeper), "the background sleeper to be killed", timeout=2.0)


async def test_a_steer_while_the_turn_starts_goes_into_that_turn(
    fake_codex: FakeCodexFactory, workspace: tuple[Path, Path], clean_env: dict[str, str]
) -> None:
    # codex answers turn/start late; the steer arrives before the turn's id is known.
    steps = [{"sleep": 0.3}, RESPOND_TURN, {"sleep": 0.2}, {"complete": "completed"}]
    codex, log = fake_codex({"turn/start": [steps]})
    session = await _start(codex, workspace, clean_env)
    try:
        turn = asyncio.create_task(session.run_turn("go", issue=ISSUE))
        await wait_until(lambda: any(m.get("method") == "turn/start" for m in read_log(log)))
        delivery = await session.steer("use tabs")
        result = await asyncio.wait_for(turn, timeout=10)
    finally:
        await session.stop()
    assert delivery == "running_turn"
    (steer,) = [m for m in read_log(log) if m.get("method") == "turn/steer"]
    assert steer["params"]["expectedTurnId"] == result.turn_id
    assert steer["params"]["input"] == [{"type": "text", "text": "use tabs"}]


async def _resume(
    codex: CodexConfig, workspace: tuple[Path, Path], env: dict[str, str], thread_id: str
) -> CodexSession:
    return await CodexSession.start(
        workspace=workspace[0],
        workspace_root=workspace[1],
        codex=codex,
        tools=ToolRegistry.empty(),
        strip_env=frozenset(),
        on_event=Recorder(),
        issue=ISSUE,
        env=env,
        resume_thread_id=thread_id,
    )


async def test_resume_is_asked_again_while_another_app_server_holds_the_thread(
    fake_codex: FakeCodexFactory,
    workspace: tuple[Path, Path],
    clean_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(session_module, "RESUME_RETRY_INTERVAL_S", 0.01)
    busy = {"error": {"code": -32600, "message": "thread old-1 already has an active writer"}}
    resumed = {"respond": {"thread": {"id": "old-1"}}}
    codex, log_path = fake_codex({"thread/resume": [[busy], [busy], [resumed]]})
    session = await _resume(codex, workspace, clean_env, "old-1")
    try:
        assert session.resumed and session.thread_id == "old-1"
    finally:
        await session.stop()
    sent = [m for m in read_log(log_path) if m.get("method", "").startswith("thread/")]
    methods = [m["method"] for m in sent]
    assert methods[:3] == ["thread/resume"] * 3 and "thread/start" not in methods
    assert sent[0]["params"]["threadId"] == "old-1" and sent[0]["params"]["cwd"]


async def test_a_thread_codex_will_not_resume_gets_a_new_thread(
    fake_codex: FakeCodexFactory, workspace: tuple[Path, Path], clean_env: dict[str, str]
) -> None:
    gone = {"error": {"code": -32600, "message": "no rollout found for thread id old-1"}}
    codex, log_path = fake_codex({"thread/resume": [[gone]]})
    session = await _resume(codex, workspace, clean_env, "old-1")
    try:
        assert not session.resumed and session.thread_id == "thread-fake"
    finally:
        await session.stop()
    methods = [m.get("method") for m in read_log(log_path)]
    assert methods.count("thread/resume") == 1 and "thread/start" in methods


class _WaitingHuman:
    """A human channel nobody answers: records each request and whether its wait was cancelled."""

    def __init__(self) -> None:
        self.asked: list[HumanRequest] = []
        self.cancelled = 0

    async def ask(self, request: HumanRequest) -> HumanAnswer:
        self.asked.append(request)
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        return HumanAnswer.declined()


async def test_a_request_codex_withdraws_stops_waiting_for_the_human_and_is_not_answered(
    fake_codex: FakeCodexFactory, workspace: tuple[Path, Path], clean_env: dict[str, str]
) -> None:
    approval = {
        "id": 90,
        "method": "item/commandExecution/requestApproval",
        "params": {"threadId": "$THREAD", "turnId": "$TURN", "itemId": "c1", "command": "make"},
    }
    resolved = {
        "method": "serverRequest/resolved",
        "params": {"threadId": "$THREAD", "requestId": 90},
    }
    # The turn goes on well after codex withdrew the request.
    steps = [RESPOND_TURN, {"send": approval}, {"sleep": 0.3}, {"send": resolved}, {"sleep": 1.5}]
    codex, log = fake_codex(
        {"turn/start": [[*steps, {"complete": "completed"}]]}, approval_policy="untrusted"
    )
    human = _WaitingHuman()
    session = await _start(codex, workspace, clean_env, human=human)
    try:
        turn = asyncio.create_task(session.run_turn("go", issue=ISSUE))
        await wait_until(lambda: human.cancelled == 1, "the parked wait to be cancelled")
        assert not turn.done(), "withdrawn by codex's notice, not by the end of the turn"
        await asyncio.wait_for(turn, timeout=10)
    finally:
        await session.stop()
    assert [r.command for r in human.asked] == ["make"]
    assert [m for m in read_log(log) if m.get("id") == 90] == [], "no answer to a withdrawn request"


async def test_a_turn_reports_the_commands_the_agent_finished(
    fake_codex: FakeCodexFactory, workspace: tuple[Path, Path], clean_env: dict[str, str]
) -> None:
    from symphony.agents.base import CommandRun

    def command(status: str, **more: Any) -> dict[str, Any]:
        item = {"type": "commandExecution", "id": "c1", "command": "pytest -q", "status": status}
        method = "item/completed" if status != "inProgress" else "item/started"
        return {"send": {"method": method, "params": {"threadId": "$THREAD", "item": item | more}}}

    steps = [
        RESPOND_TURN,
        command("inProgress"),
        command("completed", exitCode=1, durationMs=321),
        {"complete": "completed"},
    ]
    codex, _ = fake_codex({"turn/start": [steps, [RESPOND_TURN, {"complete": "completed"}]]})
    session = await _start(codex, workspace, clean_env)
    try:
        first = await session.run_turn("go", issue=ISSUE)
        second = await session.run_turn("again", issue=ISSUE)
    finally:
        await session.stop()
    assert first.commands == (CommandRun("pytest -q", 1, 321),)
    assert second.commands == ()


async def test_a_burst_of_fragments_reaches_the_listener_as_one_event_soon_after(
    fake_codex: FakeCodexFactory, workspace: tuple[Path, Path], clean_env: dict[str, str]
) -> None:
    burst = [
        {"send": {"method": "item/agentMessage/delta", "params": {"delta": str(n)}}}
        for n in range(20)
    ]
    codex, _ = fake_codex({"turn/start": [[RESPOND_TURN, *burst, {"sleep": 30}]]})
    recorder = Recorder()
    session = await _start(codex, workspace, clean_env, recorder)

    def fragments() -> list[AgentEvent]:
        return [e for e in recorder.events if e.payload.get("method") == "item/agentMessage/delta"]

    turn = asyncio.create_task(session.run_turn("go", issue=ISSUE))
    try:
        # Every fragment is in the transcript as it arrives, the last one reaches the
        # listener by the hold timer even though codex then stays silent.
        await wait_until(lambda: sum(1 for _, line in recorder.lines if "delta" in line) == 20)
        await wait_until(lambda: bool(fragments()))
        assert len(fragments()) < 20
        assert fragments()[-1].payload["params"]["delta"] == "19"
    finally:
        turn.cancel()
        await session.stop()
