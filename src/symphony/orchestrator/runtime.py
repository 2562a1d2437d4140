"""The asyncio shell around the scheduling core (SPEC §7.4: one authority for all mutations).

Everything runs on one event loop. ``_apply`` feeds an event to ``decide`` and executes the
effects: tracker reads and workspace removals become tasks whose results come back as events,
workers become tasks (one per attempt), timers become loop handles. Events raised while effects
execute are queued, so ``decide`` is never re-entered.

The per-issue ordering the core relies on (no overlapping workers, workspace removal only
after the worker is gone) is enforced by ``WorkerPool``.
"""

from __future__ import annotations

import asyncio
import contextvars
import shutil
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, assert_never

from symphony.agents.base import AgentBackend
from symphony.board import BoardOutcome, NewBoardIssue
from symphony.core import changes, policy
from symphony.core.candidates import CandidateSet, candidate_key
from symphony.core.effects import (
    AckRefresh,
    AnnounceCandidatesFailed,
    AnnounceHold,
    CancelRetryTimer,
    Effect,
    FetchCandidates,
    FetchChangedIssues,
    FetchRetryIssue,
    FetchRunningIssues,
    FetchTerminalIssues,
    ForgetCandidates,
    ForgetHold,
    ForgetResume,
    ForgetRetry,
    JudgeCandidates,
    Log,
    Notify,
    PublishCandidates,
    RecordBudgetReset,
    RecordHold,
    RecordRetry,
    RecordRunEnded,
    RecordRunProgress,
    RecordRunStarted,
    RemoveWorkspaces,
    SaveCandidates,
    ScheduleTick,
    SetRetryTimer,
    StartWorker,
    StopWorker,
    StoreEffect,
)
from symphony.core.events import (
    CandidatePicked,
    CandidatesFetched,
    CandidatesJudged,
    ChangedIssuesFetched,
    ConfigChanged,
    Event,
    FetchError,
    HumanRequestsChanged,
    IssuesChanged,
    RefreshRequested,
    ReleaseRequested,
    RetryDue,
    RetryIssueFetched,
    RunningRefreshed,
    ShutdownRequested,
    Started,
    TerminalIssuesFetched,
    TickDue,
)
from symphony.core.machine import decide
from symphony.core.snapshot import Instant, build_issue_detail, build_snapshot, log_files
from symphony.core.state import OrchestratorState
from symphony.errors import SymphonyError
from symphony.human import AnswerOutcome, RequestRecord, SteerRecord
from symphony.issue import Issue
from symphony.logs import get_logger, issue_task_context
from symphony.orchestrator.board import BoardDesk, review_queue
from symphony.orchestrator.candidate_diffs import read_candidate_diff
from symphony.orchestrator.clock import LoopClock
from symphony.orchestrator.handoff import HandOffServices
from symphony.orchestrator.hold_notes import announce
from symphony.orchestrator.human_desk import HumanDesk, request_comment
from symphony.orchestrator.issue_reads import IssueReads
from symphony.orchestrator.judging import (
    agent_judge_turn,
    announce_failed,
    failure_comment,
    judge,
    review_hint,
    try_publish,
)
from symphony.orchestrator.observers import Observers
from symphony.orchestrator.persistence import TOTALS_EVERY_S, Persistence
from symphony.orchestrator.ports import (
    AdoptingWorkspaces,
    AgentLogSource,
    BackendSelector,
    Workspaces,
)
from symphony.orchestrator.proofs import MemoryProofBook, ProofBook, StoredProofBook
from symphony.orchestrator.review import carry_out_review
from symphony.orchestrator.scheduling import scheduler_config
from symphony.orchestrator.tracker_binding import AdapterFactory, TrackerBinding
from symphony.orchestrator.webhooks import WebhookInbox
from symphony.orchestrator.worker import (
    DEFAULT_TRACKER_TIMEOUT_S,
    Attempt,
    WorkerServices,
    child_secret_names,
)
from symphony.orchestrator.workers import WorkerPool
from symphony.review import CandidateDiff, ReviewDecision, ReviewOutcome
from symphony.runtime_view import RuntimeChange
from symphony.ssh_exec import RemoteHost
from symphony.storage import StateStore
from symphony.timefmt import format_timestamp
from symphony.trackers.base import ChangeFeed, IssueComments, TrackerAdapter, read_by_states
from symphony.view import IssueDetail, Problem, Snapshot, WorkflowStatus
from symphony.view_json import history_run_json
from symphony.webhooks import WebhookDelivery, WebhookReceipt
from symphony.workflow.store import Workflow, WorkflowStore
from symphony.workspace.keys import workspace_key
from symphony.workspace.remote import RemoteWorkspaces

log = get_logger("symphony.orchestrator")

# Beyond the hook timeout, how long a stopping worker may take (session stop, process kill).
STOP_MARGIN_S = 15.0
# Workspace removals in flight per worker host: a startup sweep of hundreds of terminal issues
# must stay under sshd's MaxStartups (default 10:30:100), or connections are dropped.
REMOTE_CLEANUPS_PER_HOST = 4
TRACKER_TIMEOUT = "tracker_timeout"
ADAPTER_ERROR = "tracker_adapter_error"


class OrchestratorRuntime:
    """Implements ``symphony.runtime_view.RuntimeView``; construct, ``await start()``,
    ``await stop()``. Call every method on the event loop thread."""

    def __init__(
        self,
        store: WorkflowStore,
        *,
        workspaces: Workspaces,
        agents: BackendSelector,
        adapter_factory: AdapterFactory,
        agent_logs: AgentLogSource | None = None,
        tracker_timeout_s: float = DEFAULT_TRACKER_TIMEOUT_S,
        clock: LoopClock | None = None,
        storage: StateStore | None = None,
    ) -> None:
        self._store = store
        self._workspaces = workspaces
        self._agents = agents
        self._backend: tuple[Workflow, AgentBackend] | None = None
        self._issue_reads = IssueReads()
        self._agent_logs = agent_logs
        self._tracker_timeout_s = tracker_timeout_s
        workflow = store.current
        self._workflow = workflow
        self._tracker = TrackerBinding(adapter_factory)
        self._sent_config: tuple[int, str | None] = (workflow.version, None)
        self._state = OrchestratorState(config=scheduler_config(workflow.config))
        self._queue: deque[Event] = deque()
        self._applying = False
        self._ack: AckRefresh | None = None
        self._tick_handle: asyncio.TimerHandle | None = None
        self._retry_handles: dict[str, asyncio.TimerHandle] = {}
        self._pool = WorkerPool(report=self._apply, grace_s=self._stop_grace_s)
        self._io_tasks: set[asyncio.Task[Any]] = set()
        self._observers = Observers(self.snapshot)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clock = clock
        self._running = False
        self._stopped = False
        self._failure: BaseException | None = None
        self._watched: TrackerAdapter | None = None
        self._watch_task: asyncio.Task[None] | None = None
        self._inbox = WebhookInbox()
        self._failed = asyncio.Event()
        self._human = HumanDesk(
            timeout_ms=lambda: self._workflow.config.agent.human_timeout_ms,
            clock=self._timers,
            on_pending=lambda issue_id, run_id, count: self._apply(
                HumanRequestsChanged(issue_id, run_id, count)
            ),
        )
        self._human.subscribe(self._notify_tracker)
        # The log context events are decided in (see ``_apply``): the creator's, never a worker's.
        self._context = contextvars.copy_context()
        # Durable state (docs/storage.md); None keeps everything in memory (SPEC §14.3).
        self._persistence = Persistence(storage) if storage is not None else None
        # Proofs of work of hand-offs (docs/review.md), beside the rest of the durable state.
        # By identifier: the latest best-of candidate set of each issue (docs/best-of.md).
        self._candidate_sets: dict[str, CandidateSet] = {}
        self._proofs: ProofBook = (
            StoredProofBook(storage) if storage is not None else MemoryProofBook()
        )
        self._totals_handle: asyncio.TimerHandle | None = None
        # Per worker host: removals in flight (REMOTE_CLEANUPS_PER_HOST).
        self._cleanup_slots: dict[str, asyncio.Semaphore] = {}

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Create the tracker adapter, then run startup cleanup and the first tick (SPEC §16.1).

        Raises ``SymphonyError`` when the adapter cannot be created (startup fails).
        """
        if self._running:
            return
        self._loop = asyncio.get_running_loop()
        adapter = self._tracker.open(self._workflow)
        if self._persistence is not None:
            # Before anything is dispatched: agents a crash left behind die first.
            restored = await asyncio.to_thread(self._persistence.restore, self._instant())
            self._apply(restored)
            self._human.restore(*self._persistence.human_records)
            for stored in self._persistence.candidate_sets:
                self._candidate_sets[stored.identifier] = stored
            self._human.subscribe(self._persistence.record_human)
            self._save_totals_later()
        self._store.subscribe(self._on_reload)
        self._running = True
        log.info(
            "orchestrator started",
            tracker=adapter.kind,
            max_concurrent_agents=self._state.config.max_concurrent_agents,
            poll_interval_ms=self._state.config.poll_interval_ms,
        )
        self._apply(Started())
        self._follow_changes()

    async def stop(self) -> None:
        """Stop dispatching, stop every worker (``after_run`` runs), wait for them, exit."""
        if not self._running or self._stopped:
            return
        self._stopped = True
        # Before the workers are cancelled, so their open requests end expired, not canceled.
        self._human.expire_all()
        self._apply(ShutdownRequested())
        self._cancel_timers()
        await self._pool.drain()
        for task in list(self._io_tasks):
            task.cancel()
        if self._io_tasks:
            await asyncio.wait(self._io_tasks, timeout=5.0)
        await self._tracker.close_all()
        if self._persistence is not None:
            self._persistence.save_totals(self._state.totals)
        self._running = False
        log.info("orchestrator stopped")

    # --- RuntimeView ----------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        workflow = self._workflow
        error = self._store.error
        workflow_error: Problem | None = (
            Problem(error.error.code, error.error.message, error.at) if error is not None else None
        )
        if workflow_error is None and self._tracker.error is not None:
            workflow_error = Problem(ADAPTER_ERROR, self._tracker.error, None)
        return build_snapshot(
            self._state,
            self._instant(),
            workflow=WorkflowStatus(
                path=str(workflow.path),
                version=workflow.version,
                loaded_at=workflow.loaded_at,
                warnings=tuple(workflow.warnings),
                error=workflow_error,
            ),
            tracker_kind=self._tracker.kind,
        )

    def issue_detail(self, identifier: str) -> IssueDetail | None:
        default_workspace: str | None
        try:
            default_workspace = str(self._workspaces_path(identifier))
        except SymphonyError:
            default_workspace = None
        detail = build_issue_detail(
            self._state, identifier, self._instant(), default_workspace=default_workspace
        )
        if detail is not None and self._agent_logs is not None:
            try:
                paths = self._agent_logs.paths(identifier)
            except Exception:  # listing logs must never break the API
                paths = ()
            if paths:
                detail = replace(detail, logs=log_files(paths))
        if detail is not None:
            detail = self._with_human_records(detail)
            candidates = self._candidate_sets.get(detail.issue_identifier)
            if candidates is not None:
                detail = replace(
                    detail, candidates=tuple(c.to_json() for c in candidates.candidates)
                )
        return detail

    def _with_human_records(self, detail: IssueDetail) -> IssueDetail:
        """The requests still pending, and each finished run's requests and steers."""
        pending = self._human.pending(identifier=detail.issue_identifier)
        if pending:
            detail = replace(detail, pending_requests=tuple(pending))
        if not detail.history:
            return detail
        requests = self._human.records(detail.issue_id)
        steers = self._human.steers(detail.issue_id)
        if not requests and not steers:
            return detail
        history = tuple(
            replace(
                run,
                requests=tuple(r for r in requests if r.run_id == run.run_id),
                steers=tuple(s for s in steers if s.run_id == run.run_id),
            )
            for run in detail.history
        )
        return replace(detail, history=history)

    def pending_requests(self) -> list[RequestRecord]:
        return self._human.pending()

    def answer_request(self, identifier: str, request_id: str, body: object) -> AnswerOutcome:
        return self._human.answer(identifier, request_id, body)

    async def steer(self, identifier: str, message: str) -> SteerRecord | None:
        return await self._human.steer(identifier, message)

    async def review(self, identifier: str, decision: ReviewDecision) -> ReviewOutcome:
        detail = self.issue_detail(identifier)
        candidates = self._candidate_sets.get(identifier)
        picked: CandidateSet | None = None
        if decision.candidate is not None:
            refusal: str | None = None
            if candidates is None or not candidates.judged:
                refusal = f"{identifier} has no judged best-of candidates to choose from"
            else:
                try:
                    picked = candidates.pick(decision.candidate)
                except ValueError as exc:
                    refusal = str(exc)
            if refusal is not None:
                return ReviewOutcome("no_such_candidate", refusal, identifier, decision.decision)
            assert picked is not None and picked.chosen is not None
            # Before the move: the poll that sees the issue in its next state must dispatch it
            # as one run, not as K new candidates.
            self._apply(CandidatePicked(picked.issue_id, picked.chosen.name))
        elif (
            candidates is not None
            and candidates.judged
            and candidates.chosen is None
            and decision.decision == "approve"
        ):
            names = ", ".join(c.name for c in candidates.candidates)
            return ReviewOutcome(
                "no_such_candidate",
                f'{identifier} has best-of candidates ({names}): approve one with "candidate"',
                identifier,
                decision.decision,
            )
        outcome = await carry_out_review(
            self._tracker.current,
            self._workflow.config.review,
            identifier,
            decision,
            known_issue_id=detail.issue_id if detail is not None else None,
            timeout_s=self._tracker_timeout_s,
        )
        if outcome.status == "accepted" and candidates is not None and candidates.judged:
            # Queued on the issue: its next worker starts only once the workspaces are settled.
            if picked is not None:
                self._after_issue(picked.issue_id, identifier, self._adopt(identifier, picked))
            elif candidates.chosen is None:
                work = self._reset_candidates(identifier, candidates)
                self._after_issue(candidates.issue_id, identifier, work)
        if outcome.status == "accepted":
            # The board changed under us: pick the new state up now, not at the next poll.
            self.request_refresh()
        log.info(
            "review decision",
            issue_identifier=identifier,
            decision=decision.decision,
            outcome=outcome.status,
            state=outcome.state,
        )
        return outcome

    async def proof(self, identifier: str) -> dict[str, Any] | None:
        return await self._proofs.body(identifier)

    async def proof_diff(self, identifier: str) -> str | None:
        return await self._proofs.diff(identifier)

    async def candidate_diff(self, identifier: str, name: str) -> CandidateDiff:
        return await read_candidate_diff(
            self._candidate_sets.get(identifier),
            identifier,
            name,
            root=self._workflow.config.workspace.root,
        )

    @property
    def proofs(self) -> ProofBook:
        """The proofs of hand-offs; ``needs_reset``/``mark_reset`` serve
        ``workspace.reset_states``."""
        return self._proofs

    async def review_queue(self) -> list[dict[str, Any]]:
        return await review_queue(
            self._tracker.current,
            self._workflow.config.review,
            self.proof,
            timeout_s=self._tracker_timeout_s,
            runs=self._runs_of,
            candidates=self._candidates_of,
        )

    def _candidates_of(self, identifier: str) -> list[dict[str, Any]]:
        candidates = self._candidate_sets.get(identifier)
        if candidates is None or not candidates.judged:
            return []
        return [c.to_json() for c in candidates.candidates]

    def _runs_of(self, identifier: str) -> list[dict[str, Any]]:
        now = self._instant()
        detail = build_issue_detail(self._state, identifier, now, default_workspace=None)
        return [history_run_json(run) for run in detail.history] if detail is not None else []

    async def read_board(self) -> BoardOutcome:
        return await self._board().read()

    async def board_create(self, issue: NewBoardIssue) -> BoardOutcome:
        return self._refreshed(await self._board().create(issue))

    async def board_move(self, identifier: str, state: str) -> BoardOutcome:
        return self._refreshed(await self._board().move(identifier, state))

    async def board_comment(self, identifier: str, body: str) -> BoardOutcome:
        return await self._board().comment(identifier, body)

    def _board(self) -> BoardDesk:
        return BoardDesk(self._tracker.current, timeout_s=self._tracker_timeout_s)

    def _refreshed(self, outcome: BoardOutcome) -> BoardOutcome:
        if outcome.status in ("ok", "created"):
            # A new Todo card should start its agent now, not at the next poll.
            self.request_refresh()
        return outcome

    @property
    def human(self) -> HumanDesk:
        """Requests parked for a human and steering; ``human.subscribe`` is the persistence
        seam (docs/human-requests.md)."""
        return self._human

    def request_refresh(self) -> dict[str, Any]:
        self._ack = None
        self._apply(RefreshRequested())
        ack, self._ack = self._ack, None
        return {
            "queued": self._running and not self._stopped,
            "coalesced": ack.coalesced if ack is not None else True,
            "requested_at": format_timestamp(datetime.now(UTC)),
            "operations": ["poll", "reconcile"],
        }

    def refresh(self) -> dict[str, Any]:
        return self.request_refresh()

    def release_hold(self, identifier: str) -> dict[str, Any] | None:
        hold = next((h for h in self._state.holds.values() if h.identifier == identifier), None)
        if hold is None:
            return None
        self._apply(ReleaseRequested(hold.issue_id))
        return {
            "issue_identifier": identifier,
            "reason": hold.reason,
            "released_at": format_timestamp(datetime.now(UTC)),
        }

    async def receive_webhook(self, provider: str, delivery: WebhookDelivery) -> WebhookReceipt:
        if not self._running or self._stopped or self._failure is not None:
            return WebhookReceipt(
                503, "orchestrator_unavailable", "the orchestrator is not running"
            )
        receipt = await self._inbox.receive(
            self._tracker.current,
            provider,
            delivery,
            watched=lambda issue_id: changes.watches(self._state, issue_id),
            timeout_s=self._tracker_timeout_s,
        )
        if receipt.issue_ids:
            self._apply(IssuesChanged(receipt.issue_ids))
        return receipt

    def subscribe(self, listener: Callable[[RuntimeChange], None]) -> Callable[[], None]:
        return self._observers.subscribe(listener)

    @property
    def state(self) -> OrchestratorState:
        """Read-only access for tests and diagnostics; never mutate it."""
        return self._state

    # --- event application ------------------------------------------------------------------

    def _apply(self, event: Event) -> None:
        if self._failure is not None:
            return  # the state machine broke: nothing decides on its half-updated state again
        self._queue.append(event)
        if self._applying:
            return
        self._applying = True
        try:
            # Workers report from inside their issue's log context. Deciding runs in the
            # runtime's own, so the log lines, tasks and timers it starts (polls, retries,
            # snapshots) never carry the issue of whichever worker reported last.
            self._context.run(self._drain_queue)
        finally:
            self._applying = False

    def _drain_queue(self) -> None:
        while self._queue:
            current = self._queue.popleft()
            try:
                self._state, effects = decide(self._state, current, self._now_ms())
                for effect in effects:
                    self._execute(effect)
            except Exception as exc:
                self._fail(current, exc)
                return

    def _fail(self, event: Event, exc: Exception) -> None:
        """Fail fast: ``decide`` (or executing what it decided) raised, so the state may be half
        updated and could leave an agent running with no record of it. Stop dispatching, kill
        every agent, and let the service exit non-zero, like h11 entering its ERROR state."""
        self._failure = exc
        self._queue.clear()
        log.critical(
            "orchestrator state machine failed, stopping every agent",
            core_event=type(event).__name__,
            error=f"{type(exc).__name__}: {exc}",
            exc_info=exc,
        )
        self._cancel_timers()
        self._pool.stop_all()
        self._failed.set()
        self._observers.state_changed()

    @property
    def failure(self) -> BaseException | None:
        """The exception that broke the state machine, if it broke."""
        return self._failure

    async def wait_failed(self) -> BaseException:
        """Returns once the state machine broke (every agent is being stopped by then)."""
        await self._failed.wait()
        assert self._failure is not None
        return self._failure

    def _execute(self, effect: Effect) -> None:
        match effect:
            case Log(level=level, message=message, fields=fields):
                log.log(level, message, **fields)
            case StartWorker():
                self._start_worker(effect)
            case StopWorker():
                self._stop_worker(effect)
            case ScheduleTick(delay_ms=delay):
                self._schedule_tick(delay)
            case SetRetryTimer(issue_id=issue_id, token=token, delay_ms=delay):
                self._cancel_retry(issue_id)
                self._retry_handles[issue_id] = self._call_later(
                    delay, self._apply, RetryDue(issue_id, token)
                )
            case CancelRetryTimer(issue_id=issue_id):
                self._cancel_retry(issue_id)
            case FetchTerminalIssues(states=states):
                self._tracker_read(
                    lambda a: read_by_states(a, states),
                    lambda issues, err: TerminalIssuesFetched(issues, err),
                )
            case FetchRunningIssues(tick_id=tick_id, issue_ids=ids):
                self._tracker_read(
                    lambda a: a.fetch_issues_by_ids(ids),
                    lambda issues, err: RunningRefreshed(tick_id, issues, err),
                )
            case FetchCandidates(tick_id=tick_id, states=states):
                self._tracker_read(
                    lambda a: read_by_states(a, states),
                    lambda issues, err: CandidatesFetched(tick_id, issues, err),
                )
            case FetchRetryIssue(issue_id=issue_id, token=token):
                self._tracker_read(
                    lambda a: a.fetch_issues_by_ids([issue_id]),
                    lambda issues, err: RetryIssueFetched(issue_id, token, issues, err),
                )
            case FetchChangedIssues(read_id=read_id, issue_ids=ids):
                self._tracker_read(
                    lambda a: a.fetch_issues_by_ids(ids),
                    lambda issues, err: ChangedIssuesFetched(read_id, issues, err),
                )
            case RemoveWorkspaces(issues=issues, paths=paths):
                recorded = dict(paths)
                for issue_id, identifier in issues:
                    self._remove_workspace(issue_id, identifier, recorded.get(issue_id))
                    self._remove_candidates(issue_id, identifier)
            case AckRefresh():
                self._ack = effect
            case Notify():
                self._observers.state_changed()
            case (
                RecordRunStarted()
                | RecordRunProgress()
                | RecordRunEnded()
                | RecordRetry()
                | ForgetRetry()
                | ForgetResume()
                | RecordHold()
                | ForgetHold()
                | RecordBudgetReset()
                | SaveCandidates()
                | ForgetCandidates()
            ):
                self._remember_candidates(effect)
                self._persist(effect)
            case JudgeCandidates(issue=issue, candidates=candidates):
                self._spawn(
                    self._judge_candidates(issue, candidates), name=f"judge-{issue.identifier}"
                )
            case PublishCandidates(issue=issue, candidates=candidates):
                self._spawn(
                    self._publish_candidates(issue, candidates),
                    name=f"publish-{issue.identifier}",
                )
            case AnnounceCandidatesFailed(
                issue=issue, candidates=candidates, attempt=attempt, delay_ms=delay
            ):
                body = failure_comment(candidates, attempt=attempt, delay_ms=delay)
                self._spawn(
                    announce_failed(
                        self._tracker.current, issue, body, timeout_s=self._tracker_timeout_s
                    ),
                    name=f"candidates-failed-{issue.identifier}",
                )
            case AnnounceHold(hold=hold):
                if self._workflow.config.agent.comment_on_hold:
                    adapter = self._tracker.current
                    timeout = self._tracker_timeout_s
                    self._spawn(
                        announce(adapter, hold, timeout_s=timeout), name=f"hold-{hold.identifier}"
                    )
            case _:
                assert_never(effect)

    def _persist(self, effect: StoreEffect) -> None:
        if self._persistence is not None:
            self._persistence.execute(effect, self._instant())
            if isinstance(effect, RecordRunEnded):
                # The run's tokens and runtime are in the totals now: keep both in step.
                self._persistence.save_totals(self._state.totals)

    def _save_totals_later(self) -> None:
        """Totals grow with every agent event; they are written every few seconds at most."""

        def save() -> None:
            if self._persistence is not None and not self._stopped:
                self._persistence.save_totals(self._state.totals)
                self._save_totals_later()

        self._totals_handle = self._timers().call_later(TOTALS_EVERY_S, save)

    # --- timers -----------------------------------------------------------------------------

    def _timers(self) -> LoopClock:
        """The injected clock, else the event loop's own."""
        return self._clock or self._loop or asyncio.get_running_loop()

    def _now_ms(self) -> float:
        return self._timers().time() * 1000.0

    def _instant(self) -> Instant:
        return Instant(self._now_ms(), datetime.now(UTC))

    def _call_later(
        self, delay_ms: float, callback: Callable[..., None], *args: Any
    ) -> asyncio.TimerHandle:
        return self._timers().call_later(max(delay_ms, 0.0) / 1000.0, callback, *args)

    def _cancel_timers(self) -> None:
        """The poll timer and every retry timer: nothing fires after a stop or a failure."""
        if self._tick_handle is not None:
            self._tick_handle.cancel()
            self._tick_handle = None
        for handle in self._retry_handles.values():
            handle.cancel()
        self._retry_handles.clear()
        if self._totals_handle is not None:
            self._totals_handle.cancel()
            self._totals_handle = None

    def _schedule_tick(self, delay_ms: float) -> None:
        if self._tick_handle is not None:
            self._tick_handle.cancel()
        self._tick_handle = self._call_later(delay_ms, self._on_tick)

    def _on_tick(self) -> None:
        self._tick_handle = None
        self._sync_config()
        # The core reads no clock: the UTC day for the daily cost cap comes with the tick.
        self._apply(TickDue(day=datetime.now(UTC).date().isoformat()))

    def _cancel_retry(self, issue_id: str) -> None:
        handle = self._retry_handles.pop(issue_id, None)
        if handle is not None:
            handle.cancel()

    # --- config reload (SPEC §6.2) ----------------------------------------------------------

    def _sync_config(self) -> None:
        """Defensive re-check before each tick, in case a filesystem event was missed."""
        self._store.check()
        self._push_config()

    def _on_reload(self, workflow: Workflow) -> None:
        if self._tracker.rebind(self._workflow, workflow):
            self._workflow = workflow
            self._follow_changes()
        self._push_config()

    # --- tracker change notices (instant dispatch) ------------------------------------------

    def _follow_changes(self) -> None:
        """Listen to the current adapter's change notices when it has them (``ChangeFeed``)."""
        adapter = self._tracker.current
        if adapter is self._watched:
            return
        if self._watch_task is not None:
            self._watch_task.cancel()
            self._watch_task = None
        self._watched = adapter
        if isinstance(adapter, ChangeFeed):
            self._watch_task = self._spawn(self._changes(adapter), name="tracker-changes")

    async def _changes(self, feed: ChangeFeed) -> None:
        try:
            async for _ in feed.watch_changes():
                self._apply(RefreshRequested())
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning(
                "tracker change notices stopped, polling continues",
                error=f"{type(exc).__name__}: {exc}",
            )

    def _push_config(self) -> None:
        error = self._store.error
        message = error.error.message if error is not None else self._tracker.error
        key = (self._workflow.version, message)
        if key == self._sent_config:
            return
        self._sent_config = key
        self._apply(ConfigChanged(scheduler_config(self._workflow.config), message))

    # --- tracker reads ----------------------------------------------------------------------

    def _tracker_read(
        self,
        call: Callable[[TrackerAdapter], Awaitable[Sequence[Issue]]],
        to_event: Callable[[Sequence[Issue], FetchError | None], Event],
    ) -> None:
        adapter = self._tracker.current

        async def read() -> None:
            try:
                issues = await asyncio.wait_for(call(adapter), timeout=self._tracker_timeout_s)
                event = to_event(tuple(issues), None)
            except TimeoutError:
                message = f"tracker did not answer within {self._tracker_timeout_s:g} s"
                event = to_event((), FetchError(TRACKER_TIMEOUT, message))
            except SymphonyError as exc:
                event = to_event((), FetchError(exc.code, exc.message))
            except Exception as exc:
                log.exception("tracker read failed unexpectedly")
                event = to_event((), FetchError("tracker_error", f"{type(exc).__name__}: {exc}"))
            self._apply(event)

        self._spawn(read(), name="tracker-read")

    def _spawn(self, coro: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._io_tasks.add(task)
        task.add_done_callback(self._io_tasks.discard)
        return task

    # --- workers ----------------------------------------------------------------------------

    def _services(self) -> WorkerServices:
        return WorkerServices(
            workspaces=self._workspaces,
            agents=self._backend_for,
            still_wanted=lambda issue: policy.still_wanted(issue, self._state.config),
            report=self._apply,
            on_agent_event=self._observers.agent_event,
            agent_logs=self._agent_logs,
            tracker_timeout_s=self._tracker_timeout_s,
            issue_reads=self._issue_reads,
            human=self._human,
            hand_offs=HandOffServices(
                proofs=self._proofs, is_hand_off=self._is_hand_off, run_cost=self._run_cost
            ),
            wrap_up_due=self._wrap_up_due,
        )

    def _wrap_up_due(self, issue_id: str, run_id: int) -> bool:
        entry = self._state.running.get(issue_id)
        return entry is not None and entry.run_id == run_id and entry.wrap_up

    def _run_cost(self, issue_id: str, run_id: int) -> float | None:
        entry = self._state.running.get(issue_id)
        return entry.cost_usd if entry is not None and entry.run_id == run_id else None

    def _is_hand_off(self, issue: Issue) -> bool:
        config = self._state.config
        return not policy.is_active(issue, config) and not policy.is_terminal(issue, config)

    def _backend_for(self, workflow: Workflow) -> AgentBackend:
        """The selector's answer, kept while the workflow stays the same: finding a backend
        scans the installed packages' entry points, far too slow to repeat per dispatch."""
        if self._backend is not None and self._backend[0] is workflow:
            return self._backend[1]
        backend = self._agents(workflow)
        self._backend = (workflow, backend)
        return backend

    def _start_worker(self, effect: StartWorker) -> None:
        adapter = self._tracker.current
        services = self._services()
        remote: RemoteHost | None = None
        if effect.worker_host is not None:
            remote = RemoteHost.from_entry(effect.worker_host)
            services = replace(services, workspaces=self._remote_workspaces(remote))
        spec = Attempt(
            effect.issue,
            effect.attempt,
            effect.run_id,
            self._workflow,
            adapter,
            resume_thread_id=effect.resume_thread_id,
            candidate=effect.candidate,
            remote=remote,
        )
        self._pool.start(spec, services)

    def _remote_workspaces(self, remote: RemoteHost) -> RemoteWorkspaces:
        """The workspaces of one SSH worker host under the current ``workspace.root``."""
        strip = child_secret_names(self._workflow, self._tracker.secret_environment_names())
        return RemoteWorkspaces(
            remote.target,
            raw_root=self._workflow.config.worker.remote_root,
            ssh_config=remote.ssh_config,
            strip_env=strip,
        )

    async def _adopt(self, identifier: str, picked: CandidateSet) -> None:
        """The chosen candidate's workspace becomes the issue's; the others are removed (their
        ``before_remove`` runs). Later runs are the issue's one run (``CandidatePicked``)."""
        config = self._workflow.config
        root, hooks = config.workspace.root, config.hooks
        strip = child_secret_names(self._workflow, self._tracker.secret_environment_names())
        chosen = picked.chosen
        assert chosen is not None
        self._execute(SaveCandidates(picked))
        workspaces = self._workspaces
        if not isinstance(workspaces, AdoptingWorkspaces):
            log.warning("these workspaces cannot adopt a candidate's; it stays where it is")
            return
        try:
            await workspaces.remove(identifier, root=root, hooks=hooks, strip_env=strip)
            await workspaces.adopt(
                candidate_key(identifier, chosen.name),
                identifier,
                root=root,
                hooks=hooks,
                strip_env=strip,
            )
        except SymphonyError as exc:
            log.warning("adopting the chosen candidate failed", error=exc.message)
        for c in picked.candidates:
            if c is chosen:
                continue
            try:
                await self._workspaces.remove(
                    candidate_key(identifier, c.name), root=root, hooks=hooks, strip_env=strip
                )
            except SymphonyError as exc:
                log.warning("removing a candidate's workspace failed", error=exc.message)

    def _remove_candidates(self, issue_id: str, identifier: str) -> None:
        """A terminal issue that had best-of candidates: the workspaces of those not chosen go
        too, and so does the chosen one's under the issue's key (its recorded path may still
        be the candidate's)."""
        candidates = self._candidate_sets.get(identifier)
        if candidates is None:
            return
        self._execute(ForgetCandidates(candidates.issue_id))
        config = self._workflow.config
        strip = child_secret_names(self._workflow, self._tracker.secret_environment_names())
        keys = [candidate_key(identifier, c.name) for c in candidates.candidates]
        if candidates.chosen is not None:
            keys.append(identifier)

        async def remove() -> None:
            for key in keys:
                try:
                    await self._workspaces.remove(
                        key, root=config.workspace.root, hooks=config.hooks, strip_env=strip
                    )
                except SymphonyError as exc:
                    log.warning("removing a candidate's workspace failed", error=exc.message)

        self._pool.after(
            issue_id,
            remove,
            name=f"cleanup-candidates-{identifier}",
            context=issue_task_context(issue_id, identifier),
        )

    def _after_issue(self, issue_id: str, identifier: str, work: Coroutine[Any, Any, None]) -> None:
        async def run() -> None:
            await work

        self._pool.after(
            issue_id,
            run,
            name=f"candidates-{identifier}",
            context=issue_task_context(issue_id, identifier),
        )

    async def _reset_candidates(self, identifier: str, candidates: CandidateSet) -> None:
        """Rework of an issue nobody picked a candidate of: every candidate's workspace goes,
        and the next run starts K new ones."""
        config = self._workflow.config
        strip = child_secret_names(self._workflow, self._tracker.secret_environment_names())
        self._execute(ForgetCandidates(candidates.issue_id))
        for c in candidates.candidates:
            try:
                await self._workspaces.remove(
                    candidate_key(identifier, c.name),
                    root=config.workspace.root,
                    hooks=config.hooks,
                    strip_env=strip,
                )
            except SymphonyError as exc:
                log.warning("removing a candidate's workspace failed", error=exc.message)

    def _remember_candidates(self, effect: StoreEffect) -> None:
        """The latest candidate set of each issue, for its detail (``candidates``)."""
        if isinstance(effect, SaveCandidates):
            self._candidate_sets[effect.candidates.identifier] = effect.candidates
        elif isinstance(effect, ForgetCandidates):
            for identifier, candidates in list(self._candidate_sets.items()):
                if candidates.issue_id == effect.issue_id:
                    del self._candidate_sets[identifier]

    async def _judge_candidates(self, issue: Issue, candidates: CandidateSet) -> None:
        """Judging (docs/best-of.md): never raises; the core always hears it ended. The judge's
        scratch directory is gone before the issue moves."""
        workflow = self._workflow
        config = workflow.config
        strip = child_secret_names(workflow, self._tracker.secret_environment_names())
        judged = candidates
        # Beside the workspaces; no workspace key holds a "~", so it never is one.
        scratch = config.workspace.root / f".judge~{workspace_key(issue.identifier)}"
        try:
            judge_turn = None
            if config.agent.judge:
                judge_turn = agent_judge_turn(self._backend_for(workflow), workflow, issue, strip)
            judged, _ = await judge(
                candidates,
                issue,
                config=config,
                workspaces=self._workspaces,
                strip_env=strip,
                scratch=scratch,
                judge_turn=judge_turn,
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.exception("judging candidates failed", error=error)
            self._apply(CandidatesJudged(issue.id, judged, False, error))
            return
        finally:
            if config.agent.judge:
                await asyncio.to_thread(shutil.rmtree, scratch, True)
        await self._publish_candidates(issue, judged)

    async def _publish_candidates(self, issue: Issue, candidates: CandidateSet) -> None:
        """A judged issue's move to review, tried again (``PublishCandidates``): never raises."""
        config, adapter = self._workflow.config, self._tracker.current
        try:
            published = await try_publish(
                adapter,
                issue,
                candidates,
                review_state=config.review.states[0],
                review_hint=review_hint(issue.identifier),
                timeout_s=self._tracker_timeout_s,
            )
            moved, error = published.state is not None, published.error
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            moved, error = False, f"{type(exc).__name__}: {exc}"
            log.exception("moving judged candidates to review failed", error=error)
        self._apply(CandidatesJudged(issue.id, candidates, moved, error))

    def _stop_worker(self, effect: StopWorker) -> None:
        self._pool.stop(effect.issue_id, effect.run_id)
        if effect.cleanup:
            self._remove_workspace(effect.issue_id, effect.identifier, effect.workspace_path)

    def _remove_workspace(self, issue_id: str, identifier: str, recorded: str | None) -> None:
        config = self._workflow.config
        strip = child_secret_names(self._workflow, self._tracker.secret_environment_names())
        hosts = config.worker.ssh_hosts

        async def remove_on(workspaces: Workspaces, where: str | None) -> None:
            try:
                if recorded is not None and where is None:
                    await workspaces.remove_path(
                        Path(recorded),
                        root=config.workspace.root,
                        hooks=config.hooks,
                        strip_env=strip,
                        identifier=identifier,
                    )
                else:
                    await workspaces.remove(
                        identifier,
                        root=config.workspace.root,
                        hooks=config.hooks,
                        strip_env=strip,
                    )
            except SymphonyError as exc:
                fields = {"worker_host": where} if where is not None else {}
                log.warning("workspace cleanup failed", error=exc.message, **fields)

        async def remove() -> None:
            if not hosts:
                await remove_on(self._workspaces, None)
                return

            # A workspace may be on any host (a retry moves when its host is down): every
            # host removes its copy, each bounded by hooks.timeout_ms.
            async def remove_on_host(host: str) -> None:
                async with self._cleanup_slots.setdefault(
                    host, asyncio.Semaphore(REMOTE_CLEANUPS_PER_HOST)
                ):
                    await remove_on(self._remote_workspaces(RemoteHost.from_entry(host)), host)

            await asyncio.gather(*(remove_on_host(host) for host in hosts))

        # In the issue's log context, so the before_remove hook's lines carry the issue too.
        self._pool.after(
            issue_id,
            remove,
            name=f"cleanup-{identifier}",
            context=issue_task_context(issue_id, identifier),
        )

    def _notify_tracker(self, record: RequestRecord | SteerRecord) -> None:
        """``agent.notify_tracker_on_request``: one comment per request when it is parked."""
        if not isinstance(record, RequestRecord) or record.status != "pending":
            return
        if not self._workflow.config.agent.notify_tracker_on_request:
            return
        adapter = self._tracker.current
        if not isinstance(adapter, IssueComments):
            log.info("tracker cannot comment; not notifying", tracker=adapter.kind)
            return

        async def post() -> None:
            try:
                await asyncio.wait_for(
                    adapter.post_comment(
                        record.issue_id, record.issue_identifier, request_comment(record)
                    ),
                    timeout=self._tracker_timeout_s,
                )
            except (SymphonyError, TimeoutError) as exc:
                log.warning(
                    "could not tell the tracker that an agent waits",
                    issue_id=record.issue_id,
                    issue_identifier=record.issue_identifier,
                    error=getattr(exc, "message", None) or type(exc).__name__,
                )

        self._spawn(post(), name=f"notify-{record.issue_identifier}")

    def _stop_grace_s(self) -> float:
        return self._workflow.config.hooks.timeout_ms / 1000.0 + STOP_MARGIN_S

    def _workspaces_path(self, identifier: str) -> Path:
        return self._workflow.config.workspace.root / workspace_key(identifier)
