"""Where proofs of work are kept: ``ProofBook``, in the state store or, without one, in memory.

One proof per issue, the one of its last hand-off (docs/review.md). Besides the JSON the API
shows and the diff, it keeps the count of consecutive failed ``hooks.verify`` runs (the verify
gate reads it at the next hand-off, also after a restart) and whether a workspace reset already
consumed the hand-off (``needs_reset`` / ``mark_reset``, for ``workspace.reset_states``).

Every read of the store runs in a thread on its own connection, every write goes through the
store's writer thread and is waited for (in a thread), so the event loop never waits on the disk
and a read after a save sees it.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from symphony.logs import get_logger
from symphony.storage import StateStore
from symphony.storage.proofs import ProofReset, ProofSaved, StoredProof, read_proof

log = get_logger("symphony.orchestrator.proofs")

# Proofs kept without a store (diffs are up to a few MB each): the oldest go first.
MEMORY_PROOFS = 200
WRITE_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class ProofRecord:
    issue_id: str
    identifier: str
    created_at: datetime
    body: dict[str, Any]
    diff: str = ""
    verify_failures: int = 0
    reset_at: datetime | None = None


class ProofBook(Protocol):
    async def save(self, record: ProofRecord) -> None:
        """Keep ``record`` as the issue's proof (a new hand-off: ``reset_at`` goes back to
        None)."""
        ...

    async def get(self, identifier: str) -> ProofRecord | None:
        """The newest proof of the identifier, None when there is none."""
        ...

    async def of_issue(self, issue_id: str) -> ProofRecord | None: ...

    async def body(self, identifier: str) -> dict[str, Any] | None:
        """The newest proof's JSON only (the API's ``proof``), None when there is none."""
        ...

    async def diff(self, identifier: str) -> str | None:
        """That proof's unified diff ("" when it has none), None when there is no proof."""
        ...

    async def needs_reset(self, issue_id: str) -> bool:
        """A proof exists whose hand-off no workspace reset consumed yet."""
        ...

    async def mark_reset(self, issue_id: str) -> None:
        """The workspace was reset for the issue's last hand-off."""
        ...


def _now() -> datetime:
    return datetime.now(UTC)


class MemoryProofBook:
    """Proofs for a service without durable state (``storage=None``); lost at exit."""

    def __init__(self, limit: int = MEMORY_PROOFS, clock: Callable[[], datetime] = _now) -> None:
        self._limit = limit
        self._clock = clock
        self._by_issue: OrderedDict[str, ProofRecord] = OrderedDict()

    async def save(self, record: ProofRecord) -> None:
        self._by_issue.pop(record.issue_id, None)
        self._by_issue[record.issue_id] = replace(record, reset_at=None)
        while len(self._by_issue) > self._limit:
            self._by_issue.popitem(last=False)

    async def get(self, identifier: str) -> ProofRecord | None:
        found = [r for r in self._by_issue.values() if r.identifier == identifier]
        return max(found, key=lambda r: r.created_at) if found else None

    async def of_issue(self, issue_id: str) -> ProofRecord | None:
        return self._by_issue.get(issue_id)

    async def body(self, identifier: str) -> dict[str, Any] | None:
        record = await self.get(identifier)
        return record.body if record is not None else None

    async def diff(self, identifier: str) -> str | None:
        record = await self.get(identifier)
        return record.diff if record is not None else None

    async def needs_reset(self, issue_id: str) -> bool:
        record = self._by_issue.get(issue_id)
        return record is not None and record.reset_at is None

    async def mark_reset(self, issue_id: str) -> None:
        record = self._by_issue.get(issue_id)
        if record is not None and record.reset_at is None:
            self._by_issue[issue_id] = replace(record, reset_at=self._clock())


class StoredProofBook:
    """Proofs in the state store (table ``proofs``, docs/storage.md)."""

    def __init__(self, store: StateStore, clock: Callable[[], datetime] = _now) -> None:
        self._store = store
        self._clock = clock

    async def save(self, record: ProofRecord) -> None:
        self._store.submit(
            ProofSaved(
                record.issue_id,
                record.identifier,
                record.created_at,
                record.body,
                record.diff,
                record.verify_failures,
            )
        )
        await self._written()

    async def get(self, identifier: str) -> ProofRecord | None:
        return await self._read(identifier=identifier)

    async def of_issue(self, issue_id: str) -> ProofRecord | None:
        return await self._read(issue_id=issue_id)

    async def body(self, identifier: str) -> dict[str, Any] | None:
        record = await self._read(identifier=identifier, with_diff=False)
        return record.body if record is not None else None

    async def diff(self, identifier: str) -> str | None:
        record = await self.get(identifier)
        return record.diff if record is not None else None

    async def needs_reset(self, issue_id: str) -> bool:
        record = await self.of_issue(issue_id)
        return record is not None and record.reset_at is None

    async def mark_reset(self, issue_id: str) -> None:
        self._store.submit(ProofReset(issue_id, self._clock()))
        await self._written()

    async def _written(self) -> None:
        if not await asyncio.to_thread(self._store.flush, WRITE_TIMEOUT_S):
            log.warning("proof write still pending", timeout_s=WRITE_TIMEOUT_S)

    async def _read(
        self, *, identifier: str | None = None, issue_id: str | None = None, with_diff: bool = True
    ) -> ProofRecord | None:
        try:
            stored = await asyncio.to_thread(
                functools.partial(
                    read_proof,
                    self._store.path,
                    identifier=identifier,
                    issue_id=issue_id,
                    with_diff=with_diff,
                )
            )
        except (sqlite3.Error, OSError, ValueError) as exc:
            # The store's writer logs and retries its own failures; a read says what it could.
            log.warning("proof read failed", error=f"{type(exc).__name__}: {exc}")
            return None
        return _record(stored) if stored is not None else None


def _record(stored: StoredProof) -> ProofRecord:
    return ProofRecord(
        issue_id=stored.issue_id,
        identifier=stored.identifier,
        created_at=stored.created_at,
        body=stored.body,
        diff=stored.diff,
        verify_failures=stored.verify_failures,
        reset_at=stored.reset_at,
    )
