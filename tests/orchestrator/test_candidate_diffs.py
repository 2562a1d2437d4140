"""The runtime serves each best-of candidate's diff from its workspace (docs/best-of.md, "The
candidates' diffs"): before the pick each its own, after it the workspaces are gone."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from symphony.orchestrator.runtime import OrchestratorRuntime
from symphony.review import ReviewDecision
from symphony.workspace.base import write_base
from tests.support.git import git
from tests.support.memory_tracker import MemoryBoard
from tests.support.waiting import wait_until

from .conftest import StoreFactory
from .fakes import FakeAgents, FakeSession
from .test_runtime import todo

Make = Callable[..., OrchestratorRuntime]


def work_in(root: Path, key: str, name: str) -> None:
    """What an agent and ``after_create`` would leave: a repository with a recorded base, then
    the candidate's own file."""
    path = root / key
    git(path, "init", "-q", "-b", "main")
    git(path, "commit", "-q", "--allow-empty", "-m", "base")
    write_base(root, key, git(path, "rev-parse", "HEAD"))
    (path / f"{name}.txt").write_text(f"{name}\n")


async def test_each_candidate_diff_comes_from_its_workspace_until_one_is_picked(
    make_store: StoreFactory,
    make_runtime: Make,
    board: MemoryBoard,
    agents: FakeAgents,
    ws_root: Path,
) -> None:
    issue = board.put(todo(1))

    async def hand_off(session: FakeSession, prompt: str, turn: int) -> None:
        name = prompt.rsplit(" ", 1)[-1]
        await asyncio.to_thread(work_in, ws_root, f"MT-1.{name}", name)
        await session.hand_off("did it")

    agents.scripts["MT-1"] = hand_off
    store = make_store(
        "agent:\n  best_of: 2\n  max_concurrent_agents: 2",
        "{{ issue.identifier }} as {{ candidate.name }}",
    )
    runtime = make_runtime(store)
    await runtime.start()
    await wait_until(lambda: board.issues[issue.id].state == "Human Review")

    a = await runtime.candidate_diff("MT-1", "a")
    b = await runtime.candidate_diff("MT-1", "b")
    assert (a.status, a.note, b.status, b.note) == ("ok", None, "ok", None)
    assert "+++ b/a.txt" in a.diff and "b.txt" not in a.diff
    assert "+++ b/b.txt" in b.diff and "a.txt" not in b.diff
    unknown = await runtime.candidate_diff("MT-1", "c")
    assert unknown.status == "no_such_candidate" and "(it has a, b)" in unknown.message
    assert (await runtime.candidate_diff("MT-2", "a")).status == "no_such_candidate"

    outcome = await runtime.review("MT-1", ReviewDecision("approve", candidate="b"))
    assert outcome.status == "accepted"
    await wait_until(lambda: not (ws_root / "MT-1.a").exists())
    gone_a = await runtime.candidate_diff("MT-1", "a")
    gone_b = await runtime.candidate_diff("MT-1", "b")
    assert gone_a.status == "no_workspace" and "another candidate was chosen" in gone_a.message
    assert gone_b.status == "no_workspace" and "became the issue's workspace" in gone_b.message
    assert not (ws_root / "MT-1.a").exists() and not (ws_root / "MT-1.b").exists()
