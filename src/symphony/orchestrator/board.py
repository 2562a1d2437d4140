"""The dashboard's local board and review queue, read and written through the current adapter.

The board's writes go through its own store (``trackers/local/store.py``): the same checks and
history as the CLI and the agents' tools. Every call is bounded by the tracker timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from symphony.board import BoardOutcome, NewBoardIssue
from symphony.issue import Issue
from symphony.timefmt import format_timestamp
from symphony.trackers.base import TrackerAdapter, TrackerError, read_by_states
from symphony.trackers.local.settings import KIND as LOCAL_KIND
from symphony.workflow.config import ReviewConfig

if TYPE_CHECKING:
    from symphony.trackers.local.adapter import LocalAdapter
    from symphony.trackers.local.records import IssueRecord
    from symphony.trackers.local.settings import BoardSettings

# Who the board's history and comments name for what is done from the dashboard.
DASHBOARD_AUTHOR = "dashboard"
# A column shows at most this many cards (finished work piles up in the terminal states);
# ``counts`` has every column's full size.
MAX_CARDS_PER_STATE = 200

Proof = Callable[[str], Awaitable[dict[str, Any] | None]]
# An issue's finished runs as ``history`` of ``GET /api/v1/<identifier>`` shows them.
Runs = Callable[[str], list[dict[str, Any]]]


def no_runs(identifier: str) -> list[dict[str, Any]]:
    return []


async def review_queue(
    adapter: TrackerAdapter,
    config: ReviewConfig,
    proof: Proof,
    *,
    timeout_s: float,
    runs: Runs = no_runs,
    candidates: Runs = no_runs,
) -> list[dict[str, Any]]:
    """The issues waiting in ``review.states`` with their proof and the runs that led there
    (``GET /api/v1/review``); raises ``TrackerError`` when the tracker fails or does not answer
    in time."""
    try:
        waiting = await asyncio.wait_for(read_by_states(adapter, config.states), timeout_s)
    except TimeoutError:
        raise TrackerError(
            "tracker_timeout", f"the tracker did not list the issues within {timeout_s:g}s"
        ) from None
    waiting.sort(key=lambda issue: (_ordered(issue.updated_at), issue.identifier))
    return [
        _review_row(
            issue,
            await proof(issue.identifier),
            runs(issue.identifier),
            candidates(issue.identifier),
        )
        for issue in waiting
    ]


def _ordered(moment: datetime | None) -> str:
    return format_timestamp(moment) or ""


def _review_row(
    issue: Issue,
    proof: dict[str, Any] | None,
    runs: list[dict[str, Any]],
    candidates: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "issue_id": issue.id,
        "issue_identifier": issue.identifier,
        "title": issue.title,
        "state": issue.state,
        "url": issue.url,
        "labels": list(issue.labels),
        "updated_at": format_timestamp(issue.updated_at),
        "proof": proof,
        "runs": runs,
        # Its judged best-of candidates, to pick one (docs/best-of.md); [] without.
        "candidates": candidates,
    }


class BoardDesk:
    """The board routes' logic for one adapter; anything but the local board is unsupported."""

    def __init__(self, adapter: TrackerAdapter, *, timeout_s: float) -> None:
        self.adapter = adapter
        self.timeout_s = timeout_s

    async def read(self) -> BoardOutcome:
        return await self._run(self._read)

    async def create(self, new: NewBoardIssue) -> BoardOutcome:
        def create(adapter: LocalAdapter) -> BoardOutcome:
            from symphony.trackers.local.records import NewIssue

            issue = NewIssue(
                title=new.title,
                description=new.description,
                priority=new.priority,
                state=new.state,
                labels=new.labels,
            )
            record = adapter.store.create(issue, actor=DASHBOARD_AUTHOR)
            body = {"issue": _card(record, adapter.settings)}
            return BoardOutcome("created", f"{record.identifier} created", body)

        return await self._run(create)

    async def move(self, identifier: str, state: str) -> BoardOutcome:
        def move(adapter: LocalAdapter) -> BoardOutcome:
            record, previous = adapter.store.move(identifier, state, actor=DASHBOARD_AUTHOR)
            body = {"issue": _card(record, adapter.settings), "previous_state": previous}
            return BoardOutcome("ok", f"{record.identifier} moved to {record.state}", body)

        return await self._run(move)

    async def comment(self, identifier: str, text: str) -> BoardOutcome:
        def comment(adapter: LocalAdapter) -> BoardOutcome:
            record = adapter.store.get(identifier)
            posted = adapter.store.comment(record.id, text, author=DASHBOARD_AUTHOR)
            body = {"issue_identifier": record.identifier, "comment": posted.to_dict()}
            return BoardOutcome("created", f"comment posted on {record.identifier}", body)

        return await self._run(comment)

    def _read(self, adapter: LocalAdapter) -> BoardOutcome:
        settings = adapter.settings
        records = adapter.store.list_issues(include_terminal=True)
        counts = {state: 0 for state in settings.states}
        cards: list[dict[str, Any]] = []
        for record in records:
            state = settings.canonical_state(record.state) or record.state
            counts[state] = counts.get(state, 0) + 1
            if counts[state] <= MAX_CARDS_PER_STATE:
                cards.append(_card(record, settings))
        body = {
            "states": list(settings.states),
            "default_state": settings.default_state,
            "active_states": list(settings.active_states),
            "terminal_states": list(settings.terminal_states),
            "counts": counts,
            "issues": cards,
        }
        return BoardOutcome("ok", body=body)

    async def _run(self, call: Callable[[LocalAdapter], BoardOutcome]) -> BoardOutcome:
        if self.adapter.kind != LOCAL_KIND:
            return BoardOutcome(
                "unsupported",
                f"the dashboard board works with tracker.kind: local only (this workflow uses "
                f"{self.adapter.kind}); use the tracker itself",
            )
        # Loaded here, not at the top: with any other tracker the board's modules (its SQLite
        # store and the agent tools' pydantic models) would cost about 1 MB of resident memory.
        from symphony.trackers.local.errors import BoardError, IssueNotFound

        adapter = cast("LocalAdapter", self.adapter)
        try:
            return await asyncio.wait_for(asyncio.to_thread(call, adapter), self.timeout_s)
        except TimeoutError:
            return BoardOutcome(
                "tracker_error", f"the board did not answer within {self.timeout_s:g}s"
            )
        except IssueNotFound as exc:
            return BoardOutcome("not_found", exc.message)
        except BoardError as exc:
            return BoardOutcome("invalid", exc.message)
        except TrackerError as exc:
            return BoardOutcome("tracker_error", exc.message)


def _card(record: IssueRecord, settings: BoardSettings) -> dict[str, Any]:
    open_blockers = [b for b in record.blocked_by if not settings.is_terminal(b.state or "")]
    return {
        "id": record.id,
        "identifier": record.identifier,
        "title": record.title,
        "description": record.description,
        "priority": record.priority,
        "state": settings.canonical_state(record.state) or record.state,
        "labels": list(record.labels),
        "blocked_by": [
            {"identifier": b.identifier, "state": b.state}
            for b in sorted(open_blockers, key=lambda b: b.identifier or "")
        ],
        "blocked": bool(open_blockers),
        "url": settings.url_for(identifier=record.identifier, id=record.id, number=record.number),
        "created_at": format_timestamp(record.created_at),
        "updated_at": format_timestamp(record.updated_at),
    }
