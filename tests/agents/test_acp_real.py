"""The ACP backend against a REAL ACP agent, fully offline: codex-acp (pinned 0.16.0).

codex-acp is the Zed ACP adapter built on codex's own engine; it reads the same CODEX_HOME
config as codex, so it talks to tests/support/fake_model.py on 127.0.0.1 through the custom
provider of ``write_codex_home``. HOME is a clean temp dir. With a system ``bwrap`` on PATH,
codex's sandbox runs ``codex-linux-sandbox`` by name: the native codex-acp binary is that helper
too (it looks at ``argv[0]``), so the command puts a link to it first on PATH
(docs/agents/acp.md, "Tested agent").
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from symphony.agents import AgentError, AgentEvent, ToolRegistry, continuation_guidance, events
from symphony.agents.acp.session import AcpSession
from symphony.agents.errors import TURN_CANCELLED, TURN_FAILED
from symphony.workflow.config import AcpConfig
from tests.agents.conftest import make_issue
from tests.support.fake_model import (
    FAKE_API_KEY_ENV,
    FakeModelServer,
    FunctionCallItem,
    Reply,
    write_codex_home,
)
from tests.support.memory_tracker import MemoryAdapter, MemoryBoard
from tests.support.processes import alive
from tests.support.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]
CODEX_ACP_BIN = Path(
    os.environ.get("SYMPHONY_CODEX_ACP_BIN")
    or REPO / ".tools/codex-acp/node_modules/.bin/codex-acp"
)
NATIVE = sorted(
    (REPO / ".tools/codex-acp/node_modules/@zed-industries").glob("codex-acp-linux-*/bin/codex-acp")
)

pytestmark = [
    pytest.mark.acp,
    pytest.mark.skipif(
        not CODEX_ACP_BIN.exists(),
        reason=f"codex-acp not found at {CODEX_ACP_BIN} (scripts/setup installs "
        "@zed-industries/codex-acp 0.16.0; or set SYMPHONY_CODEX_ACP_BIN)",
    ),
]

PROMPT = "Create made.txt in the workspace. (SYM-1 original prompt)"


@dataclass
class Harness:
    model: FakeModelServer
    workspace: Path
    root: Path
    env: dict[str, str]
    command: str
    board: MemoryBoard = field(default_factory=MemoryBoard)
    events: list[AgentEvent] = field(default_factory=list)

    async def start(
        self,
        *,
        tools: ToolRegistry | None = None,
        strip_env: frozenset[str] = frozenset(),
        resume_thread_id: str | None = None,
        **settings: Any,
    ) -> AcpSession:
        config = AcpConfig(
            command=self.command, read_timeout_ms=20_000, turn_timeout_ms=30_000, **settings
        )
        return await AcpSession.start(
            workspace=self.workspace,
            workspace_root=self.root,
            acp=config,
            resume_thread_id=resume_thread_id,
            tools=tools or ToolRegistry.empty(),
            strip_env=strip_env,
            on_event=self.events.append,
            issue=self.issue,
            env=self.env,
        )

    @property
    def issue(self) -> Any:
        return self.board.issues["issue-1"]

    def named(self, name: str) -> list[AgentEvent]:
        return [e for e in self.events if e.event == name]


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    home = tmp_path / "home"
    home.mkdir()
    root = tmp_path / "workspaces"
    workspace = root / "SYM-1"
    workspace.mkdir(parents=True)
    helper = tmp_path / "helper"
    helper.mkdir()
    prefix = ""
    if NATIVE:
        (helper / "codex-linux-sandbox").symlink_to(NATIVE[0].resolve())
        prefix = f"PATH={shlex.quote(str(helper))}:$PATH "
    with FakeModelServer() as model:
        # `untrusted`: codex-acp asks (session/request_permission) before every shell command.
        codex_home = write_codex_home(
            tmp_path / "codex-home", base_url=model.base_url, approval_policy="untrusted"
        )
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(home),
            "LANG": "C.UTF-8",
            "CODEX_HOME": str(codex_home),
            FAKE_API_KEY_ENV: "fake-key",
        }
        harness = Harness(
            model=model,
            workspace=workspace.resolve(),
            root=root,
            env=env,
            command=f"{prefix}exec {shlex.quote(str(CODEX_ACP_BIN))}",
        )
        harness.board.put(make_issue(title="Create made.txt", state="In Progress"))
        yield harness


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


async def test_shell_command_then_continuation_on_the_same_session(harness: Harness) -> None:
    harness.model.script(
        Reply.exec_command("printf created > made.txt"),
        Reply.message("Created made.txt."),
        Reply.message("Nothing left to do."),
    )
    session = await harness.start()
    try:
        first = await session.run_turn(PROMPT, issue=harness.issue)
        guidance = continuation_guidance(2, 20, issue_identifier="SYM-1")
        second = await session.run_turn(guidance, issue=harness.issue)
    finally:
        await session.stop()

    assert (harness.workspace / "made.txt").read_text() == "created"
    assert first.last_message == "Created made.txt."
    # codex-acp streams its model warning and the reply as chunks of one message.
    assert (second.last_message or "").endswith("Nothing left to do.")
    assert first.thread_id == second.thread_id == session.thread_id
    assert [(c.command, c.exit_code) for c in first.commands] == [("printf created > made.txt", 0)]
    started = harness.named(events.SESSION_STARTED)
    assert [e.session_id for e in started] == [first.session_id, second.session_id]
    assert len(harness.named(events.TURN_COMPLETED)) == 2

    requests = harness.model.requests
    assert len(requests) == 3
    (output,) = requests[1].function_call_outputs().values()
    assert "exited with code 0" in output
    continuation = requests[2].user_texts()
    assert sum(PROMPT in text for text in continuation) == 1
    assert any("Continuation guidance" in text for text in continuation)
    # codex-acp 0.16 reports the context window only, not token totals: nothing is counted.
    assert not harness.named(events.TOKEN_USAGE_UPDATED)
    assert first.usage is None and second.usage_delta.total_tokens == 0


async def test_a_tracker_tool_over_mcp_moves_the_issue(harness: Harness) -> None:
    adapter = MemoryAdapter(harness.board)
    tools = ToolRegistry(adapter.agent_tool_specs(), adapter.execute_agent_tool)
    harness.model.script(
        Reply(
            items=(
                FunctionCallItem(
                    "memory_move", {"state": "Human Review"}, "call-move", "mcp__symphony"
                ),
            )
        ),
        Reply.message("Moved to Human Review."),
    )
    session = await harness.start(tools=tools)
    try:
        outcome = await session.run_turn(PROMPT, issue=harness.issue)
    finally:
        await session.stop()
    assert outcome.last_message == "Moved to Human Review."
    assert harness.board.issues["issue-1"].state == "Human Review"
    advertised = harness.model.requests[0].body["tools"]
    assert any(t.get("name") == "mcp__symphony" for t in advertised)
    output = harness.model.requests[1].function_call_outputs()["call-move"]
    assert "Human Review" in output
    (done,) = harness.named(events.TOOL_CALL_COMPLETED)
    assert done.payload["tool"] == "memory_move"
    (allowed,) = harness.named(events.APPROVAL_AUTO_APPROVED)
    assert "Approve MCP tool call" in (allowed.message or "")


async def test_a_model_error_fails_the_turn(harness: Harness) -> None:
    harness.model.script(Reply.http_error(500, "upstream exploded"), Reply.message("Recovered."))
    session = await harness.start()
    try:
        with pytest.raises(AgentError) as caught:
            await session.run_turn(PROMPT, issue=harness.issue)
        assert session.alive
        again = await session.run_turn(PROMPT, issue=harness.issue)
    finally:
        await session.stop()
    assert caught.value.code == TURN_FAILED
    assert harness.named(events.TURN_FAILED)
    assert (again.last_message or "").endswith("Recovered.")


async def test_the_tracker_secret_never_reaches_the_agent_and_stop_kills_its_group(
    harness: Harness,
) -> None:
    secret = "lin_api_0123456789abcdefSECRET"
    harness.env["TRACKER_API_KEY"] = secret
    harness.model.script(Reply.exec_command("env"), Reply.message("done"))
    session = await harness.start(strip_env=frozenset({"TRACKER_API_KEY"}))
    try:
        assert session.pid is not None
        await session.run_turn(PROMPT, issue=harness.issue)
        members = _group_members(session.pid)
        assert len(members) >= 2  # the node wrapper and the native agent
        for pid in members:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
            assert secret.encode() not in environ and b"TRACKER_API_KEY" not in environ
            assert b"CODEX_HOME=" in environ
    finally:
        await session.stop()
    for pid in members:
        await wait_until(lambda pid=pid: not alive(pid), f"agent process {pid} to exit", timeout=5)
    # A killed member whose parent died first stays a zombie until init reaps it: dead.
    assert [pid for pid in _group_members(session.pid) if alive(pid)] == []
    (output,) = harness.model.requests[1].function_call_outputs().values()
    assert "CODEX_HOME=" in output  # the model saw the command's environment
    assert secret not in output and "TRACKER_API_KEY" not in output


async def test_command_permissions_follow_the_acp_policy(harness: Harness) -> None:
    harness.model.script(
        Reply.exec_command("touch allowed.txt"),
        Reply.message("Done."),
        Reply.exec_command("touch refused.txt"),
    )
    allowing = await harness.start()
    try:
        await allowing.run_turn(PROMPT, issue=harness.issue)
    finally:
        await allowing.stop()
    refusing = await harness.start(permissions={"execute": "reject"})
    try:
        # codex-acp's only rejecting option is "abort", which ends the whole turn.
        with pytest.raises(AgentError) as caught:
            await refusing.run_turn(PROMPT, issue=harness.issue)
    finally:
        await refusing.stop()
    assert caught.value.code == TURN_CANCELLED
    assert (harness.workspace / "allowed.txt").exists()
    assert not (harness.workspace / "refused.txt").exists()
    (allowed,) = harness.named(events.APPROVAL_AUTO_APPROVED)
    (declined,) = harness.named(events.APPROVAL_DECLINED)
    assert allowed.payload["toolCall"]["kind"] == declined.payload["toolCall"]["kind"] == "execute"
    assert "touch refused.txt" in (declined.message or "")


async def test_a_new_agent_loads_the_session_of_a_stopped_one(harness: Harness) -> None:
    harness.model.script(
        Reply.message("Noted: the code word is PLUM-42."),
        Reply.message("The code word was PLUM-42."),
    )
    first = await harness.start()
    try:
        await first.run_turn("Remember the code word PLUM-42.", issue=harness.issue)
        thread_id = first.thread_id
    finally:
        await first.stop()
    second = await harness.start(resume_thread_id=thread_id)
    try:
        assert second.resumed and second.thread_id == thread_id
        outcome = await second.run_turn("What was the code word?", issue=harness.issue)
    finally:
        await second.stop()
    assert outcome.thread_id == thread_id
    said = "\n".join(harness.model.requests[-1].user_texts())
    assert "Remember the code word PLUM-42." in said and "What was the code word?" in said
    assert "Noted: the code word is PLUM-42." in harness.model.requests[-1].text()
