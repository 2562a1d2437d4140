"""The SQLite state store: opened and read once at startup, written by one writer thread.

The event loop never waits on the disk: ``submit`` only queues a write. The writer thread
applies whatever has queued up in one transaction; a failed batch (disk full, an I/O error, a
lock held too long by another program) is logged and applied again later with backoff, never
raising into the service. WAL mode with ``synchronous=NORMAL`` survives a killed process; a
power loss may lose the last transactions.

One service at a time: ``<path>.lock`` is held (``flock``) while the store is open, so a second
service on the same file gets a clear error instead of interleaved state.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from symphony.logs import get_logger
from symphony.storage import errors
from symphony.storage.candidates import load_candidate_sets
from symphony.storage.human import request_from_row, steer_from_row
from symphony.storage.records import (
    StoredHold,
    StoredRetry,
    StoredRun,
    StoredState,
    StoredTotals,
)
from symphony.storage.schema import MIGRATIONS, SCHEMA_VERSION
from symphony.storage.writes import Write, parse_stamp

log = get_logger("symphony.storage")

# How long a statement waits for another connection's lock before it fails.
BUSY_TIMEOUT_S = 2.0
# A failed batch is tried again after this delay, doubled up to the cap while it keeps failing.
RETRY_FIRST_S = 0.5
RETRY_MAX_S = 30.0
# After the first write of a batch, what else arrives this soon joins it: one transaction (and
# one wake-up of this thread) for a burst of run starts and ends instead of one per write.
BATCH_WINDOW_S = 0.1
CLOSE_TIMEOUT_S = 10.0
# Human requests and steers read back at startup (the human desk keeps as many in memory).
HUMAN_RECORDS_LOADED = 2_000
STEERS_LOADED = 200
_STOP = object()


def lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def _translate(path: Path, exc: sqlite3.Error) -> errors.StorageError:
    text = str(exc)
    lowered = text.lower()
    if "locked" in lowered or "busy" in lowered:
        return errors.locked(path)
    if "readonly" in lowered or "read-only" in lowered or "unable to open" in lowered:
        return errors.read_only(path, text)
    return errors.corrupt(path, text)


class StateStore:
    """Use ``StateStore.open(path)``, then ``load()`` once, ``start()``, ``submit()``,
    ``close()``."""

    def __init__(self, path: Path, lock_fd: int) -> None:
        self.path = path
        self._lock_fd = lock_fd
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._wake = threading.Event()
        self.failed_batches = 0  # for tests and diagnostics
        self.cpu_s = 0.0  # the writer thread's CPU time so far (bench/storage.py)

    # --- opening ----------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path) -> StateStore:
        """Create or migrate the store. Raises ``StorageError`` (one clear sentence) when the
        file is corrupt, locked, not writable or from a newer Symphony."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock_path(path), os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise errors.read_only(path, exc.strerror or str(exc)) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise errors.locked(path) from None
        try:
            cls._prepare(path)
        except BaseException:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
            raise
        return cls(path, fd)

    @staticmethod
    def inspect(path: Path) -> bool:
        """Check the file without changing it (``symphony doctor``): False when it does not
        exist yet, True when a service could open it; ``StorageError`` otherwise. A lock held
        by a running service is ``storage_locked``."""
        if not path.exists():
            parent = next((p for p in (path.parent, *path.parent.parents) if p.exists()), None)
            if parent is None or not os.access(parent, os.W_OK):
                raise errors.read_only(path, f"{path.parent} cannot be created")
            return False
        if not os.access(path, os.W_OK):
            raise errors.read_only(path, "the file is read-only")
        lock = lock_path(path)
        if lock.exists():
            try:
                fd = os.open(lock, os.O_RDONLY)
            except OSError as exc:
                raise errors.read_only(path, exc.strerror or str(exc)) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                raise errors.locked(path) from None
            finally:
                os.close(fd)
        try:
            db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
            try:
                found = db.execute("PRAGMA user_version").fetchone()[0]
                if found > SCHEMA_VERSION:
                    raise errors.newer_schema(path, found, SCHEMA_VERSION)
                check = db.execute("PRAGMA quick_check(1)").fetchone()[0]
            finally:
                db.close()
        except sqlite3.Error as exc:
            raise _translate(path, exc) from None
        if check != "ok":
            raise errors.corrupt(path, f"integrity check: {check}")
        return True

    @classmethod
    def _prepare(cls, path: Path) -> None:
        if path.exists() and not os.access(path, os.W_OK):
            raise errors.read_only(path, "the file is read-only")
        try:
            with _connection(path) as db:
                found = db.execute("PRAGMA user_version").fetchone()[0]
                if found > SCHEMA_VERSION:
                    raise errors.newer_schema(path, found, SCHEMA_VERSION)
                mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise errors.read_only(path, f"cannot switch to WAL mode (got {mode})")
                for version in range(found, SCHEMA_VERSION):
                    with db:
                        db.executescript(
                            f"BEGIN; {MIGRATIONS[version]}; PRAGMA user_version = {version + 1};"
                            " COMMIT;"
                        )
                # Catches a damaged file now rather than at the first write.
                check = db.execute("PRAGMA quick_check(1)").fetchone()[0]
                if check != "ok":
                    raise errors.corrupt(path, f"integrity check: {check}")
                # A program holding the write lock now would make every write fail later.
                db.execute("BEGIN IMMEDIATE")
                db.execute("ROLLBACK")
        except sqlite3.Error as exc:
            raise _translate(path, exc) from None

    def load(self) -> StoredState:
        """Everything kept, read once at startup (before the event loop is busy)."""
        try:
            with _connection(self.path) as db:
                runs = tuple(_run(row) for row in db.execute("SELECT * FROM runs ORDER BY id"))
                retries = tuple(
                    StoredRetry(
                        issue_id=row["issue_id"],
                        identifier=row["identifier"],
                        issue_url=row["issue_url"],
                        attempt=row["attempt"],
                        due_at=_required_time(row["due_at"]),
                        kind=row["kind"],
                        error=row["error"],
                        worker_host=row["worker_host"],
                    )
                    for row in db.execute("SELECT * FROM retries ORDER BY due_at")
                )
                holds = tuple(
                    StoredHold(
                        issue_id=row["issue_id"],
                        identifier=row["identifier"],
                        issue_url=row["issue_url"],
                        reason=row["reason"],
                        message=row["message"],
                        since=_required_time(row["since"]),
                        limit_key=row["limit_key"],
                        limit_value=row["limit_value"],
                    )
                    for row in db.execute("SELECT * FROM holds ORDER BY since")
                )
                budget_resets = {
                    row["issue_id"]: _required_time(row["at"])
                    for row in db.execute("SELECT * FROM budget_resets")
                }
                row = db.execute("SELECT * FROM totals WHERE id = 1").fetchone()
                totals = (
                    StoredTotals(
                        row["input_tokens"],
                        row["output_tokens"],
                        row["total_tokens"],
                        row["seconds_running"],
                        row["cost_usd"],
                    )
                    if row is not None
                    else StoredTotals()
                )
                # The newest ones, as many as the human desk keeps in memory; oldest first.
                requests = tuple(
                    request_from_row(row)
                    for row in db.execute(
                        "SELECT * FROM (SELECT rowid AS seq, * FROM requests "
                        "ORDER BY created_at DESC, rowid DESC LIMIT ?) ORDER BY created_at, seq",
                        (HUMAN_RECORDS_LOADED,),
                    )
                )
                steers = tuple(
                    steer_from_row(row)
                    for row in db.execute(
                        "SELECT * FROM (SELECT rowid AS seq, * FROM steers "
                        "ORDER BY at DESC, rowid DESC LIMIT ?) ORDER BY at, seq",
                        (STEERS_LOADED,),
                    )
                )
                candidate_sets = load_candidate_sets(db)
        except sqlite3.Error as exc:
            raise _translate(self.path, exc) from None
        except (ValueError, TypeError, KeyError) as exc:
            raise errors.corrupt(self.path, f"unreadable row: {exc}") from None
        return StoredState(
            runs=runs,
            retries=retries,
            holds=holds,
            budget_resets=budget_resets,
            totals=totals,
            requests=requests,
            steers=steers,
            candidate_sets=candidate_sets,
        )

    # --- writing ----------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._write_loop, name="symphony-storage", daemon=True
            )
            self._thread.start()

    def submit(self, write: Write) -> None:
        """Queue a write; returns at once (the writer thread applies it)."""
        if not self._closed:
            self._queue.put(write)

    def flush(self, timeout_s: float = CLOSE_TIMEOUT_S) -> bool:
        """Wait until everything queued so far is written (tests, shutdown)."""
        done = threading.Event()
        self._queue.put(done)
        self._wake.set()
        if self._thread is None:
            self.start()
        return done.wait(timeout_s)

    def close(self, timeout_s: float = CLOSE_TIMEOUT_S) -> None:
        """Write what is queued (bounded by ``timeout_s``), stop the writer, release the lock."""
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            self._queue.put(_STOP)
            self._wake.set()
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.error("state store writes still pending at exit", path=self.path)
        with contextlib.suppress(OSError):
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)

    def _write_loop(self) -> None:
        db: sqlite3.Connection | None = None
        pending: list[Write] = []
        waiters: list[threading.Event] = []
        delay = RETRY_FIRST_S
        stopping = False
        while True:
            if not pending and not waiters:
                if stopping:
                    break
                item = self._queue.get()
                stopping = self._take(item, pending, waiters) or stopping
                if not stopping and not waiters:
                    self._wake.wait(BATCH_WINDOW_S)  # cut short by a flush or a close
                    self._wake.clear()
            # Everything else queued meanwhile goes into the same transaction.
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                stopping = self._take(item, pending, waiters) or stopping
            try:
                if db is None:
                    db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
                    db.execute("PRAGMA synchronous=NORMAL")
                if pending:
                    db.execute("BEGIN IMMEDIATE")
                    try:
                        for write in pending:
                            write.apply(db)
                        db.execute("COMMIT")
                    except BaseException:
                        with contextlib.suppress(sqlite3.Error):
                            db.execute("ROLLBACK")
                        raise
                pending.clear()
                delay = RETRY_FIRST_S
            except (sqlite3.Error, OSError) as exc:
                self.failed_batches += 1
                log.error(
                    "state store write failed, retrying",
                    path=self.path,
                    error=f"{type(exc).__name__}: {exc}",
                    writes=len(pending),
                    retry_in_s=delay,
                )
                if db is not None:
                    with contextlib.suppress(sqlite3.Error):
                        db.close()
                    db = None
                if stopping and delay > RETRY_FIRST_S:
                    # Shutting down: one more try after a short pause, then give up.
                    log.error("state store writes lost at exit", writes=len(pending))
                    pending.clear()
                threading.Event().wait(delay)
                delay = min(delay * 2, RETRY_MAX_S)
                continue
            for waiter in waiters:
                waiter.set()
            waiters.clear()
            self.cpu_s = time.thread_time()
        if db is not None:
            with contextlib.suppress(sqlite3.Error):
                db.close()

    @staticmethod
    def _take(item: Any, pending: list[Write], waiters: list[threading.Event]) -> bool:
        if item is _STOP:
            return True
        if isinstance(item, threading.Event):
            waiters.append(item)
        else:
            pending.append(item)
        return False


@contextlib.contextmanager
def _connection(path: Path) -> Iterator[sqlite3.Connection]:
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    db.row_factory = sqlite3.Row
    try:
        yield db
    finally:
        db.close()


def _required_time(text: str) -> datetime:
    value = parse_stamp(text)
    if value is None:
        raise ValueError("missing timestamp")
    return value


def _run(row: sqlite3.Row) -> StoredRun:
    return StoredRun(
        run_id=row["id"],
        issue_id=row["issue_id"],
        identifier=row["identifier"],
        issue_url=row["issue_url"],
        attempt=row["attempt"],
        started_at=_required_time(row["started_at"]),
        ended_at=parse_stamp(row["ended_at"]),
        outcome=row["outcome"],
        error=row["error"],
        thread_id=row["thread_id"],
        session_ids=tuple(json.loads(row["session_ids"] or "[]")),
        turns=row["turns"],
        input_tokens=row["input_tokens"],
        output_tokens=row["output_tokens"],
        total_tokens=row["total_tokens"],
        workspace=row["workspace"],
        worker_host=row["worker_host"],
        pgid=row["pgid"],
        pgid_started=row["pgid_started"],
        boot_id=row["boot_id"],
        resume=bool(row["resume"]),
        cost_usd=row["cost_usd"],
    )


def reset_storage(path: Path, *, now: datetime | None = None) -> Path | None:
    """Move the store (and its WAL files) aside to ``<name>.<timestamp>.bak``; None when there
    is nothing to move. Raises ``StorageError`` when a running service holds it."""
    if not path.exists():
        return None
    try:
        fd = os.open(lock_path(path), os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise errors.read_only(path, exc.strerror or str(exc)) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise errors.locked(path) from None
        moment = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
        target = path.with_name(f"{path.name}.{moment}.bak")
        try:
            for suffix in ("-wal", "-shm"):
                side = path.with_name(path.name + suffix)
                if side.exists():
                    side.rename(target.with_name(target.name + suffix))
            path.rename(target)
        except OSError as exc:
            raise errors.read_only(path, exc.strerror or str(exc)) from None
        return target
    finally:
        os.close(fd)
