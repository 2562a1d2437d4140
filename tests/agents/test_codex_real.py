"""The session against the REAL codex binary (pinned 0.169.0), fully offline.

codex talks to tests/support/fake_model.py on 127.0.0.1 through a custom provider configured in
a per-test absolute CODEX_HOME (docs/codex.md, "Testing against the real binary"); HOME is a
clean temp dir.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from symphony.agents import (
    AgentError,
    AgentEvent,
    HumanChannel,
    ToolRegistry,
    continuation_guidance,
    events,
)
from symphony.agents.codex import errors
from symphony.agents.codex import session as session_module
from symphony.agents.codex.session import CodexSession
from symphony.core.tokens import counted_growth
from symphony.process import kill_stale_group, process_identity
from symphony.tools import ToolContext, ToolResult, ToolSpec
from symphony.usage import TokenUsage
from symphony.workflow.config import CodexConfig
from tests.agents.conftest import make_issue
from tests.support.fake_model import (
    FAKE_API_KEY_ENV,
    FakeModelServer,
    RateLimits,
    Reply,
    write_codex_home,
)

REPO = Path(__file__).resolve().parents[2]
CODEX_BIN = Path(
    os.environ.get("SYMPHONY_CODEX_BIN") or REPO / ".tools/codex/node_modules/.bin/codex"
)

pytestmark = [
    pytest.mark.codex,
    pytest.mark.skipif(
        not CODEX_BIN.exists(),
        reason=f"real codex binary not found at {CODEX_BIN} (install 0.169.0 or set "
        "SYMPHONY_CODEX_BIN)",
    ),
]

ISSUE = make_issue(title="Create made.txt")
PROMPT = "Create made.txt in the workspace. (SYM-1 original prompt)"


@dataclass
class Harness:
    model: FakeModelServer
    workspace: Path
    root: Path
    env: dict[str, str]
    events: list[AgentEvent] = field(default_factory=list)

    def config(self, **overrides: Any) -> CodexConfig:
        settings: dict[str, Any] = {
            "command": f"{CODEX_BIN} app-server",
            "read_timeout_ms": 15_000,
            "turn_timeout_ms": 30_000,
        }
        settings.update(overrides)
        return CodexConfig(**settings)

    async def start(
        self,
        *,
        tools: ToolRegistry | None = None,
        strip_env: frozenset[str] = frozenset(),
        human: HumanChannel | None = None,
        **overrides: Any,
    ) -> CodexSession:
        return await CodexSession.start(
            workspace=self.workspace,
            workspace_root=self.root,
            codex=self.config(**overrides),
            tools=tools or ToolRegistry.empty(),
            strip_env=strip_env,
            on_event=self.events.append,
            issue=ISSUE,
            env=self.env,
            human=human,
        )

    def named(self, name: str) -> list[AgentEvent]:
        return [e for e in self.events if e.event == name]


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    home = tmp_path / "home"
    home.mkdir()
    root = tmp_path / "workspaces"
    workspace = root / "SYM-1"
    workspace.mkdir(parents=True)
    with FakeModelServer() as model:
        codex_home = write_codex_home(tmp_path / "codex-home", base_url=model.base_url)
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(home),
            "LANG": "C.UTF-8",
            "CODEX_HOME": str(codex_home),
            FAKE_API_KEY_ENV: "fake-key",
        }
        yield Harness(model=model, workspace=workspace, root=root, env=env)


async def test_shell_command_turn_then_continuation_on_the_same_thread(harness: Harness) -> None:
    harness.model.script(
        Reply.exec_command("printf created > made.txt", rate_limits=RateLimits()),
        Reply.message("Created made.txt."),
        Reply.message("Nothing left to do."),
    )
    session = await harness.start()
    try:
        first = await session.run_turn(PROMPT, issue=ISSUE)
        guidance = continuation_guidance(2, 20, issue_identifier=ISSUE.identifier)
        second = await session.run_turn(guidance, issue=ISSUE)
    finally:
        await session.stop()

    assert (harness.workspace / "made.txt").read_text() == "created"
    assert first.last_message == "Created made.txt."
    assert second.last_message == "Nothing left to do."
    assert first.thread_id == second.thread_id
    assert first.turn_id != second.turn_id
    assert first.session_id == f"{first.thread_id}-{first.turn_id}"
    started = harness.named(events.SESSION_STARTED)
    assert [e.session_id for e in started] == [first.session_id, second.session_id]
    assert {e.pid for e in harness.events} == {session.pid}
    named = [e for e in harness.events if e.payload.get("method") == "thread/name/updated"]
    assert named and named[0].payload["params"]["threadName"] == "SYM-1: Create made.txt"

    requests = harness.model.requests
    assert len(requests) == 3
    (output,) = requests[1].function_call_outputs().values()
    assert "exited with code 0" in output
    # The continuation turn adds guidance only; the prompt is in the thread history once.
    continuation_texts = requests[2].user_texts()
    assert sum(PROMPT in text for text in continuation_texts) == 1
    assert any("Continuation guidance" in text for text in continuation_texts)
    ran = [
        e.message for e in harness.named(events.NOTIFICATION) if (e.message or "").startswith("ran")
    ]
    assert ran == ["ran: printf created > made.txt (exit 0)"]

    # Token totals: 3 model responses x (100 in + 20 out), each counted exactly once even
    # though every update repeats the running total and turn_completed repeats it again.
    reported = TokenUsage()
    counted = TokenUsage()
    for event in harness.events:
        if event.usage is not None:
            delta, reported = counted_growth(reported, event.usage)
            counted = counted + delta
    assert len(harness.named(events.TOKEN_USAGE_UPDATED)) == 3
    assert counted.total_tokens == 360 and counted.input_tokens == 300
    assert counted == reported == second.usage
    assert (first.usage_delta.total_tokens, second.usage_delta.total_tokens) == (240, 120)
    (limits,) = harness.named(events.RATE_LIMITS_UPDATED)
    assert limits.rate_limits is not None
    assert limits.rate_limits["primary"]["usedPercent"] == 12


async def test_dynamic_tool_round_trip(harness: Harness) -> None:
    schema = {
        "type": "object",
        "properties": {"text": {"type": "string"}},
        "required": ["text"],
    }
    calls: list[tuple[Any, ToolContext]] = []

    async def execute(name: str, arguments: Any, context: ToolContext) -> ToolResult:
        calls.append((arguments, context))
        if arguments.get("text") == "boom":
            raise RuntimeError("tracker said no")
        return ToolResult.ok({"echoed": arguments["text"], "issue": context.issue.identifier})

    tools = ToolRegistry([ToolSpec("tracker_echo", "Echo text back.", schema)], execute)
    harness.model.script(
        Reply.tool_call("tracker_echo", {"text": "hi"}, call_id="call-ok"),
        Reply.tool_call("tracker_echo", {"text": "boom"}, call_id="call-bad"),
        Reply.message("done"),
    )
    session = await harness.start(tools=tools)
    try:
        result = await session.run_turn(PROMPT, issue=ISSUE)
    finally:
        await session.stop()

    assert result.status == "completed"
    advertised = harness.model.requests[0].tool("tracker_echo")
    assert advertised is not None and advertised["parameters"] == schema
    assert [args for args, _ in calls] == [{"text": "hi"}, {"text": "boom"}]
    assert calls[0][1].issue == ISSUE
    outputs = harness.model.requests[2].function_call_outputs()
    assert '"echoed": "hi"' in outputs["call-ok"] and '"issue": "SYM-1"' in outputs["call-ok"]
    assert "tracker said no" in outputs["call-bad"]
    assert len(harness.named(events.TOOL_CALL_COMPLETED)) == 1
    assert len(harness.named(events.TOOL_CALL_FAILED)) == 1


async def test_model_http_500_ends_as_a_failed_turn(harness: Harness) -> None:
    harness.model.script(Reply.http_error(500, "upstream exploded"))
    session = await harness.start()
    try:
        with pytest.raises(AgentError) as caught:
            await session.run_turn(PROMPT, issue=ISSUE)
        assert session.alive  # the app-server survives a failed turn
    finally:
        await session.stop()
    assert caught.value.code == errors.TURN_FAILED
    assert caught.value.details["status"] == "failed"
    assert harness.named(events.TURN_FAILED)
    assert not harness.named(events.TURN_COMPLETED)


async def test_approval_request_is_declined_under_untrusted(harness: Harness) -> None:
    harness.model.script(
        Reply.exec_command("touch approved.txt"),
        Reply.message("The command was rejected; stopping."),
    )
    session = await harness.start(approval_policy="untrusted")
    try:
        result = await session.run_turn(PROMPT, issue=ISSUE)
    finally:
        await session.stop()

    assert result.status == "completed"
    (declined,) = harness.named(events.APPROVAL_DECLINED)
    assert declined.payload["method"] == "item/commandExecution/requestApproval"
    assert declined.payload["decision"] == "decline"
    assert "touch approved.txt" in (declined.message or "")
    assert not (harness.workspace / "approved.txt").exists()
    (output,) = harness.model.requests[1].function_call_outputs().values()
    assert "rejected" in output.lower()


def _group_members(pgid: int) -> list[int]:
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            members.append(int(stat.parent.name))
    return members


async def test_tracker_secret_never_reaches_codex_or_its_commands(harness: Harness) -> None:
    secret = "lin_api_0123456789abcdefSECRET"
    harness.env["TRACKER_API_KEY"] = secret
    harness.model.script(Reply.exec_command("env"), Reply.message("done"))
    session = await harness.start(strip_env=frozenset({"TRACKER_API_KEY"}))
    try:
        assert session.pid is not None
        members = _group_members(session.pid)
        assert members  # the app-server (and the shell that launched it)
        for pid in members:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
            assert secret.encode() not in environ and b"TRACKER_API_KEY" not in environ
            assert b"CODEX_HOME=" in environ
        await session.run_turn(PROMPT, issue=ISSUE)
    finally:
        await session.stop()
    (output,) = harness.model.requests[1].function_call_outputs().values()
    assert "CODEX_HOME=" in output  # the model really saw the command's environment
    assert secret not in output and "TRACKER_API_KEY" not in output


async def test_a_new_app_server_resumes_the_thread_of_a_killed_one(harness: Harness) -> None:
    """What a restart after ``kill -9`` does (docs/storage.md): the old app-server's process
    group is killed by its stored id and start time, then a new app-server resumes the stored
    thread, and the model sees the earlier conversation."""
    harness.model.script(
        Reply.message("Noted: the code word is PLUM-42."),
        Reply.message("The code word was PLUM-42."),
    )
    first = await harness.start()
    try:
        await first.run_turn("Remember the code word PLUM-42. (SYM-1 original prompt)", issue=ISSUE)
        thread_id = first.thread_id
        assert thread_id is not None and first.pid is not None
        leader = process_identity(first.pid)
        assert leader is not None
        # The crashed service's agent: the npm wrapper and the native codex under it.
        assert await asyncio.to_thread(kill_stale_group, first.pid, leader) >= 2
    finally:
        await first.stop()

    second = await CodexSession.start(
        workspace=harness.workspace,
        workspace_root=harness.root,
        codex=harness.config(),
        tools=ToolRegistry.empty(),
        strip_env=frozenset(),
        on_event=harness.events.append,
        issue=ISSUE,
        env=harness.env,
        resume_thread_id=thread_id,
    )
    try:
        assert second.resumed and second.thread_id == thread_id
        outcome = await second.run_turn("What was the code word?", issue=ISSUE)
    finally:
        await second.stop()
    assert outcome.thread_id == thread_id
    resumed = harness.model.requests[-1]
    said = "\n".join(resumed.user_texts())
    assert "Remember the code word PLUM-42" in said and "What was the code word?" in said
    assert "Noted: the code word is PLUM-42." in resumed.text()


async def test_a_thread_another_app_server_still_holds_falls_back_to_a_new_thread(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Codex refuses ``thread/resume`` while another app-server holds the thread ("active
    writer"); the session asks again until its deadline, then starts a new thread."""
    monkeypatch.setattr(session_module, "RESUME_RETRY_S", 1.0)
    caplog.set_level(logging.WARNING, logger="symphony.agents.codex")
    harness.model.script(Reply.message("First."), Reply.message("Second."))
    first = await harness.start()
    try:
        await first.run_turn("Say something. (SYM-1 original prompt)", issue=ISSUE)
        assert first.thread_id is not None
        second = await CodexSession.start(
            workspace=harness.workspace,
            workspace_root=harness.root,
            codex=harness.config(),
            tools=ToolRegistry.empty(),
            strip_env=frozenset(),
            on_event=harness.events.append,
            issue=ISSUE,
            env=harness.env,
            resume_thread_id=first.thread_id,
        )
        try:
            assert not second.resumed
            assert second.thread_id is not None and second.thread_id != first.thread_id
            await second.run_turn("Start over.", issue=ISSUE)
        finally:
            await second.stop()
    finally:
        await first.stop()
    fresh = harness.model.requests[-1]
    assert "Say something." not in "\n".join(fresh.user_texts())
    [why] = [r for r in caplog.records if "could not resume" in r.getMessage()]
    assert "already has an active writer" in why.getMessage()
