"""A problem that fails every agent run alike: shown once, and dispatch backs off as a whole.

When a run fails because of this machine's setup rather than its issue (the agent binary is
missing, it has no credentials, its sandbox cannot start: the error says ``environment``), every
other issue would fail the same way. So instead of each issue's retry row repeating the error:

- the problem is kept once (``Outage``), for the dashboard's banner, the terminal view and
  ``agent_problem`` in ``/api/v1/state``; retry rows only point at it;
- no run starts until ``retry_ms`` (the failure backoff of SPEC §8.4, counted per outage), then
  exactly one run probes whether it is fixed;
- the outage ends when a run gets its agent session started or completes, or when the probe
  fails for another reason (the problem is gone; the issue's own failure is retried as usual);
  a workflow reload lets the next probe start at once (the fix may be in it).
"""

from __future__ import annotations

from symphony.core import policy
from symphony.core.effects import Effect, Log, Notify
from symphony.core.state import OrchestratorState, Outage


def waiting_error(outage: Outage) -> str:
    """What a retry row says while the outage lasts (the details are in the outage)."""
    return f"waiting: agents cannot start [{outage.code}] (see the agent problem)"


def retry_delay_ms(outage: Outage, now: float) -> float:
    """When an issue waiting on the outage should look again: when the next probe may start
    (so it can be that probe), or every failure-base interval while a probe is running. Its
    attempt number does not grow meanwhile: waiting on the machine is not the issue's failure."""
    return max(outage.retry_ms - now, float(policy.FAILURE_BASE_DELAY_MS) if outage.due else 0.0)


def run_failed(
    state: OrchestratorState, code: str | None, message: str, now: float, out: list[Effect]
) -> Outage:
    """A run failed with an environment problem: start or extend the outage."""
    current = state.outage
    failures = (current.failures if current is not None else 0) + 1
    delay = policy.failure_delay_ms(failures, state.config.max_retry_backoff_ms)
    state.outage = Outage(
        code=code or "agent_environment",
        message=message,
        since_ms=current.since_ms if current is not None else now,
        failures=failures,
        retry_ms=now + delay,
    )
    if current is None:
        out.append(
            Log.warning(
                "agents cannot start, dispatch paused",
                code=state.outage.code,
                error=message,
                next_try_in_ms=delay,
            )
        )
    else:
        out.append(Log.info("agents still cannot start", code=state.outage.code, failures=failures))
    out.append(Notify())
    return state.outage


def run_started(state: OrchestratorState, out: list[Effect]) -> None:
    """An agent session started, a run completed, or the probe failed otherwise: the problem
    is gone."""
    if state.outage is None:
        return
    out.append(Log.info("agents start again, dispatch resumed", code=state.outage.code))
    state.outage = None
    out.append(Notify())


def run_ended(state: OrchestratorState, run_id: int) -> None:
    """The probe ended without an answer (stopped by reconciliation): another may start."""
    outage = state.outage
    if outage is not None and outage.probe_run == run_id:
        outage.probe_run = None


def open_if_due(state: OrchestratorState, now: float) -> None:
    outage = state.outage
    if outage is not None and not outage.due and now >= outage.retry_ms:
        outage.due = True


def retry_now(state: OrchestratorState) -> None:
    """The workflow changed: the operator may have fixed the problem; probe at the next tick."""
    if state.outage is not None:
        state.outage.due = True


def dispatched(state: OrchestratorState, run_id: int) -> None:
    outage = state.outage
    if outage is not None and outage.due and outage.probe_run is None:
        outage.probe_run = run_id
