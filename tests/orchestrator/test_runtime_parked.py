"""The runtime removes a released issue's kept workspace once the tracker closes the issue
(docs/orchestrator.md, "Released issues"), with fake workspaces/agents and real timers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from symphony.issue import Issue
from symphony.orchestrator.runtime import OrchestratorRuntime
from tests.support.memory_tracker import MemoryBoard
from tests.support.waiting import wait_until

from .conftest import StoreFactory
from .fakes import FakeAgents, FakeSession, FakeWorkspaces

Make = Callable[..., OrchestratorRuntime]
Script = Callable[[FakeSession, str, int], Awaitable[None]]


def todo(n: int) -> Issue:
    return Issue(
        id=f"id-{n}", identifier=f"MT-{n}", title=f"Issue {n}", state="Todo", dispatchable=True
    )


def hand_off(board: MemoryBoard, issue_id: str) -> Script:
    """Like a real agent: hand the issue to review, then end the turn."""

    async def script(session: FakeSession, prompt: str, turn: int) -> None:
        session.emit("notification", message="done, over to review")
        board.move(issue_id, "Human Review")

    return script


async def test_released_issue_closed_later_has_its_recorded_workspace_removed(
    make_store: StoreFactory,
    make_runtime: Make,
    board: MemoryBoard,
    agents: FakeAgents,
    workspaces: FakeWorkspaces,
    ws_root: Path,
    tmp_path: Path,
) -> None:
    one, two = board.put(todo(1)), board.put(todo(2))
    agents.scripts["MT-1"] = hand_off(board, one.id)
    agents.scripts["MT-2"] = hand_off(board, two.id)
    store = make_store()
    runtime = make_runtime(store)
    await runtime.start()
    await wait_until(
        lambda: (
            not runtime.state.running
            and not runtime.state.retry_attempts
            and set(runtime.state.parked) == {one.id, two.id}
        )
    )
    assert (ws_root / "MT-1").is_dir() and workspaces.names("remove") == []
    detail = runtime.issue_detail("MT-1")
    assert detail is not None and detail.status == "released"
    assert detail.workspace_path == str(ws_root / "MT-1")

    # The recorded path is used, so a root change in between does not strand the workspace.
    store.path.write_text(store.path.read_text().replace(str(ws_root), str(tmp_path / "new")))
    await wait_until(lambda: runtime.snapshot().workflow.version == 2)
    board.move(one.id, "Done")
    await wait_until(lambda: not (ws_root / "MT-1").exists())
    assert workspaces.names("remove") == ["MT-1"]
    assert one.id not in runtime.state.parked and two.id in runtime.state.parked
    assert (ws_root / "MT-2").is_dir()
    # Nothing else happens to the other one over the next polls.
    tick = runtime.state.tick_id
    await wait_until(lambda: runtime.state.tick_id >= tick + 3)
    assert workspaces.names("remove") == ["MT-1"] and (ws_root / "MT-2").is_dir()
    assert len(agents.sessions) == 2  # neither was dispatched again
