"""Reads of single issues by id that start together share one tracker request.

A poll that dispatches a hundred summaries starts a hundred workers, and each reads its issue
whole before it begins (and again between turns). Asked one by one, that is a hundred requests
queued behind each other at the tracker; here the reads asked for in the same loop iteration go
out as one ``fetch_issues_by_ids`` per adapter (which pages by its own batch size). A worker's
first read of a polled summary also wants the comments for the prompt: with an adapter that
reads both at once (``ConversationReads``) those reads go out as ``fetch_issues_with_comments``.
"""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

from symphony.issue import Issue
from symphony.trackers.base import ConversationReads, TrackerAdapter

_Waiters = dict[str, list["asyncio.Future[Issue | None]"]]
# One batch per adapter and kind of read: with comments or without.
_Batch = tuple[TrackerAdapter, bool]


class IssueReads:
    def __init__(self) -> None:
        self._pending: dict[_Batch, _Waiters] = {}
        self._flush_scheduled = False
        self._tasks: set[asyncio.Task[Any]] = set()

    @staticmethod
    def reads_comments(adapter: TrackerAdapter) -> bool:
        """Whether ``read(..., with_comments=True)`` gives the issue's comments."""
        return isinstance(adapter, ConversationReads)

    def read(
        self, adapter: TrackerAdapter, issue_id: str, *, with_comments: bool = False
    ) -> asyncio.Future[Issue | None]:
        """The issue as ``adapter`` has it now; None when it is not visible. Raises what the
        adapter raised for the shared request. ``with_comments`` (when ``reads_comments``) fills
        in ``issue.comments`` too."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Issue | None] = loop.create_future()
        batch = (adapter, with_comments and self.reads_comments(adapter))
        self._pending.setdefault(batch, {}).setdefault(issue_id, []).append(waiter)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush)
        return waiter

    def _flush(self) -> None:
        self._flush_scheduled = False
        pending, self._pending = self._pending, {}
        loop = asyncio.get_running_loop()
        for (adapter, with_comments), waiters in pending.items():
            # A context of its own: the shared request belongs to no single issue's log lines.
            task = loop.create_task(
                self._fetch(adapter, waiters, with_comments),
                name="issue-reads",
                context=contextvars.Context(),
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _fetch(adapter: TrackerAdapter, waiters: _Waiters, with_comments: bool) -> None:
        try:
            if with_comments and isinstance(adapter, ConversationReads):
                issues = await adapter.fetch_issues_with_comments(list(waiters))
            else:
                issues = await adapter.fetch_issues_by_ids(list(waiters))
        except Exception as exc:
            for futures in waiters.values():
                for future in futures:
                    if not future.done():
                        future.set_exception(exc)
            return
        except asyncio.CancelledError:
            for futures in waiters.values():
                for future in futures:
                    future.cancel()
            raise
        found = {issue.id: issue for issue in issues}
        for issue_id, futures in waiters.items():
            for future in futures:
                if not future.done():
                    future.set_result(found.get(issue_id))
