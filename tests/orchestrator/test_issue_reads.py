"""Reads by id asked for together share one tracker request."""

from __future__ import annotations

import asyncio

import pytest

from symphony.issue import Issue
from symphony.orchestrator.issue_reads import IssueReads
from symphony.trackers.base import TrackerError
from tests.support.memory_tracker import MemoryAdapter, MemoryBoard


def issue(n: int) -> Issue:
    return Issue(id=f"id-{n}", identifier=f"MT-{n}", title="t", state="Todo", dispatchable=True)


async def test_reads_started_together_make_one_request() -> None:
    board = MemoryBoard()
    for n in (1, 2, 3):
        board.put(issue(n))
    adapter = MemoryAdapter(board)
    reads = IssueReads()
    results = await asyncio.wait_for(
        asyncio.gather(*(reads.read(adapter, i) for i in ("id-1", "id-2", "id-2", "id-9"))), 5
    )
    assert [r.identifier if r else None for r in results] == ["MT-1", "MT-2", "MT-2", None]
    assert board.calls == [("ids", ("id-1", "id-2", "id-9"))]
    # A read asked for later is a request of its own.
    assert (await asyncio.wait_for(reads.read(adapter, "id-3"), 5)) == board.issues["id-3"]
    assert board.calls[-1] == ("ids", ("id-3",))


async def test_a_failed_shared_request_fails_every_read_of_it() -> None:
    board = MemoryBoard()
    board.put(issue(1))
    board.fail_next.append(TrackerError("tracker_status", "HTTP 503 from tracker"))
    adapter = MemoryAdapter(board)
    reads = IssueReads()
    first, second = reads.read(adapter, "id-1"), reads.read(adapter, "id-2")
    for waiter in (first, second):
        with pytest.raises(TrackerError):
            await asyncio.wait_for(waiter, 5)
