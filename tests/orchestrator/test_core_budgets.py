"""Per-issue budgets (docs/holds.md): tokens, runtime and cost over all of an issue's runs, the
wrap-up mark at ``agent.wrap_up_at``, the hold at the limit, and how a hold ends."""

from __future__ import annotations

from datetime import timedelta

from symphony.core.budgets import BUDGET_EXHAUSTED, COST_KEY, RUNTIME_KEY, TOKENS_KEY
from symphony.core.effects import (
    ForgetHold,
    RecordBudgetReset,
    RecordHold,
    SetRetryTimer,
    StartWorker,
    StopWorker,
)
from symphony.core.events import (
    AgentUpdate,
    ConfigChanged,
    ReleaseRequested,
    Restored,
    RetryDue,
    RetryIssueFetched,
    WorkerExited,
)
from symphony.core.snapshot import Instant
from symphony.orchestrator.persistence import restored_event
from symphony.pricing import Price
from symphony.storage.records import StoredRun, StoredState
from symphony.usage import TokenUsage

from .helpers import BASE_TIME, Driver, config, issue, of_type


def _start(d: Driver) -> int:
    [start] = of_type(d.tick([issue(1)]), StartWorker)
    return start.run_id


def _tokens(d: Driver, run_id: int, total: int, thread: str = "t-1") -> list[object]:
    usage = TokenUsage(input_tokens=total, total_tokens=total)
    return list(d.send(AgentUpdate("id-1", run_id, "tokens", thread_id=thread, usage=usage)))


def _next_run(d: Driver, run_id: int) -> int:
    d.send(WorkerExited("id-1", run_id, ok=True))
    [due] = of_type(d.log, SetRetryTimer)[-1:]
    d.advance(1_000)
    d.send(RetryDue("id-1", due.token))
    [start] = of_type(d.send(RetryIssueFetched("id-1", due.token, (issue(1),))), StartWorker)
    return start.run_id


def test_tokens_wrap_up_at_the_threshold_and_hold_at_the_limit() -> None:
    d = Driver.create(hold_limits={TOKENS_KEY: 1_000.0})
    d.start()
    run_id = _start(d)
    _tokens(d, run_id, 700)
    assert not d.state.running["id-1"].wrap_up
    _tokens(d, run_id, 800)  # 80 %: the next continuation turn wraps up
    assert d.state.running["id-1"].wrap_up
    out = _tokens(d, run_id, 1_000)  # "crosses" means >=
    [stop] = of_type(out, StopWorker)
    assert stop.issue_id == "id-1" and not stop.cleanup
    [held] = of_type(out, RecordHold)
    assert (held.hold.reason, held.hold.limit) == (BUDGET_EXHAUSTED, (TOKENS_KEY, 1_000.0))
    assert "1,000 tokens" in held.hold.message
    assert of_type(out, SetRetryTimer) == []
    d.advance(30_000)
    assert of_type(d.tick([issue(1)]), StartWorker) == []


def test_the_budget_spans_the_issues_runs_and_threads() -> None:
    d = Driver.create(hold_limits={TOKENS_KEY: 1_000.0}, wrap_up_at=0.5)
    d.start()
    run_id = _start(d)
    _tokens(d, run_id, 400)
    run_id = _next_run(d, run_id)
    _tokens(d, run_id, 50, thread="t-2")  # 450 of 1,000
    assert not d.state.running["id-1"].wrap_up
    _tokens(d, run_id, 150, thread="t-2")  # 550: past 0.5
    assert d.state.running["id-1"].wrap_up
    out = _tokens(d, run_id, 600, thread="t-2")
    assert of_type(out, RecordHold)


def test_runtime_is_checked_on_every_tick() -> None:
    d = Driver.create(hold_limits={RUNTIME_KEY: 60_000.0}, poll_interval_ms=10_000)
    d.start()
    _start(d)
    d.advance(50_000)
    d.tick([issue(1)])
    assert d.state.running["id-1"].wrap_up and not d.state.holds
    d.advance(10_000)
    out = d.tick([issue(1)])
    [held] = of_type(out, RecordHold)
    assert held.hold.limit == (RUNTIME_KEY, 60_000.0)


def test_a_raised_limit_keeps_what_was_spent_a_release_starts_afresh() -> None:
    d = Driver.create(hold_limits={TOKENS_KEY: 1_000.0})
    d.start()
    _tokens(d, _start(d), 1_200)
    out = d.send(ConfigChanged(config(hold_limits={TOKENS_KEY: 2_000.0})))
    assert (
        of_type(out, ForgetHold) == [ForgetHold("id-1")] and of_type(out, RecordBudgetReset) == []
    )
    d.advance(30_000)
    run_id = _start(d)
    assert of_type(_tokens(d, run_id, 800), RecordHold)  # 1,200 + 800 reaches 2,000

    out = d.send(ReleaseRequested("id-1"))
    assert of_type(out, RecordBudgetReset) == [RecordBudgetReset("id-1")]
    d.advance(30_000)
    run_id = _start(d)
    assert of_type(_tokens(d, run_id, 1_900), RecordHold) == []  # a whole new budget


def test_no_budget_no_bookkeeping_on_the_hot_path() -> None:
    d = Driver.create()
    d.start()
    run_id = _start(d)
    assert of_type(_tokens(d, run_id, 10**9), RecordHold) == []
    assert not d.state.running["id-1"].wrap_up


def test_spend_is_restored_from_the_runs_since_the_last_reset() -> None:
    def run(n: int, start_min: int, tokens: int) -> StoredRun:
        started = BASE_TIME + timedelta(minutes=start_min)
        return StoredRun(
            n,
            "id-1",
            "MT-1",
            None,
            None,
            started,
            started + timedelta(minutes=1),
            "succeeded",
            None,
            total_tokens=tokens,
        )

    stored = StoredState(
        runs=(run(1, 0, 500), run(2, 10, 300), run(3, 20, 200)),
        budget_resets={"id-1": BASE_TIME + timedelta(minutes=5)},
    )
    now = Instant(1_000_000.0, BASE_TIME + timedelta(hours=1))
    event = restored_event(stored, stored.runs, now)
    assert event.spent == (("id-1", 500, 120_000.0, 0.0),)  # runs 2 and 3 only
    d = Driver.create(hold_limits={TOKENS_KEY: 1_000.0})
    d.send(Restored(spent=event.spent))
    d.start()
    assert of_type(_tokens(d, _start(d), 500), RecordHold)


def _cost(d: Driver, run_id: int, output: int, thread: str = "t-1") -> list[object]:
    """Output tokens of ``m-1`` at $10 per million: 100,000 tokens are one dollar."""
    usage = TokenUsage(output_tokens=output, total_tokens=output)
    update = AgentUpdate("id-1", run_id, "tokens", thread_id=thread, usage=usage, model="m-1")
    return list(d.send(update))


COST_PRICES = {"m-1": Price(input=1.0, cached_input=1.0, output=10.0)}


def test_cost_wraps_up_and_holds_across_runs() -> None:
    d = Driver.create(hold_limits={COST_KEY: 2.0}, prices=COST_PRICES)
    d.start()
    run_id = _start(d)
    _cost(d, run_id, 100_000)  # $1
    run_id = _next_run(d, run_id)
    _cost(d, run_id, 60_000, thread="t-2")  # $1.60 of $2: past 0.8
    assert d.state.running["id-1"].wrap_up and not d.state.holds
    out = _cost(d, run_id, 100_000, thread="t-2")  # $2.00
    [held] = of_type(out, RecordHold)
    assert held.hold.limit == (COST_KEY, 2.0)
    assert "$2.00 over its runs; agent.max_cost_usd_per_issue is $2.00" in held.hold.message
    assert of_type(out, StopWorker)


def test_an_unpriced_run_without_a_reported_cost_spends_nothing() -> None:
    d = Driver.create(hold_limits={COST_KEY: 0.01}, prices={})
    d.start()
    assert of_type(_cost(d, _start(d), 10**9), RecordHold) == []


def test_cost_spend_is_restored_from_the_stored_runs() -> None:
    started = BASE_TIME
    stored = StoredState(
        runs=(
            StoredRun(
                1, "id-1", "MT-1", None, None, started, started, "succeeded", None, cost_usd=1.5
            ),
            StoredRun(2, "id-1", "MT-1", None, None, started, started, "failed", None),
        )
    )
    now = Instant(1_000_000.0, BASE_TIME + timedelta(hours=1))
    event = restored_event(stored, stored.runs, now)
    assert event.spent == (("id-1", 0, 0.0, 1.5),)
    d = Driver.create(hold_limits={COST_KEY: 2.0}, prices=COST_PRICES)
    d.send(Restored(spent=event.spent))
    d.start()
    assert of_type(_cost(d, _start(d), 50_000), RecordHold)  # 1.5 + 0.5
