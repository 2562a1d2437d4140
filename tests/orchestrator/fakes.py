"""Fake workspaces and agent sessions for worker and runtime tests (real asyncio, no processes)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from symphony.agents.base import AgentBackend, EventSink, HumanChannel, TurnOutcome
from symphony.agents.events import AgentEvent
from symphony.agents.tools import ToolRegistry
from symphony.agents.transcript import Transcript
from symphony.errors import SymphonyError
from symphony.human import SteerDelivery
from symphony.issue import Issue
from symphony.tools import ToolContext
from symphony.usage import TokenUsage
from symphony.workflow.config import HooksConfig
from symphony.workflow.store import Workflow
from symphony.workspace.hooks import HookResult, run_hook


@dataclass(frozen=True)
class FakeWorkspace:
    path: Path
    key: str
    created_now: bool


class FakeWorkspaces:
    """Creates real directories; records every lifecycle call in ``calls``."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.fail_prepare: set[str] = set()
        self.fail_before_run: set[str] = set()
        # identifier -> event the after_run hook waits for (a slow hook).
        self.after_run_gate: dict[str, asyncio.Event] = {}

    async def prepare(
        self,
        issue: Issue,
        *,
        root: Path,
        hooks: HooksConfig,
        attempt: int | None,
        strip_env: frozenset[str] | None = None,
    ) -> FakeWorkspace:
        self.calls.append(("prepare", issue.identifier))
        if issue.identifier in self.fail_prepare:
            raise SymphonyError("after_create hook failed", code="workspace_hook_failed")
        path = root / issue.identifier
        created = not path.exists()
        path.mkdir(parents=True, exist_ok=True)
        return FakeWorkspace(path, issue.identifier, created)

    async def before_run(
        self,
        ws: Any,
        issue: Issue,
        *,
        hooks: HooksConfig,
        attempt: int | None,
        strip_env: frozenset[str] | None = None,
    ) -> None:
        self.calls.append(("before_run", issue.identifier))
        if issue.identifier in self.fail_before_run:
            raise SymphonyError("before_run exited with status 3", code="workspace_hook_failed")

    async def after_run(
        self,
        ws: Any,
        issue: Issue,
        *,
        hooks: HooksConfig,
        attempt: int | None,
        strip_env: frozenset[str] | None = None,
    ) -> None:
        self.calls.append(("after_run_start", issue.identifier))
        gate = self.after_run_gate.get(issue.identifier)
        if gate is not None:
            await asyncio.wait_for(gate.wait(), timeout=10)
        self.calls.append(("after_run", issue.identifier))

    async def verify(
        self,
        ws: Any,
        issue: Issue,
        *,
        hooks: HooksConfig,
        attempt: int | None,
        strip_env: frozenset[str] | None = None,
    ) -> HookResult | None:
        """The real hook runner, in the fake workspace's directory."""
        self.calls.append(("verify", issue.identifier))
        if hooks.verify is None:
            return None
        return await run_hook(
            "verify",
            hooks.verify,
            cwd=ws.path,
            timeout_ms=hooks.timeout_ms,
            env_extra={"SYMPHONY_HOOK": "verify"},
            strip=strip_env or (),
        )

    async def remove(
        self,
        identifier: str,
        *,
        root: Path,
        hooks: HooksConfig,
        issue: Issue | None = None,
        strip_env: frozenset[str] | None = None,
    ) -> bool:
        return await self.remove_path(root / identifier, root=root, hooks=hooks)

    async def adopt(
        self,
        from_identifier: str,
        to_identifier: str,
        *,
        root: Path,
        hooks: HooksConfig,
        strip_env: frozenset[str] | None = None,
    ) -> Path:
        self.calls.append(("adopt", f"{from_identifier}>{to_identifier}"))
        target = root / to_identifier
        (root / from_identifier).rename(target)
        return target

    async def remove_path(
        self,
        path: Path,
        *,
        root: Path,
        hooks: HooksConfig,
        issue: Issue | None = None,
        strip_env: frozenset[str] | None = None,
        identifier: str | None = None,
    ) -> bool:
        self.calls.append(("remove", path.name))
        if not path.exists():
            return False
        shutil.rmtree(path)
        return True

    def names(self, kind: str) -> list[str]:
        return [name for k, name in self.calls if k == kind]


TurnScript = Callable[["FakeSession", str, int], Awaitable[None]]


async def complete_turn(session: FakeSession, prompt: str, turn: int) -> None:
    session.emit(
        "turn_completed",
        usage=TokenUsage(input_tokens=10 * turn, output_tokens=turn, total_tokens=11 * turn),
    )


class FakeSession:
    """An ``AgentSession``: each turn emits ``session_started``, then runs the issue's script."""

    def __init__(
        self,
        agents: FakeAgents,
        issue: Issue,
        on_event: EventSink,
        human: HumanChannel | None = None,
    ) -> None:
        self.agents = agents
        self.issue = issue
        self.on_event = on_event
        self.human = human
        self.steers: list[str] = []
        self.thread_id = f"thread-{issue.identifier}-{agents.started}"
        self.prompts: list[str] = []
        self.stopped = False
        # The thread the worker asked to continue (None: a new one).
        self.resume_thread_id: str | None = None
        # The tools this session was started with (best-of candidates each have their own).
        self.tools: ToolRegistry | None = None

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        """Call one of the session's tools the way the agent would, for its current issue."""
        assert self.tools is not None
        return await self.tools.execute(name, arguments, ToolContext(issue=self.issue))

    async def hand_off(self, summary: str) -> None:
        """The candidate's ``symphony_hand_off`` (docs/best-of.md)."""
        await self.call_tool("symphony_hand_off", {"summary": summary})

    def emit(self, event: str, **fields: Any) -> None:
        turn = len(self.prompts)
        self.on_event(
            AgentEvent(
                event=event,
                timestamp=datetime.now(UTC),
                pid=4242,
                thread_id=self.thread_id,
                turn_id=f"turn-{turn}",
                session_id=f"{self.thread_id}-turn-{turn}",
                **fields,
            )
        )

    async def run_turn(self, prompt: str, *, issue: Issue) -> TurnOutcome:
        self.prompts.append(prompt)
        self.issue = issue
        self.emit("session_started")
        turn = len(self.prompts)
        script = self.agents.scripts.get(issue.identifier, self.agents.default_script)
        await script(self, prompt, turn)
        return TurnOutcome(
            session_id=f"{self.thread_id}-turn-{turn}",
            thread_id=self.thread_id,
            turn_id=f"turn-{turn}",
            turn_number=turn,
            status="completed",
            usage=None,
            usage_delta=TokenUsage(),
            last_message=None,
            duration_ms=0,
        )

    async def steer(self, message: str) -> SteerDelivery:
        self.steers.append(message)
        self.emit("steered", message=message)
        return "running_turn"

    async def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            self.agents.live.discard(self)
            self.agents.log.append(("stop", self.issue.identifier))


class FakeAgents(AgentBackend):
    """An agent backend; per-identifier turn scripts; tracks live sessions to catch overlaps."""

    kind = "fake"

    def __init__(self) -> None:
        self.sessions: list[FakeSession] = []
        self.live: set[FakeSession] = set()
        self.scripts: dict[str, TurnScript] = {}
        self.default_script: TurnScript = complete_turn
        self.fail_start: set[str] = set()
        self.started = 0
        self.overlaps: list[str] = []
        self.log: list[tuple[str, str]] = []
        # What the last start_session got: the tools bound to the adapter, the env to strip.
        self.tools: ToolRegistry | None = None
        self.strip_env: frozenset[str] | None = None

    def select(self, workflow: Workflow) -> FakeAgents:
        """The runtime's backend selector: this fake for every workflow."""
        return self

    async def start_session(
        self,
        *,
        workspace: Path,
        issue: Issue,
        tools: ToolRegistry,
        strip_env: frozenset[str],
        on_event: EventSink,
        transcript: Transcript | None,
        workflow: Workflow,
        human: HumanChannel | None = None,
        resume_thread_id: str | None = None,
    ) -> FakeSession:
        self.tools, self.strip_env = tools, strip_env
        if issue.identifier in self.fail_start:
            raise SymphonyError("codex exited during startup", code="port_exit")
        if any(s.issue.id == issue.id for s in self.live):
            self.overlaps.append(issue.identifier)
        self.started += 1
        session = FakeSession(self, issue, on_event, human)
        session.resume_thread_id = resume_thread_id
        session.tools = tools
        self.sessions.append(session)
        self.live.add(session)
        self.log.append(("start", issue.identifier))
        return session

    def for_issue(self, identifier: str) -> list[FakeSession]:
        return [s for s in self.sessions if s.issue.identifier == identifier]

    def continuation_prompt(self, turn: int, max_turns: int, issue: Issue) -> str:
        return continuation(turn, max_turns, issue)


def continuation(turn: int, max_turns: int, issue: Issue) -> str:
    return f"continue {issue.identifier} turn {turn}/{max_turns}"
