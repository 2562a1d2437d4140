"""What the running service exposes to observability surfaces (SPEC §13.3, §13.7).

The orchestrator implements ``RuntimeView``; the HTTP API, web dashboard and terminal view read it
and never mutate scheduling state (the exceptions are triggers: ``request_refresh``, and
``receive_webhook``, which refreshes the issues a verified tracker webhook names).
Reads return the typed values of ``symphony.view``; ``symphony.view_json`` renders them, and is
the only place that knows the JSON shape below (timestamps are RFC 3339 UTC strings ending in
``Z``).

``snapshot()`` (``view.Snapshot``) as JSON, a superset of SPEC §13.7.2 ``GET /api/v1/state``::

    {
      "generated_at": str,
      "counts": {"running": int, "retrying": int, "blocked": int},
      "limits": {"max_concurrent_agents": int, "by_state": {state: int}},
      "running": [{
          "issue_id", "issue_identifier", "issue_url", "title", "state",
          "session_id", "thread_id", "turn_count", "pid", "attempt",
          "last_event", "last_message", "started_at", "last_event_at",
          "workspace_path", "pending_request_count", "agent_kind",
          "tokens": {"input_tokens", "output_tokens", "total_tokens"}
      }],
      "retrying": [{
          "issue_id", "issue_identifier", "issue_url", "attempt",
          "due_at", "due_in_ms", "error", "kind": "continuation" | "failure"
      }],
      "blocked": [{
          "issue_id", "issue_identifier", "issue_url", "title", "state",
          "reason": str, "blocked_by": [{"identifier", "state"}], "blocked_at"
      }],
      "codex_totals": {"input_tokens", "output_tokens", "total_tokens", "seconds_running"},
      "rate_limits": object | null,
      "workflow": {"path", "version", "loaded_at", "warnings": [str],
                   "error": {"code", "message", "at"} | null},
      "tracker": {"kind", "last_poll_at", "error": {"code", "message", "at"} | null},
      "polling": {"interval_ms", "next_poll_at", "checking": bool}
    }

``pid`` is the agent process id as a string (null until the agent reports it).

``blocked`` lists active, unclaimed issues the scheduler will not dispatch (the tracker marks
them not dispatchable, or a required label is missing), at most 500 rows; ``counts.blocked``
counts them all. ``blocked_by`` holds only open (non-terminal) blockers.

``issue_detail(identifier)`` (``view.IssueDetail``) as JSON follows SPEC §13.7.2
``GET /api/v1/<identifier>`` (status, workspace, attempts, running, retry,
logs.codex_session_logs, recent_events, last_error, tracked) plus ``blocked``
(``{"state", "reason", "blocked_by", "blocked_at"}`` when ``status`` is ``"blocked"``, else
null) and ``pending_requests`` (``view_json.request_json`` rows, docs/human-requests.md);
``status`` is ``running``, ``retrying``, ``blocked`` or ``released``. It returns None for an
identifier the runtime does not know.

``subscribe(listener)`` delivers ``RuntimeChange`` values on the event loop thread: a
``SnapshotChanged`` (``kind == "snapshot"``) when scheduling state changed, carrying the new
snapshot, and an ``AgentActivity`` (``kind == "agent_event"``) for each agent event, as JSON
``{"issue_id", "issue_identifier", "session_id", "at", "event", "message"}`` plus ``"tokens"``
when the event carried token counts. Listeners must be fast and must not raise; a listener that
raises is logged and dropped, never allowed to affect orchestration (SPEC §17.6).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeAlias

from symphony.board import BoardOutcome, NewBoardIssue
from symphony.human import AnswerOutcome, RequestRecord, SteerRecord
from symphony.review import CandidateDiff, ReviewDecision, ReviewOutcome
from symphony.view import AgentActivity, IssueDetail, Snapshot, SnapshotChanged
from symphony.webhooks import WebhookDelivery, WebhookReceipt

RuntimeChange: TypeAlias = SnapshotChanged | AgentActivity

__all__ = ["AgentActivity", "RuntimeChange", "RuntimeView", "SnapshotChanged"]


class RuntimeView(Protocol):
    def snapshot(self) -> Snapshot: ...

    def issue_detail(self, identifier: str) -> IssueDetail | None: ...

    def request_refresh(self) -> dict[str, Any]:
        """Queue an immediate poll + reconcile; returns SPEC's 202 body
        ``{"queued": true, "coalesced": bool, "requested_at": str, "operations": [...]}``."""
        ...

    async def receive_webhook(self, provider: str, delivery: WebhookDelivery) -> WebhookReceipt:
        """A tracker's webhook delivery (``POST /api/v1/webhooks/<provider>``): the current
        adapter checks it, a repeat of an accepted delivery is refused, and the issues it names
        inside the configured scope get a targeted refresh (fetched by id, then dispatched,
        stopped or released at once). The receipt carries the HTTP status: 202 ``accepted``,
        200 ``ignored``, or an error code (404 ``webhooks_not_enabled``, 401, 400, 503)."""
        ...

    def pending_requests(self) -> list[RequestRecord]:
        """Every request an agent parked for a human and nobody answered yet, oldest first."""
        ...

    def answer_request(self, identifier: str, request_id: str, body: object) -> AnswerOutcome:
        """Answer a parked request with an operator's decoded JSON ``body``
        (docs/human-requests.md); the outcome says whether it was taken and why not."""
        ...

    def release_hold(self, identifier: str) -> dict[str, Any] | None:
        """End the identifier's hold (docs/holds.md): ``{issue_identifier, reason, released_at}``,
        or None when it is not held. The next poll may dispatch it again."""
        ...

    async def steer(self, identifier: str, message: str) -> SteerRecord | None:
        """Give the identifier's running agent ``message``; None when no agent runs for it."""
        ...

    async def review(self, identifier: str, decision: ReviewDecision) -> ReviewOutcome:
        """A human's review decision (docs/review.md): check in the tracker that the issue waits
        in one of ``review.states``, post the comment, move it, then refresh."""
        ...

    async def proof(self, identifier: str) -> dict[str, Any] | None:
        """The proof of work of the identifier's last hand-off as JSON (``proof`` in
        docs/review.md), None when it has none. Read from the store; never from the tracker."""
        ...

    async def proof_diff(self, identifier: str) -> str | None:
        """That proof's unified diff against the workspace base (``GET
        /api/v1/<identifier>/diff``); None when the identifier has no proof."""
        ...

    async def candidate_diff(self, identifier: str, name: str) -> CandidateDiff:
        """Best-of candidate ``name``'s diff, read from its workspace now against its base
        (``GET /api/v1/<identifier>/candidates/<name>/diff``, docs/best-of.md): ``ok`` with the
        diff (or a ``note`` saying why there is none), ``no_such_candidate`` or
        ``no_workspace``. Never blocks the event loop; bounded in size and time."""
        ...

    async def review_queue(self) -> list[dict[str, Any]]:
        """The tracker's issues in ``review.states`` now, oldest change first, each
        ``{issue_id, issue_identifier, title, state, url, labels, updated_at, proof}`` with
        ``proof`` as ``proof(identifier)`` returns it (``GET /api/v1/review``, docs/review.md).
        Raises ``TrackerError`` when the tracker fails or does not answer within its timeout."""
        ...

    async def read_board(self) -> BoardOutcome:
        """The local board: ``{states, default_state, active_states, terminal_states, counts,
        issues}`` (docs/observability.md, "Board"); ``unsupported`` for any other tracker."""
        ...

    async def board_create(self, issue: NewBoardIssue) -> BoardOutcome:
        """Create an issue on the local board (``created``, ``{issue}``), then refresh."""
        ...

    async def board_move(self, identifier: str, state: str) -> BoardOutcome:
        """Move a board issue to ``state`` (``ok``, ``{issue, previous_state}``), then refresh."""
        ...

    async def board_comment(self, identifier: str, body: str) -> BoardOutcome:
        """Comment on a board issue (``created``, ``{issue_identifier, comment}``)."""
        ...

    def subscribe(self, listener: Callable[[RuntimeChange], None]) -> Callable[[], None]:
        """Register a listener; returns a function that unsubscribes it."""
        ...
