"""Hand-offs in the worker: the proof of work, hooks.verify and the verify gate."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from symphony.agents.base import CommandRun, TurnOutcome
from symphony.core.config import SchedulerConfig
from symphony.core.events import Event, HandingOff
from symphony.core.policy import is_active, is_terminal, still_wanted
from symphony.issue import Issue
from symphony.orchestrator.handoff import HandOffServices
from symphony.orchestrator.proofs import MemoryProofBook, ProofBook
from symphony.orchestrator.scheduling import scheduler_config
from symphony.orchestrator.worker import Attempt, AttemptResult, WorkerServices, run_attempt
from symphony.trackers.base import has_marker
from symphony.usage import TokenUsage
from symphony.workflow.config import HooksConfig
from symphony.workflow.store import WorkflowStore
from tests.support.git import git
from tests.support.memory_tracker import MemoryAdapter, MemoryBoard

from .conftest import StoreFactory
from .fakes import FakeAgents, FakeSession, FakeWorkspaces

VERIFY = 'test -f ok.txt || { echo "check failed: ok.txt is missing"; exit 3; }'


def todo(n: int = 1) -> Issue:
    return Issue(
        id=f"id-{n}", identifier=f"MT-{n}", title="Fix it", state="Todo", dispatchable=True
    )


@dataclasses.dataclass(frozen=True)
class GitWorkspace:
    path: Path
    key: str
    created_now: bool
    base_commit: str | None


class GitWorkspaces(FakeWorkspaces):
    """Workspaces that are git repositories with one commit, recorded as their base."""

    async def prepare(self, issue: Issue, **kw: Any) -> GitWorkspace:
        plain = await super().prepare(issue, **kw)
        if not (plain.path / ".git").exists():
            git(plain.path, "init", "-q")
            (plain.path / "README.md").write_text("hello\n")
            git(plain.path, "add", "README.md")
            git(plain.path, "commit", "-qm", "base")
        return GitWorkspace(
            plain.path, plain.key, plain.created_now, git(plain.path, "rev-parse", "HEAD")
        )


class Run:
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
        self.proofs: ProofBook = MemoryProofBook()
        self.adapter: Callable[[MemoryBoard], MemoryAdapter] = MemoryAdapter
        # What the core counted for the run (issue id, run id); None: no count offered.
        self.run_cost: Callable[[str, int], float | None] | None = None

    async def __call__(self, issue: Issue, attempt: int | None = None) -> AttemptResult:
        config: SchedulerConfig = scheduler_config(self.store.current.config)
        services = WorkerServices(
            workspaces=self.workspaces,
            agents=lambda _workflow: self.agents,
            still_wanted=lambda i: still_wanted(i, config),
            report=self.events.append,
            hand_offs=HandOffServices(
                proofs=self.proofs,
                is_hand_off=lambda i: not is_active(i, config) and not is_terminal(i, config),
                run_cost=self.run_cost,
            ),
        )
        spec = Attempt(issue, attempt, 7, self.store.current, self.adapter(self.board))
        return await asyncio.wait_for(run_attempt(spec, services), timeout=30)

    def hand_offs(self) -> list[bool]:
        return [e.active for e in self.events if isinstance(e, HandingOff)]

    def proof_comments(self) -> list[str]:
        return [body for _, body in self.board.comments if has_marker("proof", body)]


def hooks(
    verify: str | None = VERIFY, timeout_ms: int = 10_000, retries: int = 2, post: bool = True
) -> str:
    lines = ["hooks:", f"  timeout_ms: {timeout_ms}"]
    if verify is not None:
        lines.append(f"  verify: '{verify}'")
    lines += ["review:", f"  max_verify_retries: {retries}", f"  post_proof: {str(post).lower()}"]
    lines += ["agent:", "  max_turns: 2"]
    return "\n".join(lines) + "\n"


def hand_off_each_turn(board: MemoryBoard, fix_on_turn: int | None = None) -> Any:
    async def script(session: FakeSession, prompt: str, turn: int) -> None:
        if fix_on_turn is not None and turn >= fix_on_turn:
            (session.workspace / "ok.txt").write_text("fixed\n")
        board.move(session.issue.id, "Human Review")

    return script


@pytest.fixture
def run(make_store: StoreFactory, board: MemoryBoard, agents: FakeAgents) -> Any:
    def make(extra: str, workspaces: FakeWorkspaces | None = None) -> Run:
        return Run(make_store(extra), board, workspaces or FakeWorkspaces(), agents)

    return make


@pytest.fixture(autouse=True)
def workspace_of_session(monkeypatch: pytest.MonkeyPatch, ws_root: Path) -> None:
    # The scripts write into the session's workspace: <root>/<identifier>.
    monkeypatch.setattr(
        FakeSession, "workspace", property(lambda s: ws_root / s.issue.identifier), raising=False
    )


async def test_verify_fails_first_sends_the_agent_back_then_passes_and_reaches_review(
    run: Any, board: MemoryBoard, agents: FakeAgents
) -> None:
    r: Run = run(hooks())
    issue = board.put(todo())
    agents.scripts["MT-1"] = hand_off_each_turn(board, fix_on_turn=2)

    result = await r(issue)

    assert result.ok
    (session,) = agents.sessions
    assert len(session.prompts) == 2  # the retry ran on the same session, past max_turns too
    assert "check failed: ok.txt is missing" in session.prompts[1]
    assert "moved back to Todo" in session.prompts[1]
    assert ("move", ("id-1", "Todo")) in board.calls
    assert board.issues["id-1"].state == "Human Review"
    assert r.hand_offs() == [True, False, True]
    proof = await r.proofs.get("MT-1")
    assert proof is not None
    verify = proof.body["verify"]
    assert (verify["passed"], verify["exit_code"], proof.verify_failures) == (True, 0, 0)
    assert proof.body["turns"] == 2 and proof.body["attempts"] == 1
    (comment,) = r.proof_comments()  # one comment, updated in place
    assert "## Proof of work" in comment and "**Verify: passed**" in comment


async def test_retries_exhausted_leave_the_issue_in_review_marked_failing(
    run: Any, board: MemoryBoard, agents: FakeAgents
) -> None:
    r: Run = run(hooks(retries=1))
    issue = board.put(todo())
    agents.scripts["MT-1"] = hand_off_each_turn(board)

    assert (await r(issue)).ok

    (session,) = agents.sessions
    assert len(session.prompts) == 2
    assert board.issues["id-1"].state == "Human Review"
    proof = await r.proofs.get("MT-1")
    assert proof is not None
    assert proof.body["verify"]["passed"] is False and proof.body["verify"]["exit_code"] == 3
    assert proof.verify_failures == 2 and proof.body["sent_back"] is False
    (comment,) = r.proof_comments()
    assert "**Verify: failed**" in comment and "failed verification" in comment
    assert "ok.txt is missing" in comment


async def test_the_failure_count_survives_the_run_and_a_new_round_starts_from_zero(
    run: Any, board: MemoryBoard, agents: FakeAgents
) -> None:
    r: Run = run(hooks(retries=1))
    issue = board.put(todo())
    agents.scripts["MT-1"] = hand_off_each_turn(board)
    await r(issue)  # two failures: exhausted, in review
    board.move("id-1", "Todo")  # reworked
    agents.scripts["MT-1"] = hand_off_each_turn(board, fix_on_turn=2)
    assert (await r(board.issues["id-1"], attempt=1)).ok
    session = agents.sessions[-1]
    assert len(session.prompts) == 2  # sent back once again: a new round
    proof = await r.proofs.get("MT-1")
    assert proof is not None and proof.verify_failures == 0 and proof.body["attempts"] == 2


async def test_a_hung_verify_is_killed_at_the_hook_timeout_and_fails(
    run: Any, board: MemoryBoard, agents: FakeAgents, ws_root: Path
) -> None:
    r: Run = run(hooks("echo started; sleep 60 & sleep 60", timeout_ms=300, retries=0))
    issue = board.put(todo())
    agents.scripts["MT-1"] = hand_off_each_turn(board)

    assert (await r(issue)).ok

    proof = await r.proofs.get("MT-1")
    assert proof is not None
    verify = proof.body["verify"]
    assert verify["passed"] is False and verify["timed_out"] is True
    assert verify["exit_code"] is None and "started" in verify["output_tail"]
    assert 300 <= verify["duration_ms"] < 10_000
    assert "hooks.timeout_ms" in verify["reason"]


async def test_a_workspace_that_is_not_a_git_repository_gets_a_proof_without_a_diff(
    run: Any, board: MemoryBoard, agents: FakeAgents
) -> None:
    r: Run = run(hooks(verify=None))
    issue = board.put(todo())
    agents.scripts["MT-1"] = hand_off_each_turn(board)

    assert (await r(issue)).ok

    proof = await r.proofs.get("MT-1")
    assert proof is not None
    assert proof.body["verify"] is None and proof.body["files"] == []
    assert proof.body["note"] == "No diff: the workspace is not a git repository."
    assert proof.diff == "" and await r.proofs.diff("MT-1") == ""
    (comment,) = r.proof_comments()
    assert "not a git repository" in comment and "not configured" in comment


async def test_the_proofs_cost_is_the_cores_count_for_the_run(
    run: Any, board: MemoryBoard, agents: FakeAgents
) -> None:
    r: Run = run(hooks(verify=None))
    asked: list[tuple[str, int]] = []

    def run_cost(issue_id: str, run_id: int) -> float | None:
        asked.append((issue_id, run_id))
        return 1.234567891

    r.run_cost = run_cost
    issue = board.put(todo())
    agents.scripts["MT-1"] = hand_off_each_turn(board)
    assert (await r(issue)).ok
    proof = await r.proofs.get("MT-1")
    assert proof is not None and proof.body["cost_usd"] == 1.234568
    assert asked == [(issue.id, 7)]


async def test_the_proof_names_commits_files_commands_and_the_final_message(
    run: Any, board: MemoryBoard, agents: FakeAgents
) -> None:
    r: Run = run(hooks(verify="true"), GitWorkspaces())
    issue = board.put(todo())

    async def work(session: FakeSession, prompt: str, turn: int) -> None:
        ws = session.workspace
        (ws / "app.py").write_text("print(1)\n")
        git(ws, "add", "app.py")
        git(ws, "commit", "-qm", "Add the app")
        (ws / "README.md").write_text("hello\nworld\n")  # not committed
        board.move(session.issue.id, "Human Review")

    agents.scripts["MT-1"] = work
    original = FakeSession.run_turn

    async def with_commands(self: FakeSession, prompt: str, *, issue: Issue) -> TurnOutcome:
        outcome = await original(self, prompt, issue=issue)
        return dataclasses.replace(
            outcome,
            last_message="Added the app.",
            usage_delta=TokenUsage(input_tokens=10, output_tokens=5, total_tokens=15),
            commands=(CommandRun("pytest -q", 0, 900), CommandRun("git commit", 0, 20)),
        )

    FakeSession.run_turn = with_commands  # type: ignore[method-assign]
    try:
        assert (await r(issue)).ok
    finally:
        FakeSession.run_turn = original  # type: ignore[method-assign]

    proof = await r.proofs.get("MT-1")
    assert proof is not None
    body = proof.body
    assert body["base"] and body["head"] and body["base"] != body["head"]
    assert [c["subject"] for c in body["commits"]] == ["Add the app"]
    files = {f["path"]: f for f in body["files"]}
    assert files["app.py"] == {"path": "app.py", "added": 1, "removed": 0, "uncommitted": False}
    assert files["README.md"]["uncommitted"] is True and files["README.md"]["added"] == 1
    assert body["final_message"] == "Added the app."
    assert body["commands"] == [
        {"command": "pytest -q", "exit_code": 0, "duration_ms": 900},
        {"command": "git commit", "exit_code": 0, "duration_ms": 20},
    ]
    assert body["tokens"]["total_tokens"] == 15 and body["cost_usd"] is None
    assert body["verify"]["passed"] is True and body["note"] is None
    assert "+print(1)" in proof.diff and "+world" in proof.diff
    (comment,) = r.proof_comments()
    assert "`app.py` +1 \N{MINUS SIGN}0" in comment and "Added the app." in comment
    assert "Add the app" in comment and "pytest -q" in comment


async def test_a_tracker_error_posting_the_proof_never_fails_the_run(
    run: Any, board: MemoryBoard, agents: FakeAgents
) -> None:
    from symphony.trackers.base import TRACKER_REQUEST, TrackerError

    r: Run = run(hooks(verify="true"))
    issue = board.put(todo())

    async def hand_off(session: FakeSession, prompt: str, turn: int) -> None:
        board.move(session.issue.id, "Human Review")

    agents.scripts["MT-1"] = hand_off
    original = MemoryAdapter.upsert_own_comment

    async def refuse(self: MemoryAdapter, *args: Any) -> bool:
        raise TrackerError(TRACKER_REQUEST, "tracker down")

    MemoryAdapter.upsert_own_comment = refuse  # type: ignore[method-assign]
    try:
        assert (await r(issue)).ok
    finally:
        MemoryAdapter.upsert_own_comment = original  # type: ignore[method-assign]
    assert await r.proofs.get("MT-1") is not None
    assert r.proof_comments() == []


async def test_post_proof_false_posts_no_comment(
    run: Any, board: MemoryBoard, agents: FakeAgents
) -> None:
    r: Run = run(hooks(verify=None, post=False))
    issue = board.put(todo())
    agents.scripts["MT-1"] = hand_off_each_turn(board)
    assert (await r(issue)).ok
    assert await r.proofs.get("MT-1") is not None
    assert r.proof_comments() == []


def test_verify_is_a_hook_script_like_the_others() -> None:
    assert HooksConfig.model_validate({"verify": "make test"}).verify == "make test"
    assert HooksConfig.model_validate({"verify": "  "}).verify is None
