"""A best-of candidate's run (docs/best-of.md): its own workspace, its prompt variable, its
hand-off tool, and no way to move the issue."""

from __future__ import annotations

from pathlib import Path

from symphony.core.candidates import CandidateRef
from symphony.core.events import WorkerInfo
from symphony.orchestrator.candidate_tools import HAND_OFF_TOOL
from symphony.tools import ToolContext
from tests.support.memory_tracker import MemoryBoard

from .conftest import StoreFactory
from .fakes import FakeAgents, FakeSession, FakeWorkspaces
from .test_worker import harness, todo

BODY = (
    "{{ issue.identifier }}"
    "{% if candidate %} as {{ candidate.name }}/{{ candidate.count }}{% endif %}"
)


async def test_a_candidate_works_in_its_own_workspace_and_ends_when_it_hands_off(
    make_store: StoreFactory,
    board: MemoryBoard,
    workspaces: FakeWorkspaces,
    agents: FakeAgents,
    ws_root: Path,
) -> None:
    h = harness(make_store, board, workspaces, agents, "agent:\n  max_turns: 5", body=BODY)
    issue = board.put(todo())
    calls = []

    async def work(session: FakeSession, prompt: str, turn: int) -> None:
        assert agents.tools is not None
        context = ToolContext(issue=session.issue)
        if turn == 2:
            calls.append(
                await agents.tools.execute(HAND_OFF_TOOL, {"summary": " wrote b.txt "}, context)
            )

    agents.scripts["MT-1"] = work
    result = await h.run(issue, candidate=CandidateRef.of(1, 2))
    assert result.ok and result.handed_off == "wrote b.txt"
    (session,) = agents.sessions
    # The hand-off's turn was the last one: no continuation turn followed it.
    assert session.prompts == ["MT-1 as b/2", "continue MT-1 turn 2/5"]
    assert calls[0].success and calls[0].output["candidate"] == "b"
    assert agents.tools is not None and agents.tools.names == {"memory_move", HAND_OFF_TOOL}
    assert workspaces.names("prepare") == ["MT-1.b"]
    assert workspaces.names("after_run") == ["MT-1.b"]
    (info,) = [e for e in h.events if isinstance(e, WorkerInfo)]
    # Keyed like the candidate's running entry in the core.
    assert info.issue_id == "id-1/b" and info.workspace_path == str(ws_root / "MT-1.b")
    assert board.issues[issue.id].state == "Todo"


async def test_a_candidate_cannot_move_the_issue_and_is_told_to_hand_off(
    make_store: StoreFactory,
    board: MemoryBoard,
    workspaces: FakeWorkspaces,
    agents: FakeAgents,
) -> None:
    h = harness(make_store, board, workspaces, agents, "agent:\n  max_turns: 1")
    issue = board.put(todo())
    answers = []

    async def move(session: FakeSession, prompt: str, turn: int) -> None:
        assert agents.tools is not None
        context = ToolContext(issue=session.issue)
        answers.append(await agents.tools.execute("memory_move", {"state": "Done"}, context))
        answers.append(await agents.tools.execute(HAND_OFF_TOOL, {"summary": ""}, context))

    agents.scripts["MT-1"] = move
    result = await h.run(issue, candidate=CandidateRef.of(0, 2))
    refused, empty = answers
    assert not refused.success and HAND_OFF_TOOL in refused.output["error"]["message"]
    assert "may not change the state of MT-1" in refused.output["error"]["message"]
    assert not empty.success and "non-empty `summary`" in empty.output["error"]["message"]
    assert board.issues[issue.id].state == "Todo"
    # max_turns ended it without a hand-off.
    assert result.ok and result.handed_off is None


async def test_without_a_candidate_the_prompt_sees_nil_and_no_hand_off_tool(
    make_store: StoreFactory,
    board: MemoryBoard,
    workspaces: FakeWorkspaces,
    agents: FakeAgents,
) -> None:
    h = harness(make_store, board, workspaces, agents, "agent:\n  max_turns: 1", body=BODY)
    assert (await h.run(board.put(todo()))).ok
    assert agents.sessions[0].prompts == ["MT-1"]
    assert agents.tools is not None and agents.tools.names == {"memory_move"}
    assert workspaces.names("prepare") == ["MT-1"]


async def test_a_candidate_runs_with_its_variant(
    make_store: StoreFactory,
    board: MemoryBoard,
    workspaces: FakeWorkspaces,
    agents: FakeAgents,
) -> None:
    extra = "agent:\n  max_turns: 1\n  variants:\n    - agent: {max_turns: 3}\n    - codex: {}"
    h = harness(make_store, board, workspaces, agents, extra)
    assert (await h.run(board.put(todo()), candidate=CandidateRef.of(2, 3))).ok
    assert (await h.run(board.put(todo(2)), candidate=CandidateRef.of(1, 3))).ok
    third, second = agents.sessions
    assert len(third.prompts) == 3 and len(second.prompts) == 1
    assert [w.config.agent.max_turns for w in h.selected_for] == [3, 1]
