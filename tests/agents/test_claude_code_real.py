"""The Claude Code session against the REAL ``claude`` binary (pinned 2.1.328), fully offline.

claude talks to tests/support/fake_anthropic.py on 127.0.0.1 (``ANTHROPIC_BASE_URL``), with its
own ``CLAUDE_CONFIG_DIR`` per test and non-essential traffic off (docs/agents/claude-code.md,
"Testing against the real binary"). The sandbox is on (``bwrap`` and ``socat`` are installed by
``scripts/setup --with-browser``), so these tests also prove it is enforced.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from symphony.agents import AgentError, AgentEvent, HumanChannel, ToolRegistry, events
from symphony.agents.claude_code.session import CLAUDE_SANDBOX_UNAVAILABLE, ClaudeCodeSession
from symphony.agents.errors import TURN_FAILED, TURN_TIMEOUT
from symphony.core.tokens import counted_growth
from symphony.human import HumanAnswer, HumanRequest
from symphony.tools import ToolContext, ToolResult, ToolSpec
from symphony.usage import TokenUsage
from symphony.workflow.config import ClaudeCodeConfig
from tests.agents.conftest import make_issue
from tests.support.fake_anthropic import FakeAnthropicServer, Reply, Usage, claude_env

REPO = Path(__file__).resolve().parents[2]
CLAUDE_BIN = Path(
    os.environ.get("SYMPHONY_CLAUDE_BIN") or REPO / ".tools/claude/node_modules/.bin/claude"
)
HAS_SANDBOX_TOOLS = all(shutil.which(tool) for tool in ("bwrap", "socat"))

pytestmark = [
    pytest.mark.claude,
    pytest.mark.skipif(
        not CLAUDE_BIN.exists(),
        reason=f"real claude binary not found at {CLAUDE_BIN} (run scripts/setup to install "
        "@anthropic-ai/claude-code 2.1.328, or set SYMPHONY_CLAUDE_BIN)",
    ),
]

ISSUE = make_issue(title="Write proof.txt")
PROMPT = "Write proof.txt in the workspace. (SYM-1 original prompt)"
SECRET = "lin_api_0123456789abcdefSECRET"


@dataclass
class Harness:
    api: FakeAnthropicServer
    workspace: Path
    root: Path
    env: dict[str, str]
    events: list[AgentEvent] = field(default_factory=list)

    def config(self, **overrides: Any) -> ClaudeCodeConfig:
        settings: dict[str, Any] = {
            "command": str(CLAUDE_BIN),
            "read_timeout_ms": 15_000,
            "turn_timeout_ms": 30_000,
            "sandbox": HAS_SANDBOX_TOOLS,
        }
        settings.update(overrides)
        return ClaudeCodeConfig(**settings)

    async def start(
        self,
        *,
        tools: ToolRegistry | None = None,
        strip_env: frozenset[str] = frozenset(),
        human: HumanChannel | None = None,
        resume_thread_id: str | None = None,
        **overrides: Any,
    ) -> ClaudeCodeSession:
        return await ClaudeCodeSession.start(
            workspace=self.workspace,
            workspace_root=self.root,
            config=self.config(**overrides),
            tools=tools or ToolRegistry.empty(),
            strip_env=strip_env,
            on_event=self.events.append,
            issue=ISSUE,
            env=self.env,
            human=human,
            resume_thread_id=resume_thread_id,
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
    with FakeAnthropicServer() as api:
        env = claude_env(
            api,
            tmp_path / "claude-config",
            base={"PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8"},
        )
        yield Harness(api=api, workspace=workspace, root=root, env=env)


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _processes(pgid: int | None = None, sid: int | None = None) -> list[int]:
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        fields = _stat(int(entry.name))
        if fields is None or fields[0] == "Z":
            continue
        if (pgid is not None and int(fields[2]) == pgid) or (
            sid is not None and int(fields[3]) == sid
        ):
            found.append(int(entry.name))
    return found


async def test_shell_command_then_a_continuation_turn_on_the_same_session(
    harness: Harness,
) -> None:
    harness.api.script(
        Reply.bash("printf made > proof.txt && echo wrote", usage=Usage(100, 10)),
        Reply.message("I wrote proof.txt.", usage=Usage(200, 20, cache_read_input_tokens=50)),
        Reply.message("Nothing left to do.", usage=Usage(300, 30)),
    )
    session = await harness.start()
    try:
        first = await session.run_turn(PROMPT, issue=ISSUE)
        second = await session.run_turn("Continuation guidance: carry on.", issue=ISSUE)
    finally:
        await session.stop()

    assert (harness.workspace / "proof.txt").read_text() == "made"
    assert first.last_message == "I wrote proof.txt."
    assert second.last_message == "Nothing left to do."
    assert first.thread_id == second.thread_id and first.thread_id
    assert first.session_id == f"{first.thread_id}-1" != second.session_id
    assert [c.command for c in first.commands] == ["printf made > proof.txt && echo wrote"]
    assert first.commands[0].exit_code == 0 and second.commands == ()
    started = harness.named(events.SESSION_STARTED)
    assert [e.session_id for e in started] == [first.session_id, second.session_id]

    requests = harness.api.requests
    assert len(requests) == 3
    assert {r.session_id for r in requests} == {first.thread_id}
    (output,) = requests[1].tool_results().values()
    assert "wrote" in output
    # The continuation carries the history once, and the new message.
    texts = requests[2].user_texts()
    assert sum(PROMPT in text for text in texts) == 1
    assert "Continuation guidance: carry on." in texts[-1]

    # Tokens: result.usage is per turn; totals are their sum, each counted once even though
    # token_usage_updated and turn_completed both carry them.
    reported = counted = TokenUsage()
    for event in harness.events:
        if event.usage is not None:
            delta, reported = counted_growth(reported, event.usage)
            counted = counted + delta
    assert counted == reported == second.usage
    assert counted.input_tokens == 100 + 200 + 50 + 300
    assert counted.output_tokens == 10 + 20 + 30
    assert counted.cached_input_tokens == 50
    assert first.usage_delta.output_tokens == 30 and second.usage_delta.output_tokens == 30
    # total_tokens is cumulative per process: each turn gets only its own part.
    assert first.cost_usd is not None and second.cost_usd is not None
    assert 0 < second.cost_usd < first.cost_usd


async def test_a_tracker_tool_call_through_mcp_moves_the_issue(harness: Harness) -> None:
    board = {"SYM-1": "In Progress"}
    contexts: list[ToolContext] = []
    schema = {
        "type": "object",
        "properties": {"state": {"type": "string"}},
        "required": ["state"],
    }

    async def execute(name: str, arguments: Any, context: ToolContext) -> ToolResult:
        contexts.append(context)
        if arguments["state"] not in ("Human Review", "Done"):
            return ToolResult.fail(f"unknown state {arguments['state']}")
        board[context.issue.identifier] = arguments["state"]
        return ToolResult.ok({"identifier": context.issue.identifier, "state": arguments["state"]})

    tools = ToolRegistry([ToolSpec("board_move_issue", "Move the issue.", schema)], execute)
    harness.api.script(
        Reply.tool("mcp__symphony__board_move_issue", {"state": "Nowhere"}),
        Reply.tool("mcp__symphony__board_move_issue", {"state": "Human Review"}),
        Reply.message("Handed off."),
    )
    session = await harness.start(tools=tools)
    try:
        outcome = await session.run_turn(PROMPT, issue=ISSUE)
    finally:
        await session.stop()

    assert outcome.last_message == "Handed off."
    assert board == {"SYM-1": "Human Review"}
    assert [c.issue for c in contexts] == [ISSUE, ISSUE]
    requests = harness.api.requests
    (bad,) = requests[1].tool_results().values()
    (good,) = requests[2].tool_results().values()
    assert "unknown state Nowhere" in bad
    assert '"state": "Human Review"' in good or '"state":"Human Review"' in good
    assert len(harness.named(events.TOOL_CALL_FAILED)) == 1
    assert len(harness.named(events.TOOL_CALL_COMPLETED)) == 1
    assert len(harness.named(events.TOOL_CALL_STARTED)) == 2


async def test_api_errors_fail_their_turns_and_the_session_goes_on(harness: Harness) -> None:
    harness.api.script(
        Reply.http_error(500, "upstream exploded"),
        Reply.http_error(429, "slow down", headers={"retry-after": "0"}),
        Reply.message("Recovered."),
    )
    session = await harness.start()
    try:
        with pytest.raises(AgentError) as failed:
            await session.run_turn(PROMPT, issue=ISSUE)
        assert session.alive
        with pytest.raises(AgentError) as limited:
            await session.run_turn("Try again.", issue=ISSUE)
        again = await session.run_turn("Once more.", issue=ISSUE)
    finally:
        await session.stop()
    # claude ends an API error with subtype "success": is_error decides.
    assert failed.value.code == TURN_FAILED
    assert failed.value.details["subtype"] == "success"
    assert failed.value.details["api_error_status"] == 500
    assert "upstream exploded" in failed.value.message
    assert limited.value.details["api_error_status"] == 429
    assert len(harness.named(events.TURN_FAILED)) == 2
    assert len(harness.named(events.TURN_COMPLETED)) == 1
    assert again.last_message == "Recovered."
    (rate,) = harness.named(events.RATE_LIMITS_UPDATED)
    assert rate.rate_limits is not None
    assert rate.rate_limits["limited"] is True and rate.rate_limits["error_status"] == 429
    assert rate.rate_limits["primary"] == {"remaining": 0}  # the dashboards' bucket shape


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


def _all_pids() -> list[int]:
    out = []
    for entry in Path("/proc").glob("[0-9]*"):
        fields = _stat(int(entry.name))
        if fields is not None and fields[0] != "Z":
            out.append(int(entry.name))
    return out


def _marked(marker: str) -> list[int]:
    """Processes exec'd with ``marker`` as their argv[0] (not the shells that mention it)."""
    return [pid for pid in _all_pids() if _cmdline(pid).startswith(marker)]


async def _until_running(marker: str) -> list[int]:
    """The processes of the Bash command carrying ``marker``, once claude started it."""
    for _ in range(400):  # bounded: 10 s
        found = _marked(marker)
        if found:
            return found
        await asyncio.sleep(0.025)
    raise AssertionError(f"no process with {marker} started")


async def test_secret_absent_and_stop_kills_the_group_and_the_setsid_command(
    harness: Harness,
) -> None:
    """While a Bash command runs: no process of claude's group or of the command's own session
    (the Bash tool ``setsid``s it) holds the tracker key; ``stop`` leaves none of them alive."""
    harness.env["TRACKER_API_KEY"] = SECRET
    marker = f"midturn-{os.getpid()}-{id(harness)}"
    harness.api.script(
        Reply.tool("Bash", {"command": f"env > env.txt; exec -a {marker} sleep 300"})
    )
    session = await harness.start(strip_env=frozenset({"TRACKER_API_KEY"}))
    pid = session.pid
    assert pid is not None
    turn = asyncio.create_task(session.run_turn(PROMPT, issue=ISSUE))
    try:
        running = await _until_running(marker)
        sessions = {int((_stat(p) or ["", "", "", "0"])[3]) for p in running}
        assert pid not in sessions  # out of reach of claude's group
        members = _processes(pgid=pid) + [p for s in sessions for p in _processes(sid=s)]
        assert pid in members and set(running) <= set(members)
        for member in members:
            environ = Path(f"/proc/{member}/environ").read_bytes()
            assert SECRET.encode() not in environ and b"TRACKER_API_KEY" not in environ, (
                member,
                _cmdline(member),
            )
        written = (harness.workspace / "env.txt").read_text()
        assert "ANTHROPIC_BASE_URL=" in written and "TRACKER_API_KEY" not in written
    finally:
        await session.stop()
    with pytest.raises(AgentError):
        await turn
    assert not _processes(pgid=pid)
    assert not any(_processes(sid=s) for s in sessions)
    assert not _marked(marker)


async def test_a_profile_that_exports_the_secret_does_not_give_it_to_commands(
    harness: Harness,
) -> None:
    """claude's Bash tool runs a login shell; ``CLAUDE_ENV_FILE`` unsets the stripped names
    after the profile, as the launch does for claude itself."""
    harness.env["TRACKER_API_KEY"] = SECRET
    home = Path(harness.env["HOME"])
    for profile in (".bashrc", ".bash_profile", ".profile"):
        (home / profile).write_text(f"export TRACKER_API_KEY={SECRET}-from-profile\n")
    harness.api.script(Reply.bash("env; echo end"), Reply.message("done"))
    session = await harness.start(strip_env=frozenset({"TRACKER_API_KEY"}))
    try:
        assert session.pid is not None
        assert SECRET.encode() not in Path(f"/proc/{session.pid}/environ").read_bytes()
        await session.run_turn(PROMPT, issue=ISSUE)
    finally:
        await session.stop()
    (output,) = harness.api.requests[1].tool_results().values()
    assert output.rstrip().endswith("end") and "ANTHROPIC_BASE_URL=" in output
    assert SECRET not in output and "TRACKER_API_KEY" not in output


@pytest.mark.skipif(not HAS_SANDBOX_TOOLS, reason="bwrap and socat are not installed")
async def test_the_sandbox_keeps_writes_in_the_workspace_and_the_network_off(
    harness: Harness, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.txt"
    harness.api.script(
        Reply.bash(
            f"printf x > {outside}; printf y > inside.txt; "
            'curl -sS -m 3 -o /dev/null -X POST "$ANTHROPIC_BASE_URL/v1/messages"; echo curl=$?'
        ),
        Reply.tool("Bash", {"command": f"printf x > {outside}", "dangerouslyDisableSandbox": True}),
        Reply.message("done"),
    )
    session = await harness.start()
    try:
        await session.run_turn(PROMPT, issue=ISSUE)
    finally:
        await session.stop()
    assert (harness.workspace / "inside.txt").read_text() == "y"
    assert not outside.exists()
    (output,) = harness.api.requests[1].tool_results().values()
    assert "Read-only file system" in output
    assert "curl=0" not in output  # the fake API on 127.0.0.1 is out of the sandbox's reach
    assert len(harness.api.requests) == 3  # only claude itself reached the API


async def test_a_missing_sandbox_tool_refuses_to_start(harness: Harness, tmp_path: Path) -> None:
    bare = tmp_path / "bin"
    bare.mkdir()
    for tool in ("bash", "env"):
        found = shutil.which(tool)
        assert found is not None
        (bare / tool).symlink_to(found)
    harness.env["PATH"] = str(bare)
    with pytest.raises(AgentError) as caught:
        await harness.start(sandbox=True)
    assert caught.value.code == CLAUDE_SANDBOX_UNAVAILABLE
    assert "bwrap and socat" in caught.value.message
    assert harness.api.requests == []


async def test_file_tools_outside_the_workspace_are_denied(
    harness: Harness, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.txt"
    harness.api.script(
        Reply.tool("Write", {"file_path": str(outside), "content": "x"}),
        Reply.tool("Write", {"file_path": str(harness.workspace / "in.txt"), "content": "y"}),
        Reply.message("done"),
    )
    session = await harness.start()
    try:
        await session.run_turn(PROMPT, issue=ISSUE)
    finally:
        await session.stop()
    assert not outside.exists()
    assert (harness.workspace / "in.txt").read_text() == "y"
    (denied,) = harness.api.requests[1].tool_results().values()
    assert "only inside the workspace" in denied
    assert harness.named(events.APPROVAL_DECLINED)


class Operator:
    def __init__(self, answer: HumanAnswer) -> None:
        self.answer = answer
        self.asked: list[HumanRequest] = []

    async def ask(self, request: HumanRequest) -> HumanAnswer:
        self.asked.append(request)
        return self.answer


async def test_other_tools_go_to_the_human_channel(harness: Harness) -> None:
    harness.api.script(
        Reply.tool("WebFetch", {"url": "https://example.com", "prompt": "read"}),
        Reply.message("done"),
    )
    operator = Operator(HumanAnswer(decision="deny"))
    session = await harness.start(human=operator)
    try:
        await session.run_turn(PROMPT, issue=ISSUE)
    finally:
        await session.stop()
    (request,) = operator.asked
    assert request.kind == "command_approval" and "WebFetch" in request.summary
    (denied,) = harness.api.requests[1].tool_results().values()
    assert "operator denied WebFetch" in denied
    assert harness.named(events.HUMAN_REQUEST) and harness.named(events.HUMAN_REQUEST_ANSWERED)


async def test_resume_continues_the_session_in_a_new_process(harness: Harness) -> None:
    harness.api.script(Reply.message("first"), Reply.message("second"))
    session = await harness.start()
    try:
        first = await session.run_turn(PROMPT, issue=ISSUE)
    finally:
        await session.stop()
    again = await harness.start(resume_thread_id=first.thread_id)
    try:
        assert again.resumed
        second = await again.run_turn("Continue.", issue=ISSUE)
    finally:
        await again.stop()
    assert second.thread_id == first.thread_id
    assert PROMPT in " ".join(harness.api.requests[1].user_texts())


async def test_resume_of_an_unknown_session_starts_a_new_one(harness: Harness) -> None:
    harness.api.script(Reply.message("fresh"))
    session = await harness.start(resume_thread_id="9b1f0d8e-0000-4000-8000-000000000000")
    try:
        assert not session.resumed
        outcome = await session.run_turn(PROMPT, issue=ISSUE)
    finally:
        await session.stop()
    assert outcome.last_message == "fresh"
    assert outcome.thread_id != "9b1f0d8e-0000-4000-8000-000000000000"


async def test_a_turn_over_turn_timeout_ms_fails_and_the_next_turn_gets_its_own_result(
    harness: Harness,
) -> None:
    harness.api.script(Reply.message("too late", delay_s=5), Reply.message("on time"))
    session = await harness.start(turn_timeout_ms=1000)
    try:
        with pytest.raises(AgentError) as caught:
            await session.run_turn(PROMPT, issue=ISSUE)
        assert caught.value.code == TURN_TIMEOUT
        # The timed-out turn was interrupted; its result must not end the next turn.
        second = await session.run_turn("Try again.", issue=ISSUE)
    finally:
        await session.stop()
    assert second.last_message == "on time"


async def test_steering_goes_into_the_next_turn(harness: Harness) -> None:
    harness.api.script(Reply.message("ok"))
    session = await harness.start()
    try:
        assert await session.steer("Use the staging database.") == "next_turn"
        await session.run_turn(PROMPT, issue=ISSUE)
    finally:
        await session.stop()
    (steered,) = harness.named(events.STEERED)
    assert steered.payload == {"delivery": "next_turn", "text": "Use the staging database."}
    last = harness.api.requests[0].user_texts()[-1]
    assert last.startswith("Operator guidance:\nUse the staging database.") and PROMPT in last


@pytest.mark.skipif(not HAS_SANDBOX_TOOLS, reason="bwrap and socat are not installed")
async def test_the_agent_can_commit_inside_the_sandbox(harness: Harness) -> None:
    """The sandbox masks missing dotfiles with /dev/null; Symphony's ``.git/info/exclude``
    patterns keep ``git add -A`` from failing on them."""
    git = "git -c user.name=agent -c user.email=agent@example.com"
    workspace = harness.workspace
    init = await asyncio.create_subprocess_shell(
        f"git init -q && {git} commit -q --allow-empty -m base", cwd=workspace
    )
    assert await asyncio.wait_for(init.wait(), timeout=10) == 0
    harness.api.script(
        Reply.bash(f"printf hi > a.txt && git add -A && {git} commit -qm work && echo committed"),
        Reply.message("done"),
    )
    session = await harness.start()
    try:
        await session.run_turn(PROMPT, issue=ISSUE)
    finally:
        await session.stop()
    (output,) = harness.api.requests[1].tool_results().values()
    assert "committed" in output, output
    log = await asyncio.create_subprocess_exec(
        "git", "log", "--name-only", "--format=%s", cwd=workspace, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(log.communicate(), timeout=10)
    assert out.decode().split() == ["work", "a.txt", "base"]


PROXIED_CURL = (
    # Through the sandbox's proxy (loopback is in its NO_PROXY list), which applies
    # sandbox.network.allowedDomains.
    'curl --noproxy "" -sS -m 5 -o /dev/null -w "status=%{http_code}" '
    '-X POST "$ANTHROPIC_BASE_URL/v1/messages"; echo " curl=$?"'
)


@pytest.mark.skipif(not HAS_SANDBOX_TOOLS, reason="bwrap and socat are not installed")
@pytest.mark.parametrize("allowed", [[], ["127.0.0.1"]], ids=["closed", "opened"])
async def test_sandbox_allowed_domains_open_the_network_to_those_hosts(
    harness: Harness, allowed: list[str]
) -> None:
    harness.api.script(
        Reply.bash(PROXIED_CURL),
        *([Reply.message("the command's own request")] if allowed else []),
        Reply.message("done"),
    )
    session = await harness.start(sandbox_allowed_domains=allowed)
    try:
        await session.run_turn(PROMPT, issue=ISSUE)
    finally:
        await session.stop()
    requests = harness.api.requests
    (output,) = requests[-1].tool_results().values()
    if allowed:
        assert "status=200" in output and len(requests) == 3
    else:
        assert "status=200" not in output and len(requests) == 2
