"""A scripted ``RuntimeView`` for observability tests: snapshots change when the test says so.

The fakes build the same typed values the orchestrator does (``symphony.view``), so they cannot
drift from what production reports.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from symphony.board import BoardOutcome, NewBoardIssue
from symphony.core.candidates import CandidateSet
from symphony.human import AnswerOutcome, RequestRecord, SteerRecord
from symphony.orchestrator.board import BoardDesk, review_queue
from symphony.orchestrator.candidate_diffs import read_candidate_diff
from symphony.orchestrator.human_desk import HumanDesk
from symphony.orchestrator.review import carry_out_review
from symphony.review import CandidateDiff, ReviewDecision, ReviewOutcome
from symphony.runtime_view import RuntimeChange
from symphony.trackers.base import TrackerAdapter
from symphony.view import (
    AgentActivity,
    BlockedRow,
    Blocker,
    CodexTotals,
    Counts,
    IssueDetail,
    Limits,
    Polling,
    Problem,
    RetryKind,
    RetryRow,
    RunningRow,
    Snapshot,
    SnapshotChanged,
    TimelineEvent,
    Tokens,
    TrackerStatus,
    WorkflowStatus,
)
from symphony.view_json import snapshot_json
from symphony.webhooks import WebhookDelivery, WebhookReceipt
from symphony.workflow.config import ReviewConfig
from tests.support.memory_tracker import MemoryAdapter, MemoryBoard

NOW = datetime(2026, 2, 24, 20, 15, 30, tzinfo=UTC)


def ts(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def running_row(
    identifier: str,
    *,
    now: datetime = NOW,
    started_ago_s: float = 785,
    turn_count: int = 11,
    total_tokens: int = 120_450,
    last_event: str | None = "turn_completed",
    last_message: str | None = "turn completed (completed)",
    pid: str | None = "4242",
    state: str = "In Progress",
) -> RunningRow:
    return RunningRow(
        issue_id=f"id-{identifier}",
        issue_identifier=identifier,
        issue_url=f"https://tracker.example/issues/{identifier}",
        title=f"Fix the thing in {identifier}",
        state=state,
        session_id="thread-1234567890-turn-567890",
        thread_id="thread-1234567890",
        turn_count=turn_count,
        pid=pid,
        attempt=None,
        last_event=last_event,
        last_message=last_message,
        started_at=now - timedelta(seconds=started_ago_s),
        last_event_at=now - timedelta(seconds=4),
        workspace_path=f"/tmp/symphony_workspaces/{identifier}",
        tokens=Tokens(
            input_tokens=total_tokens - total_tokens // 8,
            output_tokens=total_tokens // 8,
            total_tokens=total_tokens,
        ),
    )


def retry_row(
    identifier: str,
    *,
    now: datetime = NOW,
    attempt: int = 2,
    due_in_s: float = 1.25,
    error: str | None = "rate limit exhausted",
    kind: RetryKind = "failure",
) -> RetryRow:
    return RetryRow(
        issue_id=f"id-{identifier}",
        issue_identifier=identifier,
        issue_url=f"https://tracker.example/issues/{identifier}",
        attempt=attempt,
        due_at=now + timedelta(seconds=due_in_s),
        due_in_ms=int(due_in_s * 1000),
        error=error,
        kind=kind,
    )


def blocked_row(
    identifier: str,
    *,
    now: datetime = NOW,
    state: str = "Todo",
    reason: str = "not dispatchable: blocked by MT-1 (In Progress)",
    blocked_by: list[tuple[str, str]] | None = None,
    since_s: float = 600,
) -> BlockedRow:
    """A row of the snapshot's ``blocked`` list, shaped like the orchestrator's."""
    return BlockedRow(
        issue_id=f"id-{identifier}",
        issue_identifier=identifier,
        issue_url=f"https://tracker.example/issues/{identifier}",
        title=f"Fix the thing in {identifier}",
        state=state,
        reason=reason,
        blocked_by=tuple(
            Blocker(identifier=ident, state=st)
            for ident, st in (blocked_by if blocked_by is not None else [("MT-1", "In Progress")])
        ),
        blocked_at=now - timedelta(seconds=since_s),
    )


def snapshot(
    *,
    now: datetime = NOW,
    running: list[RunningRow] | None = None,
    retrying: list[RetryRow] | None = None,
    blocked: list[BlockedRow] | None = None,
    blocked_total: int | None = None,
    totals: tuple[int, int, int] = (0, 0, 0),
    seconds_running: float = 0.0,
    rate_limits: Mapping[str, Any] | None = None,
    max_agents: int = 10,
    workflow_error: Problem | None = None,
    tracker_error: Problem | None = None,
    warnings: list[str] | None = None,
    next_poll_in_s: float | None = 27,
    checking: bool = False,
) -> Snapshot:
    """``blocked_total`` is ``counts.blocked`` when the runtime counts more than it lists."""
    running = running or []
    retrying = retrying or []
    blocked = blocked or []
    return Snapshot(
        generated_at=now,
        counts=Counts(
            running=len(running),
            retrying=len(retrying),
            blocked=blocked_total if blocked_total is not None else len(blocked),
        ),
        limits=Limits(max_concurrent_agents=max_agents, by_state={}),
        running=tuple(running),
        retrying=tuple(retrying),
        blocked=tuple(blocked),
        codex_totals=CodexTotals(
            input_tokens=totals[0],
            output_tokens=totals[1],
            total_tokens=totals[2],
            seconds_running=float(seconds_running),
        ),
        rate_limits=rate_limits,
        workflow=WorkflowStatus(
            path="/repo/WORKFLOW.md",
            version=3,
            loaded_at=now - timedelta(minutes=15),
            warnings=tuple(warnings or ()),
            error=workflow_error,
        ),
        tracker=TrackerStatus(
            kind="linear",
            last_poll_at=now - timedelta(seconds=3),
            error=tracker_error,
        ),
        polling=Polling(
            interval_ms=30000,
            next_poll_at=now + timedelta(seconds=next_poll_in_s)
            if next_poll_in_s is not None
            else None,
            checking=checking,
        ),
    )


def state_json(state: Snapshot) -> dict[str, Any]:
    """A fake snapshot as ``GET /api/v1/state`` renders it, before display fields."""
    return snapshot_json(state)


def detail_for(row: RunningRow, *, events: list[TimelineEvent] | None = None) -> IssueDetail:
    return IssueDetail(
        issue_identifier=row.issue_identifier,
        issue_id=row.issue_id,
        status="running",
        workspace_path=row.workspace_path,
        restart_count=1,
        current_retry_attempt=2,
        running=row,
        retry=None,
        blocked=None,
        logs=(),
        recent_events=tuple(events or ()),
        last_error=None,
        issue_url=row.issue_url,
    )


def activity(
    identifier: str,
    *,
    event: str | None = "notification",
    message: str | None = None,
    at: datetime | None = None,
    session_id: str | None = None,
    tokens: Mapping[str, int] | None = None,
) -> AgentActivity:
    """One agent event for ``FakeView.agent_event``."""
    return AgentActivity(
        issue_id=f"id-{identifier}",
        issue_identifier=identifier,
        session_id=session_id,
        at=at,
        event=event,
        message=message,
        tokens=tokens,
    )


class FakeView:
    """Implements ``RuntimeView``; tests push new snapshots and agent events."""

    def __init__(self, state: Snapshot | None = None) -> None:
        self.state = state if state is not None else snapshot()
        self.details: dict[str, IssueDetail] = {}
        self.listeners: list[Callable[[RuntimeChange], None]] = []
        self.refreshes = 0
        self.releases: list[str] = []
        self.snapshot_error: Exception | None = None
        self.detail_error: Exception | None = None
        self.refresh_error: Exception | None = None
        self.snapshot_calls = 0
        self.webhooks: list[tuple[str, WebhookDelivery]] = []
        self.webhook_receipt = WebhookReceipt(
            202, "accepted", "refreshing Issue MT-1 (update)", ("id-MT-1",)
        )
        # Review decisions go through the real logic to this board (or another adapter).
        self.board = MemoryBoard()
        self.tracker: TrackerAdapter = MemoryAdapter(self.board)
        self.review_config = ReviewConfig()
        self.reviews: list[tuple[str, ReviewDecision]] = []
        # Proofs of work by identifier, as ``RuntimeView.proof`` returns them, and their diffs.
        self.proofs: dict[str, dict[str, Any]] = {}
        self.diffs: dict[str, str] = {}
        # The review queue's ``runs`` (``history`` rows) by identifier.
        self.runs: dict[str, list[dict[str, Any]]] = {}
        # Best-of candidates per identifier, as the review queue lists them; a set in
        # ``candidate_sets`` is listed too, and its diffs are read from its workspaces under
        # ``workspace_root`` by the real code.
        self.candidates: dict[str, list[dict[str, Any]]] = {}
        self.candidate_sets: dict[str, CandidateSet] = {}
        self.workspace_root = Path("/nonexistent/workspaces")
        # The real desk: tests park requests on it through ``desk.open_run(...).ask``.
        self.desk = HumanDesk(
            timeout_ms=lambda: 3_600_000, clock=asyncio.get_running_loop, now=lambda: NOW
        )

    # RuntimeView -------------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        self.snapshot_calls += 1
        if self.snapshot_error is not None:
            raise self.snapshot_error
        return self.state  # immutable: nothing a reader does can change it

    def issue_detail(self, identifier: str) -> IssueDetail | None:
        if self.detail_error is not None:
            raise self.detail_error
        detail = self.details.get(identifier)
        pending = tuple(self.desk.pending(identifier=identifier))
        return replace(detail, pending_requests=pending) if detail and pending else detail

    def request_refresh(self) -> dict[str, Any]:
        if self.refresh_error is not None:
            raise self.refresh_error
        self.refreshes += 1
        return {
            "queued": True,
            "coalesced": self.refreshes > 1,
            "requested_at": ts(NOW),
            "operations": ["poll", "reconcile"],
        }

    async def receive_webhook(self, provider: str, delivery: WebhookDelivery) -> WebhookReceipt:
        self.webhooks.append((provider, delivery))
        return self.webhook_receipt

    def release_hold(self, identifier: str) -> dict[str, Any] | None:
        row = next((h for h in self.state.held if h.issue_identifier == identifier), None)
        if row is None:
            return None
        self.releases.append(identifier)
        return {"issue_identifier": identifier, "reason": row.reason, "released_at": ts(NOW)}

    def pending_requests(self) -> list[RequestRecord]:
        return self.desk.pending()

    def answer_request(self, identifier: str, request_id: str, body: object) -> AnswerOutcome:
        return self.desk.answer(identifier, request_id, body)

    async def steer(self, identifier: str, message: str) -> SteerRecord | None:
        return await self.desk.steer(identifier, message)

    async def proof(self, identifier: str) -> dict[str, Any] | None:
        return self.proofs.get(identifier)

    async def proof_diff(self, identifier: str) -> str | None:
        return self.diffs.get(identifier)

    async def review(self, identifier: str, decision: ReviewDecision) -> ReviewOutcome:
        self.reviews.append((identifier, decision))
        detail = self.details.get(identifier)
        outcome = await carry_out_review(
            self.tracker,
            self.review_config,
            identifier,
            decision,
            known_issue_id=detail.issue_id if detail is not None else None,
            timeout_s=5.0,
        )
        if outcome.status == "accepted":
            self.request_refresh()
        return outcome

    async def review_queue(self) -> list[dict[str, Any]]:
        return await review_queue(
            self.tracker,
            self.review_config,
            self.proof,
            timeout_s=5.0,
            runs=lambda identifier: self.runs.get(identifier, []),
            candidates=self._candidates_of,
        )

    def _candidates_of(self, identifier: str) -> list[dict[str, Any]]:
        found = self.candidate_sets.get(identifier)
        if found is not None:
            return [c.to_json() for c in found.candidates]
        return self.candidates.get(identifier, [])

    async def candidate_diff(self, identifier: str, name: str) -> CandidateDiff:
        found = self.candidate_sets.get(identifier)
        return await read_candidate_diff(found, identifier, name, root=self.workspace_root)

    async def read_board(self) -> BoardOutcome:
        return await BoardDesk(self.tracker, timeout_s=5.0).read()

    async def board_create(self, issue: NewBoardIssue) -> BoardOutcome:
        return self._refreshed(await BoardDesk(self.tracker, timeout_s=5.0).create(issue))

    async def board_move(self, identifier: str, state: str) -> BoardOutcome:
        return self._refreshed(await BoardDesk(self.tracker, timeout_s=5.0).move(identifier, state))

    async def board_comment(self, identifier: str, body: str) -> BoardOutcome:
        return await BoardDesk(self.tracker, timeout_s=5.0).comment(identifier, body)

    def _refreshed(self, outcome: BoardOutcome) -> BoardOutcome:
        if outcome.status in ("ok", "created"):
            self.request_refresh()
        return outcome

    def subscribe(self, listener: Callable[[RuntimeChange], None]) -> Callable[[], None]:
        self.listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self.listeners:
                self.listeners.remove(listener)

        return unsubscribe

    # scripting ---------------------------------------------------------------------------------
    def publish(self, new_state: Snapshot | None = None) -> None:
        if new_state is not None:
            self.state = new_state
        self._notify(SnapshotChanged(self.state))

    def agent_event(self, event: AgentActivity) -> None:
        self._notify(event)

    def _notify(self, change: RuntimeChange) -> None:
        # Like the orchestrator: a listener that raises is dropped, the rest still get the change.
        for listener in list(self.listeners):
            try:
                listener(change)
            except Exception:
                self.listeners.remove(listener)
