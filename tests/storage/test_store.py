"""The SQLite state store: schema and migrations, writes through the writer thread, reads at
startup, and one clear error for every store that cannot be used (real SQLite, real files)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from symphony.storage import StateStore, StorageError, reset_storage
from symphony.storage import store as store_module
from symphony.storage.errors import (
    STORAGE_CORRUPT,
    STORAGE_LOCKED,
    STORAGE_NEWER_SCHEMA,
    STORAGE_READ_ONLY,
)
from symphony.storage.schema import MIGRATIONS, SCHEMA_VERSION
from symphony.storage.writes import (
    HoldDropped,
    HoldSaved,
    ResumeSettled,
    RetryDropped,
    RetrySaved,
    RunEnded,
    RunProgress,
    RunStarted,
    TotalsSaved,
)
from tests.support.read_only import read_only_directory
from tests.support.waiting import wait_until_sync

T0 = datetime(2026, 3, 1, 12, 0, 0, 250_000, tzinfo=UTC)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "state.sqlite"


@pytest.fixture
def store(path: Path) -> Iterator[StateStore]:
    opened = StateStore.open(path)
    opened.start()
    try:
        yield opened
    finally:
        opened.close()


def ended(run_id: int, outcome: str, *, resume: bool = False, at: datetime = T0) -> RunEnded:
    return RunEnded(
        run_id=run_id,
        ended_at=at + timedelta(minutes=5),
        outcome=outcome,
        error=None if outcome == "succeeded" else f"{outcome} because",
        thread_id="thread-1",
        session_ids=("thread-1-turn-1", "thread-1-turn-2"),
        turns=2,
        input_tokens=10,
        output_tokens=5,
        total_tokens=15,
        workspace="/ws/MT-1",
        worker_host=None,
        resume=resume,
    )


def test_a_new_store_is_created_in_wal_mode_at_the_latest_schema(path: Path) -> None:
    StateStore.open(path).close()
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        db.close()
    assert tables >= {"runs", "retries", "totals", "requests", "steers", "proofs"}


def test_migrations_run_in_order_from_the_version_found(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    StateStore.open(path).close()
    later = (*MIGRATIONS, "CREATE TABLE later_feature (id TEXT PRIMARY KEY)")
    monkeypatch.setattr(store_module, "MIGRATIONS", later)
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", len(later))
    opened = StateStore.open(path)
    opened.close()
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(later)
        assert db.execute("SELECT count(*) FROM later_feature").fetchone()[0] == 0
    finally:
        db.close()


def test_writes_come_back_at_the_next_start(path: Path, store: StateStore) -> None:
    store.submit(RunStarted(7, "id-1", "MT-1", "https://t/MT-1", None, T0))
    store.submit(RunProgress(7, 4242, 99, "boot", "thread-1"))
    store.submit(ended(7, "failed"))
    store.submit(RunStarted(8, "id-1", "MT-1", "https://t/MT-1", 1, T0 + timedelta(hours=1)))
    store.submit(RunProgress(8, 4343, 100, "boot", "thread-2"))
    due = T0 + timedelta(seconds=40)
    store.submit(RetrySaved("id-2", "MT-2", None, 3, due, "failure", "x", "ci@build-2:2222"))
    store.submit(RetrySaved("id-3", "MT-3", None, 1, T0, "continuation", None))
    store.submit(RetryDropped("id-3"))
    store.submit(TotalsSaved(100, 50, 150, 12.5))
    assert store.flush()
    store.close()

    again = StateStore.open(path)
    try:
        loaded = again.load()
    finally:
        again.close()
    first, second = loaded.runs
    assert (first.run_id, first.attempt, first.outcome, first.error) == (
        7,
        None,
        "failed",
        "failed because",
    )
    assert first.started_at == T0 and first.ended_at == T0 + timedelta(minutes=5)
    assert first.session_ids == ("thread-1-turn-1", "thread-1-turn-2")
    assert (first.turns, first.total_tokens, first.workspace) == (2, 15, "/ws/MT-1")
    # The live run: what a restart needs to kill its agent and continue its thread.
    assert second.ended_at is None and second.outcome is None
    assert (second.pgid, second.pgid_started, second.boot_id) == (4343, 100, "boot")
    assert second.thread_id == "thread-2" and second.attempt == 1
    [retry] = loaded.retries
    assert (retry.issue_id, retry.attempt, retry.kind, retry.error) == ("id-2", 3, "failure", "x")
    assert retry.due_at == T0 + timedelta(seconds=40)
    assert retry.worker_host == "ci@build-2:2222"
    assert loaded.totals.total_tokens == 150 and loaded.totals.seconds_running == 12.5
    assert loaded.max_run_id == 8


def test_costs_of_runs_and_the_totals_come_back(path: Path, store: StateStore) -> None:
    store.submit(RunStarted(1, "id-1", "MT-1", None, None, T0))
    store.submit(replace(ended(1, "succeeded"), cost_usd=1.25))
    store.submit(RunStarted(2, "id-1", "MT-1", None, None, T0))
    store.submit(ended(2, "failed"))  # an agent whose cost is unknown
    store.submit(TotalsSaved(1, 2, 3, 4.0, 1.25))
    assert store.flush()
    loaded = store.load()
    assert [r.cost_usd for r in loaded.runs] == [1.25, None]
    assert loaded.totals.cost_usd == 1.25


def test_a_settled_resume_is_not_offered_again(path: Path, store: StateStore) -> None:
    store.submit(RunStarted(1, "id-1", "MT-1", None, None, T0))
    store.submit(ended(1, "interrupted", resume=True))
    assert store.flush()
    assert [r.resume for r in store.load().runs] == [True]
    store.submit(ResumeSettled("id-1"))
    assert store.flush()
    assert [r.resume for r in store.load().runs] == [False]


def test_a_failed_write_is_retried_until_it_lands(
    path: Path, store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "RETRY_FIRST_S", 0.05)
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_S", 0.05)
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock: writes fail
        store.submit(TotalsSaved(1, 2, 3, 4.0))
        wait_until_sync(lambda: store.failed_batches >= 1, "a failed batch", timeout=10)
        blocker.execute("ROLLBACK")
    finally:
        blocker.close()
    assert store.flush(timeout_s=10)
    assert store.load().totals.total_tokens == 3


def test_a_second_service_on_the_same_store_is_refused(path: Path, store: StateStore) -> None:
    with pytest.raises(StorageError) as caught:
        StateStore.open(path)
    assert caught.value.code == STORAGE_LOCKED
    assert str(path) in caught.value.message and "another process" in caught.value.message


def test_a_store_another_process_holds_locked_is_refused(path: Path) -> None:
    StateStore.open(path).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys\n"
            f"db = sqlite3.connect({str(path)!r}, isolation_level=None)\n"
            "db.execute('BEGIN EXCLUSIVE')\n"
            "print('locked', flush=True)\n"
            "sys.stdin.readline()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(StorageError) as caught:
            StateStore.open(path)
    finally:
        holder.communicate("\n", timeout=10)
    assert caught.value.code == STORAGE_LOCKED
    assert str(path) in caught.value.message


def test_a_corrupt_store_is_refused_with_the_way_out(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a database, it only has a name like one" * 100)
    with pytest.raises(StorageError) as caught:
        StateStore.open(path)
    error = caught.value
    assert error.code == STORAGE_CORRUPT
    assert str(path) in error.message and "symphony --reset-storage" in error.message
    assert "state.sqlite.<timestamp>.bak" in error.message


def test_a_store_from_a_newer_symphony_is_refused(path: Path) -> None:
    StateStore.open(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(StorageError) as caught:
        StateStore.open(path)
    error = caught.value
    assert error.code == STORAGE_NEWER_SCHEMA
    assert f"schema version {SCHEMA_VERSION + 1}" in error.message
    assert str(path) in error.message and "--reset-storage" in error.message


def test_a_store_in_a_read_only_directory_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "state"
    directory.mkdir()
    path = directory / "state.sqlite"
    with read_only_directory(directory), pytest.raises(StorageError) as caught:
        StateStore.open(path)
    assert caught.value.code == STORAGE_READ_ONLY
    assert str(path) in caught.value.message and "storage.path" in caught.value.message


def test_reset_moves_the_store_and_its_wal_aside(path: Path) -> None:
    opened = StateStore.open(path)
    opened.start()
    opened.submit(TotalsSaved(1, 1, 2, 0.0))
    assert opened.flush()
    with pytest.raises(StorageError) as caught:
        reset_storage(path)  # a running service holds it
    assert caught.value.code == STORAGE_LOCKED
    opened.close()

    moment = datetime(2026, 3, 1, 8, 9, 10, tzinfo=UTC)
    moved = reset_storage(path, now=moment)
    assert moved == path.with_name("state.sqlite.20260301T080910Z.bak")
    assert moved.exists() and not path.exists()
    assert not path.with_name("state.sqlite-wal").exists()
    fresh = StateStore.open(path)
    try:
        assert fresh.load().totals.total_tokens == 0
    finally:
        fresh.close()
    assert reset_storage(tmp := path.with_name("absent.sqlite")) is None, tmp


@dataclass
class FullDisk:
    """A write that fails like SQLite on a full disk until ``failures`` runs out."""

    failures: int

    def apply(self, db: sqlite3.Connection) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise sqlite3.OperationalError("database or disk is full")
        db.execute("INSERT OR REPLACE INTO totals VALUES (1, 1, 1, 2, 0.5, 0.25)")


def test_a_full_disk_is_logged_and_the_batch_written_once_space_is_back(
    store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "RETRY_FIRST_S", 0.01)
    write = FullDisk(failures=3)
    store.submit(RetrySaved("id-1", "MT-1", None, 1, T0, "failure", "x"))
    store.submit(write)
    assert store.flush(timeout_s=10)
    assert write.failures == 0 and store.failed_batches == 3
    loaded = store.load()
    # The batch is one transaction: what came before the failing write was not lost either.
    assert [r.issue_id for r in loaded.retries] == ["id-1"]
    assert loaded.totals.total_tokens == 2


def test_holds_are_kept_until_dropped(path: Path, store: StateStore) -> None:
    store.submit(
        HoldSaved(
            "id-1",
            "MT-1",
            "https://t/MT-1",
            "no_progress",
            "why",
            T0,
            "agent.max_unproductive_turns",
            3.0,
        )
    )
    store.submit(HoldSaved("id-2", "MT-2", None, "budget_exhausted", "spent", T0, None, None))
    store.submit(HoldSaved("id-3", "MT-3", None, "no_progress", "gone", T0, None, None))
    store.submit(HoldDropped("id-3"))
    assert store.flush()
    first, second = store.load().holds
    assert (first.issue_id, first.reason, first.message, first.since) == (
        "id-1",
        "no_progress",
        "why",
        T0,
    )
    assert (first.limit_key, first.limit_value) == ("agent.max_unproductive_turns", 3.0)
    assert (second.issue_id, second.limit_key, second.limit_value) == ("id-2", None, None)
