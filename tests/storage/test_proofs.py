"""Stored proofs (schema v3) and the ProofBook, in the store and in memory."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from symphony.orchestrator.proofs import (
    MemoryProofBook,
    ProofBook,
    ProofRecord,
    StoredProofBook,
)
from symphony.storage import StateStore
from symphony.storage.proofs import ProofSaved, read_proof
from symphony.storage.schema import MIGRATIONS, SCHEMA_VERSION

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def proof(n: int = 1, *, at: datetime = T0, failures: int = 0, **body: object) -> ProofRecord:
    return ProofRecord(
        issue_id=f"id-{n}",
        identifier=f"MT-{n}",
        created_at=at,
        body={"base": "a" * 40, "files": [{"path": "x.py"}], **body},
        diff="diff --git a/x.py b/x.py\n+ünïcode\n",
        verify_failures=failures,
    )


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


@pytest.fixture
def store(path: Path) -> Iterator[StateStore]:
    opened = StateStore.open(path)
    opened.start()
    yield opened
    opened.close()


@pytest.fixture(params=["memory", "store"])
async def book(request: pytest.FixtureRequest, path: Path) -> AsyncIterator[ProofBook]:
    clock = lambda: T0 + timedelta(hours=1)  # noqa: E731
    if request.param == "memory":
        yield MemoryProofBook(clock=clock)
        return
    opened = StateStore.open(path)
    opened.start()
    yield StoredProofBook(opened, clock=clock)
    opened.close()


async def test_a_saved_proof_is_read_back_by_identifier_and_issue(book: ProofBook) -> None:
    assert await book.get("MT-1") is None
    assert await book.diff("MT-1") is None
    await book.save(proof(1, failures=1))
    got = await book.get("MT-1")
    assert got is not None
    assert (got.issue_id, got.body["files"], got.verify_failures) == ("id-1", [{"path": "x.py"}], 1)
    assert got.created_at == T0
    assert await book.diff("MT-1") == "diff --git a/x.py b/x.py\n+ünïcode\n"
    assert await book.of_issue("id-1") == got
    assert await book.body("MT-1") == got.body
    assert await book.get("MT-2") is None and await book.body("MT-2") is None


async def test_a_later_hand_off_replaces_the_proof(book: ProofBook) -> None:
    await book.save(proof(1, note="first"))
    await book.save(proof(1, at=T0 + timedelta(minutes=5), note="second", failures=0))
    got = await book.get("MT-1")
    assert got is not None and got.body["note"] == "second"


async def test_reset_is_needed_once_per_hand_off(book: ProofBook) -> None:
    assert not await book.needs_reset("id-1")  # never handed off
    await book.save(proof(1))
    assert await book.needs_reset("id-1")
    await book.mark_reset("id-1")
    assert not await book.needs_reset("id-1")
    got = await book.of_issue("id-1")
    assert got is not None and got.reset_at == T0 + timedelta(hours=1)
    await book.mark_reset("id-1")  # again: the first reset time stays
    got = await book.of_issue("id-1")
    assert got is not None and got.reset_at == T0 + timedelta(hours=1)
    await book.save(proof(1, at=T0 + timedelta(hours=2)))  # a new hand-off
    assert await book.needs_reset("id-1")
    await book.mark_reset("id-9")  # no proof: nothing to mark
    assert not await book.needs_reset("id-9")


async def test_the_memory_book_keeps_the_newest_proofs_only() -> None:
    book = MemoryProofBook(limit=2)
    for n in (1, 2, 3):
        await book.save(proof(n))
    assert await book.get("MT-1") is None
    assert await book.get("MT-3") is not None


def test_a_v2_store_upgrades_to_proofs(path: Path) -> None:
    db = sqlite3.connect(path)
    try:
        for version in (0, 1):
            db.executescript(
                f"BEGIN; {MIGRATIONS[version]}; PRAGMA user_version = {version + 1}; COMMIT;"
            )
    finally:
        db.close()
    opened = StateStore.open(path)
    opened.start()
    opened.submit(ProofSaved("id-1", "MT-1", T0, {"turns": 2}, "", 1))
    opened.close()
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        db.close()
    got = read_proof(path, identifier="MT-1")
    assert got is not None and (got.body, got.verify_failures, got.reset_at) == (
        {"turns": 2},
        1,
        None,
    )


def test_the_store_keeps_proofs_across_a_restart(path: Path, store: StateStore) -> None:
    store.submit(ProofSaved("id-1", "MT-1", T0, {"turns": 1}, "d", 0))
    store.close()
    reopened = StateStore.open(path)
    try:
        got = read_proof(path, issue_id="id-1")
        light = read_proof(path, identifier="MT-1", with_diff=False)
    finally:
        reopened.close()
    assert got is not None and got.identifier == "MT-1" and got.diff == "d"
    # Without the diff: everything else as stored, the diff not read.
    assert light is not None and light.diff == "" and light.body == got.body
