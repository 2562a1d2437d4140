"""``sandbox.kind: bwrap`` with the REAL codex and claude binaries, offline (docs/sandbox.md).

Each agent runs one shell command that tries four things: write in the workspace (works), write
outside it (fails), reach a loopback port that is not its model endpoint (fails), read a tracker
secret from its environment (absent). The agents' own sandboxes are switched off in these tests
so only Symphony's can be what stops them; one codex test keeps codex's own sandbox on, nested.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from symphony.agents import AgentError, ToolRegistry
from symphony.agents.acp.session import AcpSession
from symphony.agents.claude_code.session import ClaudeCodeSession
from symphony.agents.codex.session import CodexSession
from symphony.tools import ToolContext, ToolResult, ToolSpec
from symphony.workflow.config import AcpConfig, ClaudeCodeConfig, CodexConfig, SandboxConfig
from tests.agents.conftest import make_issue
from tests.support import fake_anthropic, fake_model
from tests.support.fake_model import FAKE_API_KEY_ENV, FakeModelServer, write_codex_home
from tests.support.processes import marked
from tests.support.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]
CODEX_BIN = Path(
    os.environ.get("SYMPHONY_CODEX_BIN") or REPO / ".tools/codex/node_modules/.bin/codex"
)
CLAUDE_BIN = Path(
    os.environ.get("SYMPHONY_CLAUDE_BIN") or REPO / ".tools/claude/node_modules/.bin/claude"
)
HAS_BWRAP = all(shutil.which(tool) for tool in ("bwrap", "socat"))

pytestmark = pytest.mark.skipif(
    not HAS_BWRAP, reason="bubblewrap and socat are needed (scripts/setup --with-browser)"
)

ISSUE = make_issue(title="Write inside.txt")
SECRET_NAME = "SYMPHONY_TEST_TRACKER_KEY"
SECRET = "lin_api_sandboxSECRET0123456789"
SANDBOX = SandboxConfig(kind="bwrap")


@dataclass
class Box:
    """A workspace under a root, a file outside it (in HOME, visible read-only inside), and a
    loopback port nobody may reach."""

    tmp: Path
    root: Path
    workspace: Path
    outside: Path
    other_port: int

    def probe_command(self) -> str:
        return (
            "printf in > inside.txt; echo workspace=$?; "
            f"printf out > {self.outside} 2>/dev/null; echo outside=$?; "
            f"(exec 3<>/dev/tcp/127.0.0.1/{self.other_port}) 2>/dev/null; echo port=$?; "
            f'echo "secret=${{{SECRET_NAME}:-absent}}"'
        )

    def assert_contained(self, output: str) -> None:
        assert "workspace=0" in output, output
        assert "outside=1" in output, output
        assert "port=1" in output, output
        assert "secret=absent" in output, output
        assert (self.workspace / "inside.txt").read_text() == "in"
        assert not self.outside.exists()


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Box]:
    root = tmp_path / "workspaces"
    workspace = root / "SYM-1"
    workspace.mkdir(parents=True)
    (tmp_path / "home").mkdir()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        outside = tmp_path / "home" / "outside.txt"
        yield Box(tmp_path, root, workspace, outside, listener.getsockname()[1])


def _base_env(box: Box) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(box.tmp / "home"),
        "LANG": "C.UTF-8",
        SECRET_NAME: SECRET,
    }


@pytest.mark.codex
@pytest.mark.skipif(not CODEX_BIN.exists(), reason=f"real codex not found at {CODEX_BIN}")
@pytest.mark.parametrize("codex_sandbox", [False, True], ids=["sandbox-only", "nested"])
async def test_codex_in_bwrap_writes_only_its_workspace_and_reaches_only_its_model(
    box: Box, codex_sandbox: bool
) -> None:
    with FakeModelServer() as model:
        home = write_codex_home(box.tmp / "codex-home", base_url=model.base_url)
        env = _base_env(box) | {"CODEX_HOME": str(home), FAKE_API_KEY_ENV: "fake-key"}
        model.script(
            fake_model.Reply.exec_command(box.probe_command()),
            fake_model.Reply.message("Done."),
        )
        policy = (
            {}
            if codex_sandbox
            else {
                "thread_sandbox": "danger-full-access",
                "turn_sandbox_policy": {"type": "dangerFullAccess"},
            }
        )
        session = await CodexSession.start(
            workspace=box.workspace,
            workspace_root=box.root,
            codex=CodexConfig(
                command=f"{CODEX_BIN} app-server",
                read_timeout_ms=15_000,
                turn_timeout_ms=30_000,
                **policy,
            ),
            tools=ToolRegistry.empty(),
            strip_env=frozenset({SECRET_NAME}),
            on_event=lambda _: None,
            issue=ISSUE,
            env=env,
            sandbox=SANDBOX,
        )
        try:
            outcome = await session.run_turn("Write inside.txt.", issue=ISSUE)
        finally:
            await session.stop()
        assert outcome.last_message == "Done."
        (output,) = model.requests[1].function_call_outputs().values()
    box.assert_contained(output)


@pytest.mark.claude
@pytest.mark.skipif(not CLAUDE_BIN.exists(), reason=f"real claude not found at {CLAUDE_BIN}")
async def test_claude_in_bwrap_writes_only_its_workspace_and_reaches_only_its_api(
    box: Box,
) -> None:
    with fake_anthropic.FakeAnthropicServer() as api:
        env = fake_anthropic.claude_env(api, box.tmp / "claude-config", base=_base_env(box))
        api.script(
            fake_anthropic.Reply.bash(box.probe_command()),
            fake_anthropic.Reply.message("Done."),
        )
        session = await ClaudeCodeSession.start(
            workspace=box.workspace,
            workspace_root=box.root,
            config=ClaudeCodeConfig(
                command=str(CLAUDE_BIN),
                read_timeout_ms=15_000,
                turn_timeout_ms=30_000,
                sandbox=False,
            ),
            tools=ToolRegistry.empty(),
            strip_env=frozenset({SECRET_NAME}),
            on_event=lambda _: None,
            issue=ISSUE,
            env=env,
            sandbox=SANDBOX,
        )
        try:
            outcome = await session.run_turn("Write inside.txt.", issue=ISSUE)
        finally:
            await session.stop()
        assert outcome.last_message == "Done."
        (output,) = api.requests[1].tool_results().values()
    box.assert_contained(output)


@pytest.mark.claude
@pytest.mark.skipif(not CLAUDE_BIN.exists(), reason=f"real claude not found at {CLAUDE_BIN}")
async def test_claude_in_bwrap_with_its_own_sandbox_calls_tools_and_stop_leaves_nothing(
    box: Box,
) -> None:
    """claude's own sandbox nested in Symphony's; the tracker tool is reached through the
    bridge to the session's MCP endpoint; stopping mid-command leaves no process behind, not
    even the one claude's Bash tool put in a session of its own."""
    moved: list[str] = []
    schema = {"type": "object", "properties": {"state": {"type": "string"}}}

    async def execute(name: str, arguments: Any, context: ToolContext) -> ToolResult:
        moved.append(arguments["state"])
        return ToolResult.ok({"state": arguments["state"]})

    tools = ToolRegistry([ToolSpec("board_move_issue", "Move the issue.", schema)], execute)
    marker = f"sandboxed-{os.getpid()}-{id(box)}"
    with fake_anthropic.FakeAnthropicServer() as api:
        env = fake_anthropic.claude_env(api, box.tmp / "claude-config", base=_base_env(box))
        api.script(
            fake_anthropic.Reply.tool("mcp__symphony__board_move_issue", {"state": "Review"}),
            fake_anthropic.Reply.bash(f"exec -a {marker} sleep 300"),
        )
        session = await ClaudeCodeSession.start(
            workspace=box.workspace,
            workspace_root=box.root,
            config=ClaudeCodeConfig(
                command=str(CLAUDE_BIN), read_timeout_ms=15_000, turn_timeout_ms=30_000
            ),
            tools=tools,
            strip_env=frozenset({SECRET_NAME}),
            on_event=lambda _: None,
            issue=ISSUE,
            env=env,
            sandbox=SANDBOX,
        )
        turn = asyncio.create_task(session.run_turn("Move it, then wait.", issue=ISSUE))
        try:
            running = await wait_until(lambda: marked(marker), "the Bash command runs", timeout=15)
            for pid in running:
                assert SECRET.encode() not in Path(f"/proc/{pid}/environ").read_bytes()
        finally:
            await session.stop()
        with pytest.raises(AgentError):
            await turn
    assert moved == ["Review"]
    await wait_until(lambda: not marked(marker), "the sandbox is gone", timeout=5)


CODEX_ACP_BIN = Path(
    os.environ.get("SYMPHONY_CODEX_ACP_BIN")
    or REPO / ".tools/codex-acp/node_modules/.bin/codex-acp"
)


@pytest.mark.acp
@pytest.mark.skipif(not CODEX_ACP_BIN.exists(), reason=f"codex-acp not found at {CODEX_ACP_BIN}")
async def test_an_acp_agent_in_bwrap_is_contained_and_reaches_its_tools(box: Box) -> None:
    """An agent of unknown make: its state and endpoint are named in the sandbox settings."""
    moved: list[str] = []
    schema = {"type": "object", "properties": {"state": {"type": "string"}}}

    async def execute(name: str, arguments: Any, context: ToolContext) -> ToolResult:
        moved.append(arguments["state"])
        return ToolResult.ok({"state": arguments["state"]})

    tools = ToolRegistry([ToolSpec("board_move_issue", "Move the issue.", schema)], execute)
    with FakeModelServer() as model:
        home = write_codex_home(
            box.tmp / "codex-home", base_url=model.base_url, sandbox_mode="danger-full-access"
        )
        env = _base_env(box) | {"CODEX_HOME": str(home), FAKE_API_KEY_ENV: "fake-key"}
        model.script(
            fake_model.Reply(
                items=(
                    fake_model.FunctionCallItem(
                        "board_move_issue", {"state": "Review"}, "call-move", "mcp__symphony"
                    ),
                )
            ),
            fake_model.Reply.exec_command(box.probe_command(), call_id="call-probe"),
            fake_model.Reply.message("Done."),
        )
        port = model.base_url.split(":")[2].split("/")[0]
        session = await AcpSession.start(
            workspace=box.workspace,
            workspace_root=box.root,
            acp=AcpConfig(
                command=str(CODEX_ACP_BIN), read_timeout_ms=20_000, turn_timeout_ms=30_000
            ),
            tools=tools,
            strip_env=frozenset({SECRET_NAME}),
            on_event=lambda _: None,
            issue=ISSUE,
            env=env,
            sandbox=SandboxConfig(
                kind="bwrap", writable=(home,), allowed_hosts=(f"127.0.0.1:{port}",)
            ),
        )
        try:
            outcome = await session.run_turn("Move it, then write inside.txt.", issue=ISSUE)
        finally:
            await session.stop()
        assert outcome.last_message == "Done."
        output = model.requests[2].function_call_outputs()["call-probe"]
    assert moved == ["Review"]
    box.assert_contained(output)


# 127.0.0.2 is loopback, but neither a loopback bridge nor exempt from the proxy (NO_PROXY names
# localhost, 127.0.0.1 and ::1 only): an agent reaches a model there only through the proxy.
PROXIED_HOST = "127.0.0.2"


class _ProxiedModel(FakeModelServer):
    bind_host = PROXIED_HOST

    @property
    def base_url(self) -> str:
        return f"http://{PROXIED_HOST}:{self.port}/v1"


class _ProxiedAnthropic(fake_anthropic.FakeAnthropicServer):
    bind_host = PROXIED_HOST

    @property
    def base_url(self) -> str:
        return f"http://{PROXIED_HOST}:{self.port}"


@pytest.mark.codex
@pytest.mark.skipif(not CODEX_BIN.exists(), reason=f"real codex not found at {CODEX_BIN}")
async def test_codex_reaches_a_model_that_is_not_on_a_bridge_through_the_proxy(
    box: Box,
) -> None:
    with _ProxiedModel() as model:
        home = write_codex_home(box.tmp / "codex-home", base_url=model.base_url)
        env = _base_env(box) | {"CODEX_HOME": str(home), FAKE_API_KEY_ENV: "fake-key"}
        model.script(fake_model.Reply.message("Through the proxy."))
        session = await CodexSession.start(
            workspace=box.workspace,
            workspace_root=box.root,
            codex=CodexConfig(
                command=f"{CODEX_BIN} app-server", read_timeout_ms=15_000, turn_timeout_ms=30_000
            ),
            tools=ToolRegistry.empty(),
            strip_env=frozenset(),
            on_event=lambda _: None,
            issue=ISSUE,
            env=env,
            sandbox=SANDBOX,
        )
        try:
            outcome = await session.run_turn("Say hello.", issue=ISSUE)
        finally:
            await session.stop()
    assert outcome.last_message == "Through the proxy."


@pytest.mark.claude
@pytest.mark.skipif(not CLAUDE_BIN.exists(), reason=f"real claude not found at {CLAUDE_BIN}")
async def test_claude_reaches_an_api_that_is_not_on_a_bridge_through_the_proxy(box: Box) -> None:
    with _ProxiedAnthropic() as api:
        env = fake_anthropic.claude_env(api, box.tmp / "claude-config", base=_base_env(box))
        api.script(fake_anthropic.Reply.message("Through the proxy."))
        session = await ClaudeCodeSession.start(
            workspace=box.workspace,
            workspace_root=box.root,
            config=ClaudeCodeConfig(
                command=str(CLAUDE_BIN), read_timeout_ms=15_000, turn_timeout_ms=30_000
            ),
            tools=ToolRegistry.empty(),
            strip_env=frozenset(),
            on_event=lambda _: None,
            issue=ISSUE,
            env=env,
            sandbox=SANDBOX,
        )
        try:
            outcome = await session.run_turn("Say hello.", issue=ISSUE)
        finally:
            await session.stop()
    assert outcome.last_message == "Through the proxy."
