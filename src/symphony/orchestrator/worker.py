"""One worker attempt: workspace, prompt and agent turns (SPEC §10.7, §16.5).

workspace -> ``before_run`` -> render prompt -> start session -> turn 1 with the full prompt ->
after each completed turn re-fetch the issue and, while it stays active and routable, continue on
the same thread with continuation guidance, up to ``agent.max_turns`` -> stop session ->
``after_run``. ``after_run`` runs whenever the workspace was prepared, also when the attempt fails
or is cancelled. Every failure comes back as ``AttemptResult(ok=False, error=...)``, which the core
turns into a retry; cancellation (reconciliation, stall, shutdown) propagates after cleanup.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from symphony.agents.base import AgentBackend, AgentSession
from symphony.agents.events import AgentEvent
from symphony.agents.tools import ToolRegistry
from symphony.core.candidates import CandidateRef, candidate_key
from symphony.core.events import AgentUpdate, Event, TurnMeasured, WorkerInfo
from symphony.core.state import run_key
from symphony.errors import SymphonyError
from symphony.issue import Issue, IssueComment
from symphony.logs import get_logger
from symphony.orchestrator.candidate_tools import CandidateTools, hand_off_spec
from symphony.orchestrator.handoff import HandOff, HandOffServices, RunLedger
from symphony.orchestrator.human_desk import HumanDesk
from symphony.orchestrator.issue_reads import IssueReads
from symphony.orchestrator.ports import AgentLogSource, BackendSelector, Workspaces
from symphony.orchestrator.progress import Progress, TrackerWrites
from symphony.ssh import HOST_UNREACHABLE
from symphony.ssh_exec import RemoteHost
from symphony.trackers.base import (
    TRACKER_ISSUE_NOT_FOUND,
    TRACKER_REQUEST,
    IssueConversation,
    TrackerAdapter,
    TrackerError,
)
from symphony.trackers.candidate_writes import state_change_check
from symphony.workflow.store import Workflow

log = get_logger("symphony.orchestrator.worker")

DEFAULT_TRACKER_TIMEOUT_S = 60.0
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class AttemptResult:
    ok: bool
    error: str | None = None
    code: str | None = None  # the error's stable code, e.g. turn_timeout
    # This machine's setup failed it, not the issue (AgentError.environment; core.outage).
    environment: bool = False
    # A best-of candidate called symphony_hand_off: its summary (docs/best-of.md).
    handed_off: str | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one attempt is bound to: the issue and the config/adapter snapshots at dispatch."""

    issue: Issue
    attempt: int | None
    run_id: int
    workflow: Workflow
    adapter: TrackerAdapter
    # Continue this agent thread (a run a restart cut short) instead of starting a new one.
    resume_thread_id: str | None = None
    # Which best-of candidate this run is (docs/best-of.md); None: the issue's one run.
    candidate: CandidateRef | None = None

    @property
    def run_key(self) -> str:
        """What the run's reports to the core are keyed by (``RunningEntry.run_key``)."""
        return run_key(self.issue.id, self.candidate.name if self.candidate else None)

    @property
    def workspace_issue(self) -> Issue:
        """The issue as the workspace and its hooks see it: a candidate works in its own
        workspace, keyed ``<issue key>.<name>``."""
        if self.candidate is None:
            return self.issue
        return replace(
            self.issue, identifier=candidate_key(self.issue.identifier, self.candidate.name)
        )

    # Run on this SSH worker host (``svc.workspaces`` are that host's); None: this machine.
    remote: RemoteHost | None = None


@dataclass(frozen=True, slots=True)
class WorkerServices:
    workspaces: Workspaces
    agents: BackendSelector
    # Active and routable under the *current* config (a reload applies between turns).
    still_wanted: Callable[[Issue], bool]
    report: Callable[[Event], None]
    on_agent_event: Callable[[Issue, int, AgentEvent], None] | None = None
    agent_logs: AgentLogSource | None = None
    tracker_timeout_s: float = DEFAULT_TRACKER_TIMEOUT_S
    # Reads by id of workers starting together share requests (the runtime passes its one).
    issue_reads: IssueReads = field(default_factory=IssueReads)
    # Parks what the agent asks a human and routes steering to the session (None: the backend
    # answers such requests itself).
    human: HumanDesk | None = None
    # Proofs of work, the verify gate and Rework from scratch (None: a run whose issue leaves
    # the active states just ends, as before hand-offs existed, and workspaces never reset).
    hand_offs: HandOffServices | None = None
    # Whether the run crossed agent.wrap_up_at of a budget (issue id, run id); None: never.
    wrap_up_due: Callable[[str, int], bool] | None = None


def agent_update(issue_id: str, run_id: int, event: AgentEvent) -> AgentUpdate:
    """Translate a backend's agent event into the core's input (SPEC §10.4 fields)."""
    return AgentUpdate(
        issue_id=issue_id,
        run_id=run_id,
        event=event.event,
        session_id=event.session_id,
        thread_id=event.thread_id,
        turn_id=event.turn_id,
        pid=str(event.pid) if event.pid is not None else None,
        message=event.message,
        usage=event.usage,
        rate_limits=event.rate_limits,
        model=event.model,
        cost_usd=event.cost_usd,
    )


def child_secret_names(workflow: Workflow, secrets_of_adapter: frozenset[str]) -> frozenset[str]:
    """Environment names no child (hook or agent) may inherit: the tracker adapter's secrets and
    the variables the workflow itself resolved secrets from (e.g. ``server.access_token``)."""
    return secrets_of_adapter | frozenset(workflow.loaded.secret_env_names)


async def run_attempt(spec: Attempt, svc: WorkerServices) -> AttemptResult:
    """Run one attempt; call it in the issue's log context (``WorkerPool`` does), which gives
    every line logged here ``issue_id`` and ``issue_identifier``."""
    if spec.candidate is not None:
        spec = replace(spec, workflow=spec.workflow.for_candidate(spec.candidate.index))
    comments = _Comments(
        spec.adapter,
        svc.tracker_timeout_s,
        svc.issue_reads,
        for_prompt=spec.workflow.template.reads_comments,
    )
    if not spec.issue.summary:
        comments.start(spec.issue)
    try:
        return await _attempt(spec, svc, comments)
    finally:
        comments.cancel()


async def _attempt(spec: Attempt, svc: WorkerServices, comments: _Comments) -> AttemptResult:
    config = spec.workflow.config
    started = time.monotonic()  # the run's wall time, for its proof of work
    strip = child_secret_names(spec.workflow, spec.adapter.secret_environment_names())
    log.info("worker attempt starting", attempt=spec.attempt)
    if spec.issue.summary:
        # The poll read a summary without description, branch name or updatedAt; the hooks,
        # the prompt and the agent get the whole issue, as the tracker has it now. An issue
        # from a read by id (a retry, a webhook) is whole already: no second request.
        # Where the tracker can, the comments come in the same (shared) read.
        together = comments.wanted and svc.issue_reads.reads_comments(spec.adapter)
        current = await _current_issue(spec, svc, spec.issue.id, with_comments=together)
        if isinstance(current, AttemptResult):
            return current
        if current is None:
            log.info("issue no longer visible, not starting")
            return AttemptResult(True)
        if not svc.still_wanted(current):
            log.info("issue left the active states, not starting", state=current.state)
            return AttemptResult(True)
        if together:
            comments.known(current.comments)
            current = replace(current, comments=())
        spec = replace(spec, issue=current)
        comments.start(current)
    issue = spec.workspace_issue
    try:
        if await _start_over(spec, svc, strip):
            # A new workspace gets a new conversation, even for a run a restart cut short.
            spec = replace(spec, resume_thread_id=None)
        workspace = await svc.workspaces.prepare(
            issue,
            root=config.workspace.root,
            hooks=config.hooks,
            attempt=spec.attempt,
            strip_env=strip,
        )
    except SymphonyError as exc:
        return _failed("workspace error", exc)
    transcript = _open_transcript(svc.agent_logs, issue, spec.attempt)
    log_path = getattr(transcript, "path", None)
    svc.report(
        WorkerInfo(
            spec.run_key,
            spec.run_id,
            str(workspace.path),
            (("latest", str(log_path)),) if log_path is not None else (),
        )
    )
    result: AttemptResult | None = None
    try:
        result = await _run_in_workspace(spec, svc, workspace, transcript, strip, started, comments)
        return result
    finally:
        # The transcript says how the attempt ended, so a log with no protocol lines (a launch
        # refused before the agent started) still explains itself.
        _note_outcome(transcript, result)
        if result is None or result.code != HOST_UNREACHABLE:
            # A lost worker host is not waited for: its failure reaches the core at once.
            await svc.workspaces.after_run(
                workspace, issue, hooks=config.hooks, attempt=spec.attempt, strip_env=strip
            )
        await _close(transcript)


async def _start_over(spec: Attempt, svc: WorkerServices, strip: frozenset[str]) -> bool:
    """Rework from scratch (``workspace.reset_states``): remove the workspace of an issue sent
    back after a hand-off, so ``prepare`` creates it anew. The mark is set only after the removal,
    so a failure or a crash in between starts over again on the retry instead of reusing half of
    the old attempt."""
    issue = spec.issue
    config = spec.workflow.config
    if spec.candidate is not None:
        return False  # a rework starts new candidates in new workspaces
    if svc.hand_offs is None or not config.workspace.resets_in(issue.state):
        return False
    marks = svc.hand_offs.proofs
    if not await _bounded_mark(marks.needs_reset(issue.id), issue, svc.tracker_timeout_s):
        return False
    log.info("issue sent back after its hand-off, starting over", state=issue.state)
    await svc.workspaces.remove(
        issue.identifier,
        root=config.workspace.root,
        hooks=config.hooks,
        issue=issue,
        strip_env=strip,
    )
    await _bounded_mark(marks.mark_reset(issue.id), issue, svc.tracker_timeout_s)
    return True


async def _bounded_mark(call: Awaitable[_T], issue: Issue, timeout_s: float) -> _T:
    try:
        return await asyncio.wait_for(call, timeout=timeout_s)
    except TimeoutError:
        raise SymphonyError(
            f"the state store did not answer within {timeout_s:g} s while checking whether "
            f"{issue.identifier} starts over",
            code="storage_timeout",
        ) from None


async def _run_in_workspace(
    spec: Attempt,
    svc: WorkerServices,
    workspace: Any,
    transcript: Any,
    strip: frozenset[str],
    started: float,
    comments: _Comments,
) -> AttemptResult:
    issue = spec.issue
    config = spec.workflow.config
    stage = "before_run hook error"
    try:
        await svc.workspaces.before_run(
            workspace,
            spec.workspace_issue,
            hooks=config.hooks,
            attempt=spec.attempt,
            strip_env=strip,
        )
        stage = "issue comments error"
        issue = await comments.attach(issue)
        stage = "prompt error"
        # Rendered before launching the agent: a template error costs no process (SPEC §12.4).
        prompt = spec.workflow.render_prompt(issue, spec.attempt, spec.candidate)
        stage = "agent session startup error"

        def on_event(event: AgentEvent) -> None:
            svc.report(agent_update(spec.run_key, spec.run_id, event))
            if svc.on_agent_event is not None:
                svc.on_agent_event(issue, spec.run_id, event)

        backend = svc.agents(spec.workflow)
        # Bound to the adapter of this attempt for the session's lifetime (SPEC §10.5).
        specs = list(spec.adapter.agent_tool_specs())
        candidate_tools: CandidateTools | None = None
        if spec.candidate is not None:
            candidate_tools = CandidateTools(
                spec.adapter.execute_agent_tool,
                spec.candidate,
                state_change_check(spec.adapter),
            )
            specs.append(hand_off_spec(spec.candidate))
        writes = TrackerWrites(candidate_tools or spec.adapter.execute_agent_tool)
        tools = ToolRegistry(specs, writes)
        desk = svc.human
        channel = desk.open_run(issue, spec.run_id, spec.attempt) if desk is not None else None
        # Only when resuming, so backends written before resuming existed keep working.
        resume: dict[str, Any] = (
            {"resume_thread_id": spec.resume_thread_id} if spec.resume_thread_id else {}
        )
        if spec.remote is not None:
            resume["remote"] = spec.remote
        try:
            session = await backend.start_session(
                workspace=Path(workspace.path),
                issue=issue,
                tools=tools,
                strip_env=strip,
                on_event=on_event,
                transcript=transcript,
                workflow=spec.workflow,
                human=channel,
                **resume,
            )
            if desk is not None:
                desk.attach_session(issue.id, spec.run_id, session)
            if getattr(session, "resumed", False):
                # The thread holds the conversation already: carry on rather than start over.
                log.info("agent thread resumed", thread_id=spec.resume_thread_id)
                prompt = backend.continuation_prompt(2, spec.workflow.config.agent.max_turns, issue)
            try:
                stage = "agent turn error"
                # A candidate hands off with its tool; the issue's review comes after all of them.
                hand_off = (
                    None if candidate_tools else _hand_off(spec, svc, workspace, strip, started)
                )
                # A worker host's workspace is read on the host (docs/workers.md).
                remote_digest = getattr(svc.workspaces, "fingerprint", None)
                digest = (
                    functools.partial(remote_digest, workspace)
                    if spec.remote is not None and remote_digest is not None
                    else None
                )
                progress = Progress(Path(workspace.path), writes, digest)
                return await _turns(
                    spec, svc, backend, session, prompt, hand_off, progress, candidate_tools
                )
            finally:
                await _stop_session(session)
        finally:
            if desk is not None:
                desk.close_run(issue.id, spec.run_id)
    except SymphonyError as exc:
        return _failed(stage, exc)


async def _turns(
    spec: Attempt,
    svc: WorkerServices,
    backend: AgentBackend,
    session: AgentSession,
    prompt: str,
    hand_off: HandOff | None,
    progress: Progress | None = None,
    candidate: CandidateTools | None = None,
) -> AttemptResult:
    issue = spec.issue
    max_turns = spec.workflow.config.agent.max_turns
    measure = progress is not None and spec.workflow.config.agent.max_unproductive_turns > 0
    turn = 1
    text = prompt
    wrapped_up = False
    while True:
        came_from = issue.state
        if measure and progress is not None:
            await progress.turn_started()
        outcome = await session.run_turn(text, issue=issue)
        if measure and progress is not None:
            productive = await progress.turn_ended()
            svc.report(TurnMeasured(spec.run_key, spec.run_id, productive))
        if hand_off is not None:
            hand_off.ledger.add(outcome)
        log.info("agent turn completed", turn=turn, max_turns=max_turns)
        if candidate is not None and candidate.summary is not None:
            # symphony_hand_off: no continuation turn (docs/best-of.md).
            log.info("candidate done", candidate=candidate.candidate.name, turn=turn)
            return AttemptResult(True, handed_off=candidate.summary)
        current = await _current_issue(spec, svc, issue.id)
        if isinstance(current, AttemptResult):
            return current
        if current is None:
            log.info("issue no longer visible, ending run")
            return AttemptResult(True)
        issue = current
        retry: str | None = None
        if not svc.still_wanted(issue):
            if hand_off is None or svc.hand_offs is None or not svc.hand_offs.is_hand_off(issue):
                log.info("issue left the active states, ending run", state=issue.state)
                return AttemptResult(True)
            issue, retry = await hand_off.run(issue, came_from)
            if retry is None:
                return AttemptResult(True)
        elif turn >= max_turns:
            log.info("max turns reached, handing back to the orchestrator")
            return AttemptResult(True)
        turn += 1
        # A verify retry turn runs even past agent.max_turns: review.max_verify_retries bounds it.
        if retry is not None:
            text = retry
        elif (
            not wrapped_up
            and svc.wrap_up_due is not None
            and svc.wrap_up_due(spec.run_key, spec.run_id)
        ):
            # Once per run: the budget is nearly spent (docs/holds.md, budgets).
            wrapped_up = True
            log.info("budget nearly spent: wrap-up turn", turn=turn)
            text = spec.workflow.config.agent.wrap_up_prompt
        else:
            text = backend.continuation_prompt(turn, max_turns, issue)


def _wrap_up_due(svc: WorkerServices, issue_id: str, run_id: int) -> bool:
    return svc.wrap_up_due is not None and svc.wrap_up_due(issue_id, run_id)


def _hand_off(
    spec: Attempt, svc: WorkerServices, workspace: Any, strip: frozenset[str], started: float
) -> HandOff | None:
    if svc.hand_offs is None:
        return None
    return HandOff(
        services=svc.hand_offs,
        workspaces=svc.workspaces,
        report=svc.report,
        adapter=spec.adapter,
        config=spec.workflow.config,
        workspace=workspace,
        run_id=spec.run_id,
        attempt=spec.attempt,
        strip_env=strip,
        tracker_timeout_s=svc.tracker_timeout_s,
        ledger=RunLedger(started=started),
    )


class _Comments:
    """The issue's conversation (``issue.comments``) when the tracker offers one, read once per
    attempt (polls and refreshes never need it). The refresh of a polled summary brings it along
    when the tracker can read both at once (``ConversationReads``). Otherwise the read starts as
    soon as the whole issue is known and runs while the workspace is prepared: only the prompt
    needs it, so a dispatch waits one tracker round trip less. Where the tracker can, that read
    too is one shared read of issues with their comments, so a burst of dispatches makes a few
    requests rather than one each. (Not before the refresh of a polled summary: a burst of
    separate comment reads would queue in front of the one batched refresh.)"""

    def __init__(
        self, adapter: TrackerAdapter, timeout_s: float, reads: IssueReads, *, for_prompt: bool
    ) -> None:
        # A prompt that never looks at the comments gets none: no request is made for them.
        self._adapter = adapter if for_prompt and isinstance(adapter, IssueConversation) else None
        self._timeout_s = timeout_s
        self._reads = reads
        self._task: asyncio.Future[list[IssueComment]] | None = None

    @property
    def wanted(self) -> bool:
        """Whether the prompt gets comments and they are not read yet."""
        return self._adapter is not None and self._task is None

    def known(self, comments: Sequence[IssueComment]) -> None:
        """The comments, read along with the issue: no read of their own."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_future()
            self._task.set_result(list(comments))

    def start(self, issue: Issue) -> None:
        if self._adapter is None or self._task is not None:
            return
        read = (
            self._shared(issue)
            if self._reads.reads_comments(self._adapter)
            else self._adapter.fetch_issue_comments(issue.id, issue.identifier)
        )
        self._task = asyncio.ensure_future(asyncio.wait_for(read, timeout=self._timeout_s))
        # An attempt that ends before its prompt never looks at the result; nor should asyncio.
        self._task.add_done_callback(lambda done: done.cancelled() or done.exception())

    async def _shared(self, issue: Issue) -> list[IssueComment]:
        assert self._adapter is not None
        found = await self._reads.read(self._adapter, issue.id, with_comments=True)
        if found is None:
            raise TrackerError(
                TRACKER_ISSUE_NOT_FOUND,
                f"the tracker no longer shows {issue.identifier}, so it has no comments to read",
            )
        return list(found.comments)

    async def attach(self, issue: Issue) -> Issue:
        """``issue`` with its conversation."""
        self.start(issue)
        if self._task is None:
            return issue
        try:
            read = await self._task
        except TimeoutError:
            raise TrackerError(
                TRACKER_REQUEST,
                f"the tracker did not return the comments of {issue.identifier} within "
                f"{self._timeout_s:g} s",
                retryable=True,
            ) from None
        return replace(issue, comments=tuple(read))

    def cancel(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()


async def _current_issue(
    spec: Attempt, svc: WorkerServices, issue_id: str, *, with_comments: bool = False
) -> Issue | AttemptResult | None:
    """The issue as the tracker has it now, None when it is no longer visible, or the failed
    attempt when the tracker could not say."""
    try:
        read = svc.issue_reads.read(spec.adapter, issue_id, with_comments=with_comments)
        return await asyncio.wait_for(read, timeout=svc.tracker_timeout_s)
    except TimeoutError:
        return AttemptResult(
            False,
            f"issue state refresh error: tracker did not answer within {svc.tracker_timeout_s:g} s",
            "tracker_timeout",
        )
    except SymphonyError as exc:
        return _failed("issue state refresh error", exc)


def _failed(stage: str, exc: SymphonyError) -> AttemptResult:
    # The orchestrator logs the returned error once as a warning ("agent run failed").
    log.debug("worker attempt failed", stage=stage, code=exc.code, error=exc)
    environment = bool(getattr(exc, "environment", False))
    return AttemptResult(False, f"{stage}: [{exc.code}] {exc.message}", exc.code, environment)


async def _stop_session(session: AgentSession) -> None:
    try:
        await session.stop()
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.warning("agent session stop failed", error=exc)


def _open_transcript(logs: AgentLogSource | None, issue: Issue, attempt: int | None) -> Any:
    if logs is None:
        return None
    try:
        return logs.open(issue.identifier, attempt, issue_id=issue.id)
    except Exception as exc:  # a log file must never fail the attempt
        log.warning("agent transcript unavailable", error=exc)
        return None


def _note_outcome(transcript: Any, result: AttemptResult | None) -> None:
    write = getattr(transcript, "write", None)
    if not callable(write):
        return
    if result is None:
        outcome = "attempt stopped before it finished"
    elif result.ok:
        outcome = "attempt finished"
    else:
        outcome = f"attempt failed: {result.error}"
    with contextlib.suppress(Exception):
        write("note", outcome)


async def _close(transcript: Any) -> None:
    close = getattr(transcript, "close", None)
    if not callable(close):
        return
    with contextlib.suppress(Exception):
        result = close()
        if inspect.isawaitable(result):
            await result
