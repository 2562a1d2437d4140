"""One SQLite connection to a board, safe to share between the service and CLI processes.

Why it is safe: WAL lets readers run while one writer writes; every write transaction starts with
``BEGIN IMMEDIATE`` so two writers queue on the lock instead of deadlocking on a lock upgrade;
``busy_timeout`` waits for the lock inside SQLite, and a bounded retry with backoff covers the
busy cases SQLite does not wait for. Transactions are short: one operation each.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from symphony.trackers.local.errors import BoardUnavailable
from symphony.trackers.local.schema import MIGRATIONS, SCHEMA_VERSION

_LOGGER = "symphony.trackers.local"

T = TypeVar("T")

BUSY_TIMEOUT_S = 5.0
RETRY_DEADLINE_S = 20.0
_BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


def _is_busy(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return (code & 0xFF) in _BUSY_CODES
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class BoardDatabase:
    """A lazily opened, lock-guarded connection; ``run`` executes one transaction with retries."""

    def __init__(
        self,
        path: Path,
        *,
        busy_timeout_s: float = BUSY_TIMEOUT_S,
        retry_deadline_s: float = RETRY_DEADLINE_S,
    ) -> None:
        self.path = path
        self._busy_timeout_s = busy_timeout_s
        self._retry_deadline_s = retry_deadline_s
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self.busy_retries = 0

    def run(self, fn: Callable[[sqlite3.Connection], T], *, write: bool) -> T:
        """Run ``fn`` inside one transaction; a busy database is retried until the deadline."""
        deadline = time.monotonic() + self._retry_deadline_s
        attempt = 0
        with self._lock:
            while True:
                try:
                    conn = self._connection()
                    return self._transaction(conn, fn, write=write)
                except sqlite3.OperationalError as exc:
                    if not _is_busy(exc):
                        raise self._unavailable(exc) from exc
                    attempt += 1
                    self.busy_retries += 1
                    if time.monotonic() >= deadline:
                        raise BoardUnavailable(
                            f"the board {self.path} stayed busy for "
                            f"{self._retry_deadline_s:.0f}s ({attempt} attempts); another "
                            "process is holding a write lock — try again",
                            retryable=True,
                        ) from exc
                    # Jittered exponential backoff so competing writers stop colliding.
                    time.sleep(min(0.2, 0.005 * 2 ** min(attempt, 6)) * (0.5 + random.random()))
                except sqlite3.DatabaseError as exc:
                    raise self._unavailable(exc) from exc

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    @staticmethod
    def _transaction(
        conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T], *, write: bool
    ) -> T:
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            result = fn(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return result

    def _connection(self) -> sqlite3.Connection:
        if self._conn is not None:
            return self._conn
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BoardUnavailable(
                f"cannot create the board's directory {self.path.parent}: {exc.strerror}"
            ) from None
        if self.path.is_dir():
            raise BoardUnavailable(
                f"the board path {self.path} is a directory; point tracker.provider.path at a file"
            )
        conn = sqlite3.connect(
            self.path,
            timeout=self._busy_timeout_s,
            isolation_level=None,
            check_same_thread=False,
        )
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            self._migrate(conn)
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = self._user_version(conn)
        if version == SCHEMA_VERSION:
            return
        self._check_not_newer(version)
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while we waited for the write lock.
            version = self._user_version(conn)
            self._check_not_newer(version)
            for step in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[step]:
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        if version != SCHEMA_VERSION:
            # Imported here: the board CLI opens the database without the logging stack.
            from symphony.logs import get_logger

            get_logger(_LOGGER).info(
                "local board schema migrated",
                path=self.path,
                from_version=version,
                to_version=SCHEMA_VERSION,
            )

    @staticmethod
    def _user_version(conn: sqlite3.Connection) -> int:
        row = conn.execute("PRAGMA user_version").fetchone()
        return int(row[0])

    def _check_not_newer(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise BoardUnavailable(
                f"the board {self.path} uses schema version {version}, newer than this Symphony "
                f"understands ({SCHEMA_VERSION}); upgrade Symphony or use another board file"
            )

    def _unavailable(self, exc: sqlite3.Error) -> BoardUnavailable:
        return BoardUnavailable(f"cannot use the board {self.path}: {exc}")
