"""The proof of work names the issue's pull requests when the tracker links them
(``LinkedChanges``); a tracker that cannot say never fails the hand-off."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest

from symphony.issue import Issue
from symphony.trackers.base import TRACKER_REQUEST, LinkedPullRequest, TrackerError
from tests.support.memory_tracker import MemoryAdapter, MemoryBoard

from .conftest import StoreFactory
from .fakes import FakeAgents, FakeSession
from .test_worker_handoff import GitWorkspaces, Run, git, hooks, todo

FAILING = LinkedPullRequest(
    url="https://github.com/acme/app/pull/7",
    state="OPEN",
    review_decision="REVIEW_REQUIRED",
    checks_state="FAILURE",
    failing=("lint", "test (3.11)"),
)


class LinkedAdapter(MemoryAdapter):
    """A memory tracker that links pull requests to issues."""

    found: ClassVar[list[LinkedPullRequest] | Exception] = [FAILING]
    asked: ClassVar[list[tuple[str, str | None]]] = []

    async def linked_pull_requests(
        self, issue: Issue, *, branch: str | None = None
    ) -> list[LinkedPullRequest]:
        type(self).asked.append((issue.identifier, branch))
        if isinstance(self.found, Exception):
            raise self.found
        return self.found


@pytest.fixture(autouse=True)
def workspace_of_session(monkeypatch: pytest.MonkeyPatch, ws_root: Path) -> None:
    monkeypatch.setattr(
        FakeSession, "workspace", property(lambda s: ws_root / s.issue.identifier), raising=False
    )
    monkeypatch.setattr(LinkedAdapter, "asked", [])


def make_run(make_store: StoreFactory, board: MemoryBoard, agents: FakeAgents) -> Run:
    run = Run(make_store(hooks(verify=None)), board, GitWorkspaces(), agents)
    run.adapter = LinkedAdapter
    return run


def on_a_branch_then_hand_off(board: MemoryBoard) -> Any:
    async def script(session: FakeSession, prompt: str, turn: int) -> None:
        git(session.workspace, "checkout", "-qb", "symphony/MT-1")
        board.move(session.issue.id, "Human Review")

    return script


async def test_the_proof_lists_the_pull_requests_with_review_and_failing_checks(
    make_store: StoreFactory, board: MemoryBoard, agents: FakeAgents
) -> None:
    run = make_run(make_store, board, agents)
    issue = board.put(todo())
    agents.scripts["MT-1"] = on_a_branch_then_hand_off(board)
    assert (await run(issue)).ok
    # The workspace's branch is passed on: pull requests pushed from it count too.
    assert LinkedAdapter.asked == [("MT-1", "symphony/MT-1")]
    proof = await run.proofs.get("MT-1")
    assert proof is not None
    assert proof.body["pull_requests"] == [
        {
            "url": "https://github.com/acme/app/pull/7",
            "state": "OPEN",
            "review_decision": "REVIEW_REQUIRED",
            "checks": {"state": "FAILURE", "failing": ["lint", "test (3.11)"]},
        }
    ]
    (comment,) = run.proof_comments()
    assert "**Pull requests** (1)" in comment
    assert "https://github.com/acme/app/pull/7" in comment
    assert "review review required" in comment
    assert "checks failure: `lint`, `test (3.11)`" in comment


async def test_a_tracker_that_cannot_list_them_never_fails_the_hand_off(
    make_store: StoreFactory,
    board: MemoryBoard,
    agents: FakeAgents,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(LinkedAdapter, "found", TrackerError(TRACKER_REQUEST, "GitHub is down"))
    run = make_run(make_store, board, agents)
    issue = board.put(todo())
    agents.scripts["MT-1"] = on_a_branch_then_hand_off(board)
    assert (await run(issue)).ok
    proof = await run.proofs.get("MT-1")
    assert proof is not None and proof.body["pull_requests"] is None
    (comment,) = run.proof_comments()
    assert "could not list them" in comment
    assert board.issues["id-1"].state == "Human Review"


async def test_without_the_capability_the_proof_has_no_pull_requests(
    make_store: StoreFactory, board: MemoryBoard, agents: FakeAgents
) -> None:
    run = Run(make_store(hooks(verify=None)), board, GitWorkspaces(), agents)
    issue = board.put(todo())
    agents.scripts["MT-1"] = on_a_branch_then_hand_off(board)
    assert (await run(issue)).ok
    proof = await run.proofs.get("MT-1")
    assert proof is not None and "pull_requests" not in proof.body
    (comment,) = run.proof_comments()
    assert "Pull requests" not in comment
