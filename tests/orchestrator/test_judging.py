"""Judging best-of candidates (docs/best-of.md): verify in each workspace, the judge's ranking,
one move and one comparison comment."""

from __future__ import annotations

from pathlib import Path

from symphony.core.candidates import CandidateSet
from symphony.issue import Issue
from symphony.orchestrator.judging import (
    COMPARISON_COMMENT_KEY,
    announce_failed,
    failure_comment,
    judge,
    publish,
    try_publish,
)
from symphony.trackers.base import TrackerError, has_marker
from tests.support.memory_tracker import MemoryAdapter, MemoryBoard

from .conftest import StoreFactory
from .fakes import FakeWorkspaces

VERIFY = "hooks:\n  verify: test -f ok.txt || { echo no ok.txt here; exit 1; }\n"


def todo() -> Issue:
    return Issue(id="id-1", identifier="MT-1", title="Fix it", state="Todo", dispatchable=True)


def finished_set(ws_root: Path) -> CandidateSet:
    s = CandidateSet.start("id-1", "MT-1", 3)
    s = s.with_candidate("a", status="handed_off", summary="did a", tokens=10, cost_usd=0.5)
    s = s.with_candidate("b", status="handed_off", summary="did b", tokens=20)
    s = s.with_candidate("c", status="failed", error="worker exited: boom")
    # Candidate b's work passes verify, a's does not.
    (ws_root / "MT-1.a").mkdir(parents=True)
    (ws_root / "MT-1.b").mkdir(parents=True)
    (ws_root / "MT-1.b" / "ok.txt").write_text("ok")
    return s


async def test_verify_runs_in_each_candidate_that_handed_off_and_the_judge_ranks_them(
    make_store: StoreFactory, workspaces: FakeWorkspaces, ws_root: Path, tmp_path: Path
) -> None:
    config = make_store(VERIFY).current.config
    prompts: list[tuple[str, Path]] = []

    async def judge_turn(prompt: str, scratch: Path) -> str:
        prompts.append((prompt, scratch))
        return 'Ranking:\n```json\n{"ranking": [{"candidate": "b", "reason": "passes"}, "a"]}\n```'

    judged, findings = await judge(
        finished_set(ws_root),
        todo(),
        config=config,
        workspaces=workspaces,
        strip_env=frozenset(),
        scratch=tmp_path / "judge",
        judge_turn=judge_turn,
    )
    assert workspaces.names("verify") == ["MT-1.a", "MT-1.b"]
    assert set(findings) == {"a", "b"}
    assert judged.judged and judged.judge_note == "ranked by the judge"
    a, b, c = judged.candidates
    assert (a.verify, a.rank, b.verify, b.rank, b.reason) == ("failed", 2, "passed", 1, "passes")
    assert (c.verify, c.rank) == (None, None)
    # The Review view shows what verify printed in each candidate's column.
    assert a.verify_output == "no ok.txt here\n" and b.verify_output == ""
    assert c.verify_output is None
    ((prompt, scratch),) = prompts
    assert scratch == tmp_path / "judge"
    assert "## Candidate a" in prompt and "## Candidate b" in prompt
    assert "## Candidate c" not in prompt
    assert "Verification: passed." in prompt and "did a" in prompt


async def test_an_unusable_answer_leaves_the_candidates_unranked_and_says_why(
    make_store: StoreFactory, workspaces: FakeWorkspaces, ws_root: Path, tmp_path: Path
) -> None:
    async def judge_turn(prompt: str, scratch: Path) -> str:
        return '{"ranking": ["b"]}'

    judged, _ = await judge(
        finished_set(ws_root),
        todo(),
        config=make_store(VERIFY).current.config,
        workspaces=workspaces,
        strip_env=frozenset(),
        scratch=tmp_path / "judge",
        judge_turn=judge_turn,
    )
    assert judged.judge_note == "the judge's ranking leaves out a"
    assert all(c.rank is None for c in judged.candidates)


async def test_without_a_judge_or_with_one_candidate_left_nothing_is_ranked(
    make_store: StoreFactory, workspaces: FakeWorkspaces, ws_root: Path, tmp_path: Path
) -> None:
    config = make_store(VERIFY).current.config
    s = finished_set(ws_root)
    judged, _ = await judge(
        s, todo(), config=config, workspaces=workspaces, strip_env=frozenset(), scratch=tmp_path
    )
    assert judged.judge_note == "no judge (agent.judge is off)"
    alone = s.with_candidate("a", status="failed")

    async def never(prompt: str, scratch: Path) -> str:
        raise AssertionError("one candidate needs no judge")

    judged, findings = await judge(
        alone,
        todo(),
        config=config,
        workspaces=workspaces,
        strip_env=frozenset(),
        scratch=tmp_path,
        judge_turn=never,
    )
    assert (
        list(findings) == ["b"] and judged.judge_note == "nothing to rank: one candidate handed off"
    )


async def test_publish_moves_the_issue_once_and_posts_one_comparison_comment(
    board: MemoryBoard, ws_root: Path
) -> None:
    board.put(todo())
    s = finished_set(ws_root).with_candidate("b", rank=1, reason="passes verify")
    adapter = MemoryAdapter(board)
    hint = 'Pick one: POST /api/v1/MT-1/review {"decision": "approve", "candidate": "b"}'
    for _ in range(2):  # a retried publish neither moves twice nor posts a second comment
        moved = await publish(
            adapter, todo(), s, review_state="Human Review", review_hint=hint, timeout_s=5
        )
    assert moved == "Human Review" and board.issues["id-1"].state == "Human Review"
    ((on, body),) = board.comments
    assert on == "MT-1" and has_marker(COMPARISON_COMMENT_KEY, body)
    rows = [line for line in body.splitlines() if line.startswith("| ") and "candidate" not in line]
    # Ranked first, then by name; the failed one shows its error.
    assert [row.split("|")[1].strip() for row in rows] == ["b", "a", "c"]
    assert "$0.50" in rows[1] and "failed: worker exited: boom" in body
    assert "passes verify" in body and hint in body


async def test_a_refused_move_says_why_and_a_refused_comment_does_not_undo_a_move(
    board: MemoryBoard, ws_root: Path
) -> None:
    board.put(todo())
    s = finished_set(ws_root)
    adapter = MemoryAdapter(board)
    board.fail_next.append(TrackerError("tracker_status", "HTTP 502"))
    refused = await try_publish(
        adapter, todo(), s, review_state="Human Review", review_hint="Pick one.", timeout_s=5
    )
    assert refused.state is None and refused.error is not None and "HTTP 502" in refused.error
    assert board.issues["id-1"].state == "Todo"
    unknown = await try_publish(
        adapter, todo(), s, review_state="Reviewing", review_hint="Pick one.", timeout_s=5
    )
    assert unknown.state is None and unknown.error is not None and "Reviewing" in unknown.error
    # The move goes through, the comment is refused: the issue is in review all the same.
    original = adapter.upsert_own_comment

    async def refuse(*_: object) -> bool:
        raise TrackerError("tracker_status", "HTTP 502")

    adapter.upsert_own_comment = refuse  # type: ignore[method-assign]
    moved = await try_publish(
        adapter, todo(), s, review_state="Human Review", review_hint="Pick one.", timeout_s=5
    )
    assert moved.state == "Human Review" and moved.error is None
    assert board.issues["id-1"].state == "Human Review" and board.comments == []
    adapter.upsert_own_comment = original  # type: ignore[method-assign]


async def test_every_candidate_failed_is_one_comment_replaced_by_a_later_round(
    board: MemoryBoard, ws_root: Path
) -> None:
    board.put(todo())
    s = CandidateSet.start("id-1", "MT-1", 2)
    s = s.with_candidate("a", status="failed", error="worker exited: boom")
    s = s.with_candidate("b", status="failed", error="stalled for 300000 ms")
    adapter = MemoryAdapter(board)
    first = failure_comment(s, attempt=1, delay_ms=10_000)
    assert "every candidate failed" in first and "about 10 s (attempt 1)" in first
    assert "**a** failed: worker exited: boom" in first and "**b** failed: stalled" in first
    await announce_failed(adapter, todo(), first, timeout_s=5)
    await announce_failed(
        adapter, todo(), failure_comment(s, attempt=2, delay_ms=240_000), timeout_s=5
    )
    ((on, body),) = board.comments
    assert on == "MT-1" and has_marker(COMPARISON_COMMENT_KEY, body) and "about 4 min" in body
    board.fail_next.append(TrackerError("tracker_status", "HTTP 502"))
    await announce_failed(adapter, todo(), first, timeout_s=5)  # logged, never raised
