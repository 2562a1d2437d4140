"""Reads by id asked for together share one tracker request."""

from __future__ import annotations

import asyncio

import pytest

from symphony.issue import Issue, IssueComment
from symphony.orchestrator.issue_reads import IssueReads
from symphony.trackers.base import TrackerError
from tests.support.memory_tracker import (
    ConversationReadsMemoryAdapter,
    MemoryAdapter,
    MemoryBoard,
)


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


async def test_reads_with_comments_are_a_batch_of_their_own() -> None:
    board = MemoryBoard()
    for n in (1, 2):
        board.put(issue(n))
    board.threads["id-1"] = [IssueComment("rita", "Rework: the empty case crashes")]
    adapter = ConversationReadsMemoryAdapter(board)
    reads = IssueReads()
    assert reads.reads_comments(adapter) and not reads.reads_comments(MemoryAdapter(board))
    together = [reads.read(adapter, i, with_comments=True) for i in ("id-1", "id-2")]
    plain = reads.read(adapter, "id-1")
    first, second, alone = await asyncio.wait_for(asyncio.gather(*together, plain), 5)
    assert first is not None and [c.body for c in first.comments] == [
        "Rework: the empty case crashes"
    ]
    assert second is not None and second.comments == ()
    assert alone is not None and alone.comments == ()
    assert sorted(board.calls) == [("ids", ("id-1",)), ("ids+comments", ("id-1", "id-2"))]


async def test_with_comments_falls_back_to_a_plain_read_where_the_tracker_cannot() -> None:
    board = MemoryBoard()
    board.put(issue(1))
    reads = IssueReads()
    read = reads.read(MemoryAdapter(board), "id-1", with_comments=True)
    assert (await asyncio.wait_for(read, 5)) == board.issues["id-1"]
    assert board.calls == [("ids", ("id-1",))]
