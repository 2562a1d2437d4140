"""After a restart: what the store kept becomes state again, under the core's own rules.

- A retry keeps its due time and attempt: its timer is armed for what is left (a retry already
  due fires at once), so the next failure backs off from that attempt.
- A run the restart cut short is no failure and holds no claim: it waits in ``resumable`` for
  the first poll. If the tracker still lists the issue as a candidate, the issue is dispatched
  first, with the same attempt, continuing the same agent thread; otherwise it is dropped. The
  tracker stays the source of truth for which issues are active.
- History and totals continue where they were.
"""

from __future__ import annotations

from collections.abc import Sequence

from symphony.core import best_of, budgets
from symphony.core.effects import CancelRetryTimer, ForgetResume, ForgetRetry, Log
from symphony.core.events import Restored
from symphony.core.records import record_for, timed_retry
from symphony.core.state import OrchestratorState, Spend
from symphony.core.transitions import Effects
from symphony.issue import Issue


def restored(state: OrchestratorState, event: Restored, now: float, out: Effects) -> None:
    if state.started:
        return  # only a fresh service takes over stored state
    state.picked.update(event.picked)
    best_of.restore(state, event.open_candidates, now, out)
    totals = state.totals
    totals.tokens.input_tokens += event.input_tokens
    totals.tokens.output_tokens += event.output_tokens
    totals.tokens.total_tokens += event.total_tokens
    totals.ended_seconds += event.seconds_running
    totals.cost_usd += event.cost_usd
    if event.day is not None:
        state.day = event.day
        state.day_cost_usd += event.day_cost_usd
        budgets.check_day(state, out)
    state.next_run_id = max(state.next_run_id, event.next_run_id)
    for row in event.history:
        record = record_for(state, row.issue_id, row.identifier)
        run = row.run
        record.runs_history.append(run)
        record.runs += 1
        record.issue_url = row.issue_url or record.issue_url
        record.workspace_path = run.workspace_path or record.workspace_path
        if run.error is not None:
            record.last_error = run.error
        record.restored = True
    for issue_id, tokens, runtime_ms, cost_usd in event.spent:
        state.spent[issue_id] = Spend(tokens, runtime_ms, cost_usd)
    for hold in event.holds:
        state.holds[hold.issue_id] = hold
    for retry in event.retries:
        if retry.issue_id in state.holds:
            out.append(ForgetRetry(retry.issue_id))  # a hold outranks a stored retry
            continue
        delay = max(retry.due_ms - now, 0.0)
        entry = timed_retry(
            state,
            retry.issue_id,
            issue_id=retry.issue_id,
            identifier=retry.identifier,
            issue_url=retry.issue_url,
            attempt=retry.attempt,
            due_ms=retry.due_ms,
            delay_ms=delay,
            out=out,
            kind=retry.kind,
            error=retry.error,
            worker_host=retry.worker_host,
        )
        state.retry_attempts[retry.issue_id] = entry
        out.append(
            Log.info(
                "retry restored",
                issue_id=retry.issue_id,
                issue_identifier=retry.identifier,
                attempt=retry.attempt,
                delay_ms=int(delay),
                kind=retry.kind,
            )
        )
    for resume in event.resumable:
        if resume.issue_id in state.retry_attempts or resume.issue_id in state.candidate_sets:
            # A retry already decided what comes next for this issue (or its candidate set:
            # an interrupted candidate continues as that candidate, not as the issue's run).
            out.append(ForgetResume(resume.issue_id))
            continue
        state.resumable[resume.issue_id] = resume
        out.append(
            Log.info(
                "interrupted run restored, resuming at the first poll",
                issue_id=resume.issue_id,
                issue_identifier=resume.identifier,
                attempt=resume.attempt,
                thread_id=resume.thread_id,
            )
        )


def resumable_first(state: OrchestratorState, ordered: Sequence[Issue]) -> list[Issue]:
    """Candidates in dispatch order, the cut-short runs' issues first: they had a slot."""
    if not state.resumable:
        return list(ordered)
    first = [i for i in ordered if i.id in state.resumable]
    return first + [i for i in ordered if i.id not in state.resumable]


def drop_unwanted(state: OrchestratorState, candidates: Sequence[Issue], out: Effects) -> None:
    """After a poll: a cut-short run whose issue is no candidate any more is not resumed."""
    if not state.resumable:
        return
    listed = {i.id for i in candidates}
    for issue_id, resume in list(state.resumable.items()):
        if issue_id in listed:
            continue  # still wanted, waiting for a slot
        del state.resumable[issue_id]
        out.append(ForgetResume(issue_id))
        out.append(
            Log.info(
                "interrupted run not resumed, the issue is no longer a candidate",
                issue_id=issue_id,
                issue_identifier=resume.identifier,
            )
        )


def release_terminal_retries(
    state: OrchestratorState, terminal: Sequence[Issue], out: Effects
) -> list[tuple[str, str]]:
    """At startup: restored retries of issues that became terminal while the service was down
    are released (their workspaces go with the startup cleanup)."""
    released: list[tuple[str, str]] = []
    for issue in terminal:
        entry = state.retry_attempts.get(issue.id)
        if entry is None:
            continue
        del state.retry_attempts[issue.id]
        released.append((issue.id, issue.identifier))
        out.append(CancelRetryTimer(issue.id))
        out.append(ForgetRetry(issue.id))
        out.append(Log.info("claim released", about=issue, reason=f"issue is {issue.state}"))
    return released
