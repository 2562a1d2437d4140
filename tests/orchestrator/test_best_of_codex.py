"""Best of K with the real codex against a fake model (docs/best-of.md), below the scheduler:
two candidates of one issue run at once in their own workspaces, each writes its own file and
calls ``symphony_hand_off``; one first tries to move the issue and is refused. Judging verifies
both, the issue moves once and gets one comparison comment; picking ``b`` makes b's workspace
the issue's and removes a's with ``before_remove``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from symphony.core.candidates import CandidateRef, CandidateSet
from symphony.core.policy import still_wanted
from symphony.issue import Issue
from symphony.orchestrator.candidate_tools import HAND_OFF_TOOL
from symphony.orchestrator.judging import judge, publish
from symphony.orchestrator.scheduling import scheduler_config
from symphony.orchestrator.worker import Attempt, WorkerServices, run_attempt
from symphony.service import select_backend
from symphony.workspace import WorkspaceManager
from tests.e2e.harness import per_issue_responder, require_codex
from tests.support.fake_model import FAKE_API_KEY_ENV, FakeModelServer, Reply, write_codex_home
from tests.support.memory_tracker import MemoryAdapter, MemoryBoard

from .conftest import StoreFactory

pytestmark = pytest.mark.codex

PROMPT = "Work on {{ issue.identifier }} as cand-{{ candidate.name }} of {{ candidate.count }}."
GIT_INIT = (
    "git init -q -b main . && git -c user.name=t -c user.email=t@example.com "
    "commit -q --allow-empty -m base"
)


def script(name: str, *, try_to_move: bool) -> list[Reply]:
    steps = [Reply.exec_command(f"printf '{name}' > {name}.txt && echo wrote")]
    if try_to_move:
        steps.append(Reply.tool_call("memory_move", {"state": "Human Review"}))
    steps.append(Reply.tool_call(HAND_OFF_TOOL, {"summary": f"wrote {name}.txt"}))
    return steps


async def test_two_candidates_hand_off_are_judged_once_and_the_chosen_one_is_adopted(
    make_store: StoreFactory,
    board: MemoryBoard,
    ws_root: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    codex = require_codex()
    home = tmp_path / "home"
    home.mkdir()
    removed = tmp_path / "removed.log"
    with FakeModelServer() as model:
        model.responder = per_issue_responder(
            {
                "cand-a": script("a", try_to_move=True),
                "cand-b": script("b", try_to_move=False),
            },
            done=Reply.message("Handed off."),
        )
        monkeypatch.setenv("HOME", str(home))
        codex_home = write_codex_home(tmp_path / "codex-home", base_url=model.base_url)
        monkeypatch.setenv("CODEX_HOME", str(codex_home))
        monkeypatch.setenv(FAKE_API_KEY_ENV, "fake-key")
        extra = f"""
agent:
  max_turns: 3
  best_of: 2
hooks:
  after_create: "{GIT_INIT}"
  verify: "test -f a.txt || test -f b.txt"
  before_remove: 'echo "$SYMPHONY_ISSUE_IDENTIFIER" >> {removed}'
  timeout_ms: 20000
codex:
  command: "{codex} app-server"
  read_timeout_ms: 20000
  turn_timeout_ms: 60000
"""
        store = make_store(extra, PROMPT)
        workflow = store.current
        config = workflow.config
        issue = board.put(
            Issue(id="id-1", identifier="MT-1", title="Write", state="Todo", dispatchable=True)
        )
        adapter = MemoryAdapter(board)
        workspaces = WorkspaceManager()
        services = WorkerServices(
            workspaces=workspaces,
            agents=select_backend,
            still_wanted=lambda i: still_wanted(i, scheduler_config(config)),
            report=lambda _event: None,
        )

        async def candidate(index: int) -> object:
            spec = Attempt(
                issue, None, 1 + index, workflow, adapter, candidate=CandidateRef.of(index, 2)
            )
            return await run_attempt(spec, services)

        a, b = await asyncio.wait_for(asyncio.gather(candidate(0), candidate(1)), timeout=120)

    assert getattr(a, "handed_off", None) == "wrote a.txt", a
    assert getattr(b, "handed_off", None) == "wrote b.txt", b
    # The refused move never reached the tracker.
    assert board.issues["id-1"].state == "Todo"
    refusals = [
        output
        for request in model.requests
        for output in request.function_call_outputs().values()
        if HAND_OFF_TOOL in output and "may not change the state" in output
    ]
    assert refusals, "candidate a was not told to hand off instead"
    assert (ws_root / "MT-1.a" / "a.txt").is_file() and (ws_root / "MT-1.b" / "b.txt").is_file()

    s = CandidateSet.start("id-1", "MT-1", 2)
    s = s.with_candidate("a", status="handed_off", summary="wrote a.txt")
    s = s.with_candidate("b", status="handed_off", summary="wrote b.txt")
    judged, findings = await judge(
        s,
        issue,
        config=config,
        workspaces=workspaces,
        strip_env=frozenset(),
        scratch=tmp_path / "judge",
    )
    assert [c.verify for c in judged.candidates] == ["passed", "passed"]
    assert [c.files for c in judged.candidates] == [("a.txt",), ("b.txt",)]
    assert findings["b"].git.diff.count("+b") == 1
    moved = await publish(
        adapter, issue, judged, review_state="Human Review", review_hint="Pick one.", timeout_s=10
    )
    assert moved == "Human Review"
    assert [args for name, args in board.calls if name == "move"] == [("id-1", "Human Review")]
    assert len(board.comments) == 1

    picked = judged.pick("b")
    adopted = await workspaces.adopt(
        "MT-1.b", "MT-1", root=config.workspace.root, hooks=config.hooks
    )
    await workspaces.remove("MT-1.a", root=config.workspace.root, hooks=config.hooks)
    assert picked.chosen is not None and picked.chosen.name == "b"
    assert (adopted / "b.txt").read_text() == "b" and not (adopted / "a.txt").exists()
    assert not (ws_root / "MT-1.a").exists()
    assert removed.read_text().split() == ["MT-1.a"]
