"""``TrackerAdapter`` for the local board: the two reads plus the board's agent tools.

SQLite work runs in a worker thread (``asyncio.to_thread``) so a busy database never blocks the
event loop; the store's own retries and timeouts bound how long a call can take.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import watchfiles

from symphony.issue import Issue, IssueComment
from symphony.logs import get_logger
from symphony.tools import ToolContext, ToolResult, ToolSpec
from symphony.trackers.base import (
    MAX_PROMPT_COMMENTS,
    TRACKER_ISSUE_NOT_FOUND,
    TrackerError,
    UnknownState,
    has_marker,
    with_marker,
)
from symphony.trackers.local.errors import InvalidState, IssueNotFound, MalformedIssue
from symphony.trackers.local.normalize import to_issue
from symphony.trackers.local.settings import KIND, BoardSettings
from symphony.trackers.local.store import BoardStore
from symphony.trackers.local.tools import LocalTools, tool_specs

log = get_logger("symphony.trackers.local")

_T = TypeVar("_T")

# The author of the comments Symphony itself posts (IssueComments) and of its moves.
COMMENT_AUTHOR = "symphony"
# How long a burst of writes is gathered into one notice; small, since a poll of the board is
# cheap and a new card should start its agent at once.
CHANGE_DEBOUNCE_MS = 30
CHANGE_STEP_MS = 10


class LocalAdapter:
    kind = KIND

    def __init__(self, settings: BoardSettings, store: BoardStore | None = None) -> None:
        self.settings = settings
        self.store = store if store is not None else BoardStore(settings)
        self._tools = LocalTools(self.store)
        self._settings_recorded = False

    async def fetch_issues_by_states(self, state_names: Sequence[str]) -> list[Issue]:
        if not state_names:
            return []
        return await asyncio.to_thread(self._by_states, list(state_names))

    async def fetch_issues_by_ids(self, issue_ids: Sequence[str]) -> list[Issue]:
        if not issue_ids:
            return []
        return await asyncio.to_thread(self._by_ids, list(issue_ids))

    def secret_environment_names(self) -> frozenset[str]:
        return frozenset()

    def secret_values(self) -> frozenset[str]:
        return frozenset()

    def agent_tool_specs(self) -> list[ToolSpec]:
        return tool_specs(self.settings)

    async def execute_agent_tool(
        self, name: str, arguments: Any, context: ToolContext
    ) -> ToolResult:
        return await self._tools.execute(name, arguments, context)

    async def post_comment(self, issue_id: str, identifier: str, body: str) -> None:
        """``IssueComments``: a plain comment by ``symphony`` on the board issue."""
        write = partial(self.store.comment, issue_id, body, author=COMMENT_AUTHOR)
        await self._write(identifier, write)

    async def move_issue(self, issue_id: str, identifier: str, state: str) -> str:
        """``IssueWrites``: the move is recorded in the issue's history as made by ``symphony``."""
        write = partial(self.store.move, issue_id, state, actor=COMMENT_AUTHOR)
        record, _previous = await self._write(identifier, write)
        return record.state

    async def upsert_own_comment(self, issue_id: str, identifier: str, key: str, body: str) -> bool:
        """``IssueWrites``: Symphony's own comment of kind ``key``, created or replaced."""
        write = partial(
            self.store.upsert_marked,
            issue_id,
            with_marker(key, body),
            is_marked=partial(has_marker, key),
            author=COMMENT_AUTHOR,
        )
        _comment, created = await self._write(identifier, write)
        return created

    async def fetch_issue_comments(self, issue_id: str, identifier: str) -> list[IssueComment]:
        """``IssueConversation``: the newest comments, the workpad included, oldest first."""
        read = partial(self.store.recent_comments, issue_id, MAX_PROMPT_COMMENTS)
        comments = await self._write(identifier, read)
        return [IssueComment(c.author, c.body, c.created_at) for c in comments]

    async def _write(self, identifier: str, call: Callable[[], _T]) -> _T:
        """``call`` in a worker thread, with the board's own errors as the contract's."""
        try:
            return await asyncio.to_thread(call)
        except IssueNotFound as exc:
            raise TrackerError(
                TRACKER_ISSUE_NOT_FOUND,
                f"no issue {identifier} (id {exc.ref}) on the board {self.settings.db_path}; "
                "it was deleted, or the workflow points at another board",
            ) from None
        except InvalidState as exc:
            raise UnknownState(identifier, exc.state, self.settings.states) from None

    async def aclose(self) -> None:
        await asyncio.to_thread(self.store.close)

    async def watch_changes(self) -> AsyncIterator[None]:
        """A notice after every write to the board file: the CLI, the dashboard, agent tools,
        another process (``ChangeFeed``). SQLite in WAL mode writes the ``-wal`` file on commit."""
        db = self.settings.db_path
        names = {db.name, f"{db.name}-wal", f"{db.name}-journal"}

        def board_file(_change: watchfiles.Change, path: str) -> bool:
            return Path(path).name in names

        # The store creates the directory on first use, which may not have happened yet.
        await asyncio.to_thread(db.parent.mkdir, parents=True, exist_ok=True)
        async for _changes in watchfiles.awatch(
            db.parent,
            watch_filter=board_file,
            debounce=CHANGE_DEBOUNCE_MS,
            step=CHANGE_STEP_MS,
            recursive=False,
        ):
            yield

    # ---- worker-thread side ----------------------------------------------------------------

    def _record_settings(self) -> None:
        if not self._settings_recorded:
            self.store.remember_settings()
            self._settings_recorded = True

    def _by_states(self, state_names: list[str]) -> list[Issue]:
        self._record_settings()
        issues: list[Issue] = []
        dropped: list[str] = []
        for record in self.store.by_states(state_names):
            try:
                issues.append(to_issue(record, self.settings))
            except MalformedIssue:
                # Never safe to dispatch; omission is allowed for state-list reads (SPEC §11.1).
                dropped.append(str(record.number))
        if dropped:
            log.warning(
                "dropping malformed local board issues",
                count=len(dropped),
                numbers=",".join(dropped),
                path=self.settings.db_path,
            )
        return issues

    def _by_ids(self, issue_ids: list[str]) -> list[Issue]:
        self._record_settings()
        # A malformed requested record fails the whole refresh: omission would mean "gone".
        return [to_issue(record, self.settings) for record in self.store.by_ids(issue_ids)]
