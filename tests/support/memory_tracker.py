"""An in-memory tracker implementing the adapter contract, for tests of every layer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from symphony.issue import Issue, IssueComment, normalize_state
from symphony.tools import ToolContext, ToolResult, ToolSpec, unsupported_tool
from symphony.trackers import register_profile, unregister_profile
from symphony.trackers.base import (
    TRACKER_ISSUE_NOT_FOUND,
    TrackerConfigError,
    TrackerError,
    UnknownState,
    has_marker,
    with_marker,
)
from symphony.workflow.config import TrackerConfig


@dataclass
class MemoryBoard:
    """Shared mutable board; tests change issues here and adapters read it."""

    issues: dict[str, Issue] = field(default_factory=dict)
    calls: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    fail_next: list[TrackerError] = field(default_factory=list)
    # (issue identifier, body) of every comment Symphony posted (IssueComments).
    comments: list[tuple[str, str]] = field(default_factory=list)
    # The states ``move_issue`` accepts (``IssueWrites``); reads accept any state.
    states: tuple[str, ...] = (
        "Backlog",
        "Todo",
        "In Progress",
        "Human Review",
        "Rework",
        "Merging",
        "Done",
        "Cancelled",
    )
    # Comments people wrote, by issue id, oldest first (``ConversationMemoryAdapter``).
    threads: dict[str, list[IssueComment]] = field(default_factory=dict)

    def put(self, issue: Issue) -> Issue:
        self.issues[issue.id] = issue
        return issue

    def move(self, issue_id: str, state: str) -> Issue:
        return self.put(replace(self.issues[issue_id], state=state))

    def _maybe_fail(self) -> None:
        if self.fail_next:
            raise self.fail_next.pop(0)


class MemoryAdapter:
    kind = "memory"

    def __init__(self, board: MemoryBoard, secret_env: frozenset[str] = frozenset()) -> None:
        self.board = board
        self._secret_env = secret_env

    async def fetch_issues_by_states(self, state_names: Sequence[str]) -> list[Issue]:
        if not state_names:
            return []
        self.board.calls.append(("states", tuple(state_names)))
        self.board._maybe_fail()
        wanted = {normalize_state(s) for s in state_names}
        return [i for i in self.board.issues.values() if i.normalized_state in wanted]

    async def fetch_issues_by_ids(self, issue_ids: Sequence[str]) -> list[Issue]:
        if not issue_ids:
            return []
        self.board.calls.append(("ids", tuple(issue_ids)))
        self.board._maybe_fail()
        return [self.board.issues[i] for i in dict.fromkeys(issue_ids) if i in self.board.issues]

    def secret_environment_names(self) -> frozenset[str]:
        return self._secret_env

    async def post_comment(self, issue_id: str, identifier: str, body: str) -> None:
        self.board._maybe_fail()
        self.board.comments.append((identifier, body))

    async def move_issue(self, issue_id: str, identifier: str, state: str) -> str:
        self.board.calls.append(("move", (issue_id, state)))
        self.board._maybe_fail()
        self._require(issue_id, identifier)
        wanted = normalize_state(state)
        name = next((s for s in self.board.states if normalize_state(s) == wanted), None)
        if name is None:
            raise UnknownState(identifier, state, self.board.states)
        self.board.move(issue_id, name)
        return name

    async def upsert_own_comment(self, issue_id: str, identifier: str, key: str, body: str) -> bool:
        """Symphony's own comment lives in ``board.comments`` like its plain ones."""
        self.board._maybe_fail()
        self._require(issue_id, identifier)
        stored = with_marker(key, body)
        comments = self.board.comments
        for index, (on, text) in enumerate(comments):
            if on == identifier and has_marker(key, text):
                comments[index] = (identifier, stored)
                return False
        comments.append((identifier, stored))
        return True

    def _require(self, issue_id: str, identifier: str) -> None:
        if issue_id not in self.board.issues:
            raise TrackerError(
                TRACKER_ISSUE_NOT_FOUND, f"no issue {identifier} on the memory board"
            )

    def secret_values(self) -> frozenset[str]:
        return frozenset()

    def agent_tool_specs(self) -> list[ToolSpec]:
        return [
            ToolSpec(
                name="memory_move",
                description="Move the current issue to another state.",
                input_schema={
                    "type": "object",
                    "properties": {"state": {"type": "string"}},
                    "required": ["state"],
                },
            )
        ]

    def changes_issue_state(self, name: str, arguments: Any) -> bool:
        """For best-of candidates (trackers/candidate_writes.py)."""
        return name == "memory_move"

    async def execute_agent_tool(
        self, name: str, arguments: Any, context: ToolContext
    ) -> ToolResult:
        if name != "memory_move":
            return unsupported_tool(name, [s.name for s in self.agent_tool_specs()])
        if not isinstance(arguments, dict) or not isinstance(arguments.get("state"), str):
            return ToolResult.fail("`state` (string) is required")
        issue = self.board.move(context.issue.id, arguments["state"])
        return ToolResult.ok({"identifier": issue.identifier, "state": issue.state})

    async def aclose(self) -> None:
        return None


class SummaryMemoryAdapter(MemoryAdapter):
    """A ``MemoryAdapter`` that also offers summaries (``IssueSummaries``), which lack what a
    summary may lack, as a big-board adapter's do."""

    async def fetch_issue_summaries_by_states(self, state_names: Sequence[str]) -> list[Issue]:
        if not state_names:
            return []
        self.board.calls.append(("summaries", tuple(state_names)))
        self.board._maybe_fail()
        wanted = {normalize_state(s) for s in state_names}
        return [
            replace(i, description=None, branch_name=None, updated_at=None, summary=True)
            for i in self.board.issues.values()
            if i.normalized_state in wanted
        ]


class ConversationMemoryAdapter(MemoryAdapter):
    """A ``MemoryAdapter`` that also gives the prompt the issue's comments
    (``IssueConversation``), from ``board.threads``."""

    async def fetch_issue_comments(self, issue_id: str, identifier: str) -> list[IssueComment]:
        self.board.calls.append(("comments", (issue_id,)))
        self.board._maybe_fail()
        return list(self.board.threads.get(issue_id, []))


class ConversationReadsMemoryAdapter(SummaryMemoryAdapter, ConversationMemoryAdapter):
    """Summaries, and whole issues read together with their comments (``ConversationReads``)."""

    async def fetch_issues_with_comments(self, issue_ids: Sequence[str]) -> list[Issue]:
        if not issue_ids:
            return []
        self.board.calls.append(("ids+comments", tuple(issue_ids)))
        self.board._maybe_fail()
        return [
            replace(self.board.issues[i], comments=tuple(self.board.threads.get(i, [])))
            for i in dict.fromkeys(issue_ids)
            if i in self.board.issues
        ]


@dataclass
class MemoryProfile:
    board: MemoryBoard = field(default_factory=MemoryBoard)
    kind: str = "memory"
    default_active_states: tuple[str, ...] | None = ("Todo", "In Progress")
    default_terminal_states: tuple[str, ...] | None = ("Done", "Cancelled")

    def validate(
        self,
        tracker: TrackerConfig,
        *,
        workflow_dir: Path,
        environ: Mapping[str, str],
        require_secrets: bool = True,
    ) -> None:
        bad = tracker.provider.get("fail")
        if bad:
            raise TrackerConfigError("tracker.provider.fail", f"rejected: {bad}")

    def create(
        self, tracker: TrackerConfig, *, workflow_dir: Path, environ: Mapping[str, str]
    ) -> MemoryAdapter:
        return MemoryAdapter(self.board)


def install_memory_tracker() -> MemoryProfile:
    profile = MemoryProfile()
    register_profile(profile)
    return profile


def uninstall_memory_tracker() -> None:
    unregister_profile("memory")
