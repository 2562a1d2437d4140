from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from symphony.core.candidates import CandidateSet
from symphony.storage import StateStore, StorageError
from symphony.storage.candidates import CandidateSetDropped, CandidateSetSaved

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state.sqlite"


@pytest.fixture
def store(path: Path) -> Iterator[StateStore]:
    opened = StateStore.open(path)
    opened.start()
    try:
        yield opened
    finally:
        opened.close()


def judged_set() -> CandidateSet:
    s = CandidateSet.start("id-1", "SYM-1", 2)
    s = s.with_candidate(
        "a",
        status="handed_off",
        workspace_path="/ws/SYM-1.a",
        thread_id="th-a",
        summary="wrote a.txt",
        verify="passed",
        verify_output="3 passed",
        files=("a.txt",),
        tokens=120,
        cost_usd=0.25,
        rank=2,
        reason="fine",
    )
    s = s.with_candidate(
        "b", status="failed", workspace_path="/ws/SYM-1.b", error="boom", attempt=2
    )
    return CandidateSet(
        s.issue_id, s.identifier, s.candidates, judged=True, judge_note="ranked by the judge"
    )


def test_candidate_sets_come_back_at_the_next_start(path: Path, store: StateStore) -> None:
    saved = judged_set()
    other = CandidateSet.start("id-2", "SYM-2", 3)
    store.submit(CandidateSetSaved(other, T0 + timedelta(seconds=1)))
    store.submit(CandidateSetSaved(CandidateSet.start("id-1", "SYM-1", 2), T0))
    # A later save replaces the whole set, candidates included; a retried batch changes nothing.
    store.submit(CandidateSetSaved(saved, T0))
    store.submit(CandidateSetSaved(saved, T0))
    assert store.flush()
    loaded = store.load().candidate_sets
    assert loaded == (saved, other)


def test_a_dropped_set_is_gone(store: StateStore) -> None:
    store.submit(CandidateSetSaved(judged_set(), T0))
    store.submit(CandidateSetDropped("id-1"))
    assert store.flush()
    assert store.load().candidate_sets == ()


def test_an_unreadable_candidate_row_is_a_corrupt_store(path: Path, store: StateStore) -> None:
    store.submit(CandidateSetSaved(judged_set(), T0))
    assert store.flush()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE candidates SET status = 'lost' WHERE name = 'a'")
    with pytest.raises(StorageError, match="status 'lost'"):
        store.load()


def test_a_row_kept_before_attempts_were_reads_as_a_first_attempt(
    path: Path, store: StateStore
) -> None:
    store.submit(CandidateSetSaved(CandidateSet.start("id-1", "SYM-1", 1), T0))
    assert store.flush()
    with sqlite3.connect(path) as db:
        db.execute('UPDATE candidates SET body = \'{"error": "boom"}\'')
    (loaded,) = store.load().candidate_sets
    assert (loaded.candidates[0].attempt, loaded.candidates[0].error) == (0, "boom")
