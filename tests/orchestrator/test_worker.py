"""The worker attempt (SPEC §10.7, §16.5): every step and every failure path."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from symphony.agents.base import AgentBackend
from symphony.core.candidates import CandidateRef
from symphony.core.events import AgentUpdate, Event, WorkerInfo
from symphony.core.policy import still_wanted
from symphony.errors import SymphonyError
from symphony.issue import Issue, IssueComment
from symphony.observability.transcript import AgentLogs
from symphony.orchestrator.handoff import HandOffServices
from symphony.orchestrator.proofs import MemoryProofBook, ProofRecord
from symphony.orchestrator.scheduling import scheduler_config
from symphony.orchestrator.worker import Attempt, AttemptResult, WorkerServices, run_attempt
from symphony.tools import ToolContext
from symphony.trackers.base import TrackerError
from symphony.usage import TokenUsage
from symphony.workflow.store import Workflow, WorkflowStore
from tests.support.memory_tracker import (
    ConversationMemoryAdapter,
    ConversationReadsMemoryAdapter,
    MemoryAdapter,
    MemoryBoard,
    SummaryMemoryAdapter,
)

from .conftest import StoreFactory
from .fakes import FakeAgents, FakeSession, FakeWorkspace, FakeWorkspaces


def todo(n: int = 1, **kw: Any) -> Issue:
    return Issue(
        id=f"id-{n}",
        identifier=f"MT-{n}",
        title="Fix the bug",
        state="Todo",
        dispatchable=True,
        **kw,
    )


class Harness:
    def __init__(
        self,
        store: WorkflowStore,
        board: MemoryBoard,
        workspaces: FakeWorkspaces,
        agents: FakeAgents,
    ) -> None:
        self.store = store
        self.board = board
        self.workspaces = workspaces
        self.agents = agents
        self.events: list[Event] = []
        self.agent_logs: AgentLogs | None = None
        self.secret_env: frozenset[str] = frozenset()
        self.selected_for: list[Workflow] = []

    def select(self, workflow: Workflow) -> AgentBackend:
        self.selected_for.append(workflow)
        return self.agents

    async def run(
        self,
        issue: Issue,
        attempt: int | None = None,
        *,
        summaries: bool = False,
        conversation: bool = False,
        handoffs: Any = None,
        resume_thread_id: str | None = None,
        candidate: CandidateRef | None = None,
    ) -> Any:
        config = scheduler_config(self.store.current.config)
        services = WorkerServices(
            workspaces=self.workspaces,
            agents=self.select,
            still_wanted=lambda i: still_wanted(i, config),
            report=self.events.append,
            agent_logs=self.agent_logs,
            # Rework from scratch needs only the proof book here: no run below counts as a
            # hand-off (tests/orchestrator/test_worker_handoff.py covers those).
            hand_offs=(
                HandOffServices(proofs=handoffs, is_hand_off=lambda _: False)
                if handoffs is not None
                else None
            ),
        )
        kind = SummaryMemoryAdapter if summaries else MemoryAdapter
        if conversation:
            kind = ConversationMemoryAdapter
        if conversation and summaries:
            kind = ConversationReadsMemoryAdapter
        adapter = kind(self.board, secret_env=self.secret_env)
        spec = Attempt(
            issue,
            attempt,
            7,
            self.store.current,
            adapter,
            resume_thread_id=resume_thread_id,
            candidate=candidate,
        )
        return await run_attempt(spec, services)


def harness(
    make_store: StoreFactory,
    board: MemoryBoard,
    workspaces: FakeWorkspaces,
    agents: FakeAgents,
    extra: str = "",
    body: str | None = None,
) -> Harness:
    store = make_store(extra) if body is None else make_store(extra, body)
    return Harness(store, board, workspaces, agents)


async def test_first_turn_gets_the_full_prompt_and_the_run_ends_when_the_issue_leaves(
    make_store: StoreFactory,
    board: MemoryBoard,
    workspaces: FakeWorkspaces,
    agents: FakeAgents,
    ws_root: Path,
) -> None:
    h = harness(make_store, board, workspaces, agents)
    issue = board.put(todo())

    async def finish(session: FakeSession, prompt: str, turn: int) -> None:
        board.move(issue.id, "Human Review")

    agents.scripts["MT-1"] = finish
    result = await h.run(issue)
    assert result.ok and result.error is None
    (session,) = agents.sessions
    assert session.prompts == ["Work on MT-1: Fix the bug"]
    assert session.stopped
    assert [k for k, _ in workspaces.calls] == [
        "prepare",
        "before_run",
        "after_run_start",
        "after_run",
    ]
    assert (ws_root / "MT-1").is_dir()  # kept after a successful run
    info = [e for e in h.events if isinstance(e, WorkerInfo)]
    assert info == [WorkerInfo("id-1", 7, str(ws_root / "MT-1"), ())]


async def test_active_issue_continues_on_the_same_session_up_to_max_turns(
    make_store: StoreFactory,
    board: MemoryBoard,
    workspaces: FakeWorkspaces,
    agents: FakeAgents,
) -> None:
    h = harness(make_store, board, workspaces, agents, "agent:\n  max_turns: 3")
    issue = board.put(todo())
    result = await h.run(issue, attempt=2)
    assert result.ok
    (session,) = agents.sessions  # one app-server, one thread
    assert session.prompts == [
        "Work on MT-1: Fix the bug",
        "continue MT-1 turn 2/3",
        "continue MT-1 turn 3/3",
    ]
    updates = [e for e in h.events if isinstance(e, AgentUpdate)]
    assert {u.session_id for u in updates} == {f"{session.thread_id}-turn-{n}" for n in (1, 2, 3)}
    assert all(u.run_id == 7 and u.pid == "4242" for u in updates)


async def test_unroutable_or_missing_issue_ends_the_run_normally(
    make_store: StoreFactory,
    board: MemoryBoard,
    workspaces: FakeWorkspaces,
    agents: FakeAgents,
) -> None:
    h = harness(make_store, board, workspaces, agents, "agent:\n  max_turns: 5\n")
    issue = board.put(todo(1))
    other = board.put(todo(2))

    async def unassign(session: FakeSession, prompt: str, turn: int) -> None:
        board.put(replace(issue, dispatchable=False))

    async def vanish(session: FakeSession, prompt: str, turn: int) -> None:
        board.issues.pop(other.id)

    agents.scripts["MT-1"] = unassign
    agents.scripts["MT-2"] = vanish
    assert (await h.run(issue)).ok
    assert (await h.run(other)).ok
    assert [len(s.prompts) for s in agents.sessions] == [1, 1]


async def test_workspace_failure_fails_without_hooks_or_agent(
    make_store: StoreFactory,
    board: MemoryBoard,
    workspaces: FakeWorkspaces,
    agents: FakeAgents,
) -> None:
    h = harness(make_store, board, workspaces, agents)
    workspaces.fail_prepare.add("MT-1")
    result = await h.run(board.put(todo()))
    assert not result.ok
    assert result.error == "workspace error: [workspace_hook_failed] after_create hook failed"
    assert workspaces.names("after_run") == [] and agents.sessions == []


async def test_before_run_failure_fails_the_attempt_and_still_runs_after_run(
    make_store: StoreFactory,
    board: MemoryBoard,
    workspaces: FakeWorkspaces,
    agents: FakeAgents,
) -> None:
    h = harness(make_store, board, workspaces, agents)
    workspaces.fail_before_run.add("MT-1")
    result = await h.run(board.put(todo()))
    assert not result.ok and result.error is not None
    assert result.error.startswith("before_run hook error: [workspace_hook_failed]")
    assert workspaces.names("after_run") == ["MT-1"] and agents.sessions == []


async def test_prompt_error_fails_before_launching_the_agent(
    make_store: StoreFactory,
    board: MemoryBoard,
    workspaces: FakeWorkspaces,
    agents: FakeAgents,
) -> None:
    h = harness(make_store, board, workspaces, agents, body="Do {{ issue.nope }}")
    result = await h.run(board.put(todo()))
    assert not result.ok and result.error is not None
    assert result.error.startswith("prompt error: [template_render_error]")
    assert agents.sessions == [] and workspaces.names("after_run") == ["MT-1"]


async def test_session_startup_failure(
    make_store: StoreFactory,
    board: MemoryBoard,
    workspaces: FakeWorkspaces,
    agents: FakeAgents,
) -> None:
    h = harness(make_store, board, workspaces, agents)
    agents.fail_start.add("MT-1")
    result = await h.run(board.put(todo()))
    assert result.error == "agent session startup error: [port_exit] codex exited during startup"
    assert workspaces.names("after_run") == ["MT-1"]


async def test_the_transcript_records_how_the_attempt_ended(
    make_store: StoreFactory,
    board: MemoryBoard,
    workspaces: FakeWorkspaces,
    agents: FakeAgents,
    tmp_path: Path,
) -> None:
    # A launch refused before codex wrote anything must still leave a log that explains itself.
    h = harness(make_store, board, workspaces, agents)
    h.agent_logs = AgentLogs(tmp_path / "logs")
    agents.fail_start.add("MT-1")
    await h.run(board.put(todo()))
    second = board.put(todo(2))

    async def finish(session: FakeSession, prompt: str, turn: int) -> None:
        board.move(second.id, "Human Review")

    agents.scripts["MT-2"] = finish
    await h.run(second)
    failed = (h.agent_logs.directory("MT-1") / "latest.log").read_text()
    finished = (h.agent_logs.directory("MT-2") / "latest.log").read_text()
    assert failed.splitlines()[-1].endswith(
        "note   attempt failed: agent session startup error: "
        "[port_exit] codex exited during startup"
    )
    assert finished.splitlines()[-1].endswith("note   attempt finished")


async def test_turn_failure_stops_the_session_and_runs_after_run(
    make_store: StoreFactory,
    board: MemoryBoard,
    workspaces: FakeWorkspaces,
    agents: FakeAgents,
) -> None:
    h = harness(make_store, board, workspaces, agents)

    async def fail(session: FakeSession, prompt: str, turn: int) -> None:
        raise SymphonyError("turn failed: model overloaded", code="turn_failed")

    agents.scripts["MT-1"] = fail
    result = await h.run(board.put(todo()))
    assert result.error == "agent turn error: [turn_failed] turn failed: model overloaded"
    assert agents.sessions[0].stopped
    assert workspaces.names("after_run") == ["MT-1"]


async def test_issue_refresh_failure_between_turns_fails_the_attempt(
    make_store: StoreFactory,
    board: MemoryBoard,
    workspaces: FakeWorkspaces,
    agents: FakeAgents,
) -> None:
    h = harness(make_store, board, workspaces, agents)

    async def then_tracker_breaks(session: FakeSession, prompt: str, turn: int) -> None:
        board.fail_next.append(TrackerError("tracker_status", "HTTP 503 from tracker"))

    agents.scripts["MT-1"] = then_tracker_breaks
    result = await h.run(board.put(todo()))
    assert result.error == "issue state refresh error: [tracker_status] HTTP 503 from tracker"
    assert agents.sessions[0].stopped and workspaces.names("after_run") == ["MT-1"]


async def test_the_backend_gets_the_adapters_tools_and_its_events_reach_the_core_typed(
    make_store: StoreFactory,
    board: MemoryBoard,
    workspaces: FakeWorkspaces,
    agents: FakeAgents,
) -> None:
    h = harness(make_store, board, workspaces, agents)
    h.secret_env = frozenset({"MEMORY_TOKEN"})
    issue = board.put(todo())
    usage = TokenUsage(input_tokens=5, output_tokens=1, total_tokens=6)

    async def hand_off(session: FakeSession, prompt: str, turn: int) -> None:
        assert agents.tools is not None
        context = ToolContext(issue=session.issue)
        moved = await agents.tools.execute("memory_move", {"state": "Human Review"}, context)
        assert moved.success
        session.emit("token_usage_updated", usage=usage, rate_limits={"primary": None})

    agents.scripts["MT-1"] = hand_off
    assert (await h.run(issue)).ok
    assert h.selected_for == [h.store.current]  # the backend of the attempt's workflow
    assert agents.tools is not None and agents.tools.names == {"memory_move"}
    assert agents.strip_env == {"MEMORY_TOKEN"}
    assert board.issues[issue.id].state == "Human Review"
    (update,) = [
        e for e in h.events if isinstance(e, AgentUpdate) and e.event == "token_usage_updated"
    ]
    assert update.usage == usage and update.rate_limits == {"primary": None}
    assert update.thread_id == agents.sessions[0].thread_id and update.pid == "4242"


async def test_a_polled_summary_is_read_in_full_before_the_hooks_and_the_prompt(
    make_store: StoreFactory,
    board: MemoryBoard,
    workspaces: FakeWorkspaces,
    agents: FakeAgents,
) -> None:
    body = "{{ issue.identifier }}: {{ issue.description }} on {{ issue.branch_name }}"
    h = harness(make_store, board, workspaces, agents, body=body)
    board.put(todo(description="The whole story", branch_name="mt-1-fix"))
    [summary] = await SummaryMemoryAdapter(board).fetch_issue_summaries_by_states(["Todo"])
    assert summary.description is None
    board.calls.clear()
    assert (await h.run(summary, summaries=True)).ok
    assert agents.sessions[0].prompts[0] == "MT-1: The whole story on mt-1-fix"
    assert board.calls[0] == ("ids", ("id-1",))
    assert workspaces.calls[0] == ("prepare", "MT-1")


@pytest.mark.parametrize("summaries", [False, True], ids=["plain adapter", "summaries adapter"])
async def test_a_whole_issue_is_not_read_again_before_the_first_turn(
    make_store: StoreFactory,
    board: MemoryBoard,
    workspaces: FakeWorkspaces,
    agents: FakeAgents,
    summaries: bool,
) -> None:
    # A whole issue (from a plain poll, or a read by id for a retry or a webhook) is used as is.
    h = harness(make_store, board, workspaces, agents, body="{{ issue.description }}")
    issue = board.put(todo(description="Already whole"))
    seen: list[list[tuple[str, tuple[str, ...]]]] = []

    async def note_reads(session: FakeSession, prompt: str, turn: int) -> None:
        seen.append(list(board.calls))

    agents.scripts["MT-1"] = note_reads
    assert (await h.run(issue, summaries=summaries)).ok
    assert seen[0] == [] and agents.sessions[0].prompts[0] == "Already whole"


async def test_a_summary_whose_issue_left_or_vanished_starts_nothing(
    make_store: StoreFactory,
    board: MemoryBoard,
    workspaces: FakeWorkspaces,
    agents: FakeAgents,
) -> None:
    h = harness(make_store, board, workspaces, agents)
    left = board.put(todo(1))
    vanished = board.put(todo(2))
    board.move(left.id, "Done")
    board.issues.pop(vanished.id)
    assert (await h.run(replace(left, summary=True), summaries=True)) == AttemptResult(True)
    assert (await h.run(replace(vanished, summary=True), summaries=True)) == AttemptResult(True)
    assert workspaces.calls == [] and agents.sessions == []


async def test_a_failed_full_read_fails_the_attempt_before_the_workspace(
    make_store: StoreFactory,
    board: MemoryBoard,
    workspaces: FakeWorkspaces,
    agents: FakeAgents,
) -> None:
    h = harness(make_store, board, workspaces, agents)
    issue = board.put(todo())
    board.fail_next.append(TrackerError("tracker_status", "HTTP 503 from tracker"))
    result = await h.run(replace(issue, summary=True), summaries=True)
    assert result.error == "issue state refresh error: [tracker_status] HTTP 503 from tracker"
    assert workspaces.calls == [] and agents.sessions == []


CONVERSATION = (
    "Work on {{ issue.identifier }}"
    "{% for c in issue.comments %}\n{{ c.author }}: {{ c.body }}{% endfor %}"
)


def _discussed(board: MemoryBoard, agents: FakeAgents, *thread: IssueComment) -> Issue:
    """MT-1 with ``thread`` as its comments; its agent's first turn hands it to review."""
    issue = board.put(todo())
    board.threads[issue.id] = list(thread)

    async def finish(session: FakeSession, prompt: str, turn: int) -> None:
        board.move(issue.id, "Human Review")

    agents.scripts["MT-1"] = finish
    return issue


async def test_the_prompt_carries_the_issue_comments_read_once_per_attempt(
    make_store: StoreFactory,
    board: MemoryBoard,
    workspaces: FakeWorkspaces,
    agents: FakeAgents,
) -> None:
    h = harness(make_store, board, workspaces, agents, body=CONVERSATION)
    issue = _discussed(
        board,
        agents,
        IssueComment("symphony", "Proof of work"),
        IssueComment("rita", "Rework: the empty case crashes"),
    )
    result = await h.run(issue, conversation=True)
    assert result.ok
    (session,) = agents.sessions
    assert session.prompts == [
        "Work on MT-1\nsymphony: Proof of work\nrita: Rework: the empty case crashes"
    ]
    assert [c for c in board.calls if c[0] == "comments"] == [("comments", ("id-1",))]


async def test_a_polled_summary_is_read_whole_with_its_comments_in_one_read(
    make_store: StoreFactory,
    board: MemoryBoard,
    workspaces: FakeWorkspaces,
    agents: FakeAgents,
) -> None:
    h = harness(make_store, board, workspaces, agents, body=CONVERSATION)
    issue = _discussed(board, agents, IssueComment("rita", "Rework: the empty case crashes"))
    summary = replace(issue, description=None, summary=True)
    assert (await h.run(summary, summaries=True, conversation=True)).ok
    assert agents.sessions[0].prompts == ["Work on MT-1\nrita: Rework: the empty case crashes"]
    # The refresh brought the comments: no read of their own; the refreshes between turns
    # need no comments.
    assert board.calls[0] == ("ids+comments", ("id-1",))
    assert [c for c in board.calls if c[0] == "comments"] == []
    assert [c[0] for c in board.calls[1:]] == ["ids"] * (len(board.calls) - 1)


async def test_a_whole_issue_gets_its_comments_from_a_shared_read_with_comments(
    make_store: StoreFactory,
    board: MemoryBoard,
    workspaces: FakeWorkspaces,
    agents: FakeAgents,
) -> None:
    # An issue that is whole already (a retry's, a webhook's, a tracker without summaries): the
    # comments come from the read that dispatches starting together share.
    h = harness(make_store, board, workspaces, agents, body=CONVERSATION)
    issue = _discussed(board, agents, IssueComment("rita", "Rework: the empty case crashes"))
    assert (await h.run(issue, summaries=True, conversation=True)).ok
    assert agents.sessions[0].prompts == ["Work on MT-1\nrita: Rework: the empty case crashes"]
    assert board.calls[0] == ("ids+comments", ("id-1",))
    assert [c for c in board.calls if c[0] == "comments"] == []


async def test_an_issue_gone_from_the_shared_read_fails_before_the_agent_starts(
    make_store: StoreFactory,
    board: MemoryBoard,
    workspaces: FakeWorkspaces,
    agents: FakeAgents,
) -> None:
    h = harness(make_store, board, workspaces, agents, body=CONVERSATION)
    issue = board.put(todo())
    board.issues.pop(issue.id)
    result = await h.run(issue, summaries=True, conversation=True)
    assert not result.ok and result.code == "tracker_issue_not_found"
    assert result.error is not None and result.error.startswith("issue comments error")
    assert agents.sessions == []


class _Calls(list[tuple[str, Any]]):
    """The board's call log; ``asked`` is set once the comments were asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = asyncio.Event()

    def append(self, call: tuple[str, Any]) -> None:
        super().append(call)
        if call[0] == "comments":
            self.asked.set()


class _PrepareAfterComments(FakeWorkspaces):
    """Prepares a workspace only once the comments were asked for."""

    def __init__(self, calls: _Calls) -> None:
        super().__init__()
        self.board_calls = calls

    async def prepare(self, issue: Issue, **kw: Any) -> FakeWorkspace:
        # A read that started only after the workspace was ready would never come: time out.
        await asyncio.wait_for(self.board_calls.asked.wait(), timeout=5)
        return await super().prepare(issue, **kw)


async def test_the_comments_are_read_while_the_issue_and_its_workspace_are_prepared(
    make_store: StoreFactory,
    board: MemoryBoard,
    agents: FakeAgents,
) -> None:
    # A dispatch waits one tracker round trip less: the conversation is read alongside.
    board.calls = calls = _Calls()
    workspaces = _PrepareAfterComments(calls)
    h = harness(make_store, board, workspaces, agents, body=CONVERSATION)
    issue = _discussed(board, agents, IssueComment("rita", "Rework: the empty case crashes"))
    result = await h.run(issue, conversation=True)
    assert result.ok
    assert agents.sessions[0].prompts == ["Work on MT-1\nrita: Rework: the empty case crashes"]
    assert workspaces.calls[0] == ("prepare", "MT-1")


async def test_a_failed_comment_read_fails_the_attempt_before_the_agent_starts(
    make_store: StoreFactory,
    board: MemoryBoard,
    workspaces: FakeWorkspaces,
    agents: FakeAgents,
) -> None:
    h = harness(make_store, board, workspaces, agents, body=CONVERSATION)
    issue = board.put(todo())
    board.fail_next.append(TrackerError("tracker_request", "board offline"))
    result = await h.run(issue, conversation=True)
    assert not result.ok
    assert result.error is not None and "issue comments error" in result.error
    assert "board offline" in result.error
    assert agents.sessions == []


class Marks(MemoryProofBook):
    """A proof book holding a hand-off of each of ``handed_off``; records the reset calls."""

    def __init__(self, *handed_off: str) -> None:
        super().__init__()
        self.calls: list[tuple[str, str]] = []
        self.handed_off = set(handed_off)

    async def arm(self) -> Marks:
        for issue_id in self.handed_off:
            when = datetime(2026, 1, 1, tzinfo=UTC)
            await self.save(ProofRecord(issue_id, "MT-" + issue_id[3:], when, {}))
        return self

    async def needs_reset(self, issue_id: str) -> bool:
        self.calls.append(("needs_reset", issue_id))
        return await super().needs_reset(issue_id)

    async def mark_reset(self, issue_id: str) -> None:
        self.calls.append(("mark_reset", issue_id))
        await super().mark_reset(issue_id)


async def rework_setup(
    make_store: StoreFactory,
    board: MemoryBoard,
    workspaces: FakeWorkspaces,
    agents: FakeAgents,
    state: str,
) -> tuple[Harness, Issue, Marks]:
    """A workflow that resets in Rework, MT-1 in ``state`` with a hand-off on record, and an
    agent that hands it off again."""
    h = Harness(make_store(reset_states=("Rework",)), board, workspaces, agents)
    issue = board.put(replace(todo(), state=state))

    async def finish(session: FakeSession, prompt: str, turn: int) -> None:
        board.move(issue.id, "Human Review")

    agents.scripts["MT-1"] = finish
    return h, issue, await Marks("id-1").arm()


async def test_rework_after_a_hand_off_starts_over_once_in_a_new_workspace(
    make_store: StoreFactory,
    board: MemoryBoard,
    workspaces: FakeWorkspaces,
    agents: FakeAgents,
    ws_root: Path,
) -> None:
    h, issue, marks = await rework_setup(make_store, board, workspaces, agents, "Rework")
    old = ws_root / "MT-1"
    old.mkdir(parents=True)
    (old / "attempt-1.txt").write_text("the rejected attempt")
    # A run a restart cut short would continue its thread; starting over never does.
    result = await h.run(issue, handoffs=marks, resume_thread_id="thread-old")
    assert result.ok, result.error
    assert workspaces.calls[:2] == [("remove", "MT-1"), ("prepare", "MT-1")]
    assert not (old / "attempt-1.txt").exists() and old.is_dir()
    assert marks.calls == [("needs_reset", "id-1"), ("mark_reset", "id-1")]
    (session,) = agents.sessions
    assert session.resume_thread_id is None

    # A retry inside the same Rework round keeps the new workspace.
    (old / "work-in-progress.txt").write_text("kept")
    board.move(issue.id, "Rework")
    again = await h.run(board.issues[issue.id], attempt=1, handoffs=marks)
    assert again.ok
    assert workspaces.names("remove") == ["MT-1"]
    assert (old / "work-in-progress.txt").read_text() == "kept"


async def test_only_reset_states_start_over(
    make_store: StoreFactory,
    board: MemoryBoard,
    workspaces: FakeWorkspaces,
    agents: FakeAgents,
) -> None:
    h, issue, marks = await rework_setup(make_store, board, workspaces, agents, "Todo")
    assert (await h.run(issue, handoffs=marks)).ok
    assert marks.calls == [] and workspaces.names("remove") == []


async def test_a_failed_reset_fails_the_attempt_and_starts_over_on_the_retry(
    make_store: StoreFactory,
    board: MemoryBoard,
    workspaces: FakeWorkspaces,
    agents: FakeAgents,
) -> None:
    h, issue, marks = await rework_setup(make_store, board, workspaces, agents, "Rework")

    async def refuse(identifier: str, **kw: Any) -> bool:
        raise SymphonyError("before_remove hook timed out", code="workspace_hook_timeout")

    workspaces.remove = refuse  # type: ignore[method-assign]
    result = await h.run(issue, handoffs=marks)
    assert not result.ok
    assert result.error == "workspace error: [workspace_hook_timeout] before_remove hook timed out"
    assert marks.calls == [("needs_reset", "id-1")] and await marks.needs_reset("id-1")
    assert agents.sessions == [] and workspaces.names("prepare") == []
