"""The fleet's daily cost cap (docs/holds.md): ``agent.max_cost_usd_per_day`` over the UTC day
the runtime feeds in (a fake clock here), no new dispatch from polls, retries or webhooks once
it is reached, running agents untouched, and the cap lifted by a new day or a higher limit."""

from __future__ import annotations

import logging

import pytest

from symphony.core.budgets import DAY_PAUSED_ERROR
from symphony.core.effects import (
    Effect,
    FetchChangedIssues,
    Log,
    SetRetryTimer,
    StartWorker,
    StopWorker,
)
from symphony.core.events import (
    AgentUpdate,
    ChangedIssuesFetched,
    ConfigChanged,
    IssuesChanged,
    Restored,
    RetryDue,
    RetryIssueFetched,
    WorkerExited,
)
from symphony.core.snapshot import Instant, build_snapshot
from symphony.pricing import Price
from symphony.usage import TokenUsage
from symphony.view import WorkflowStatus
from symphony.view_json import snapshot_json

from .helpers import BASE_TIME, Driver, config, issue, of_type

PRICES = {"m-1": Price(input=1.0, cached_input=1.0, output=10.0)}
DAY_1, DAY_2 = "2026-03-01", "2026-03-02"


def driver(limit: float | None = 1.0) -> Driver:
    d = Driver.create(max_cost_usd_per_day=limit, prices=PRICES, max_concurrent_agents=5)
    d.start()
    return d


def spend(d: Driver, issue_id: str, dollars: float) -> list[Effect]:
    """The run's thread total grows to ``dollars`` (100,000 output tokens are one dollar)."""
    entry = d.state.running[issue_id]
    output = round(dollars * 100_000)
    usage = TokenUsage(output_tokens=output, total_tokens=output)
    return list(d.send(AgentUpdate(issue_id, entry.run_id, "t", usage=usage, model="m-1")))


def paused(d: Driver) -> bool:
    return d.state.dispatch_paused


def warnings(effects: list[Effect]) -> list[str]:
    return [e.message for e in effects if isinstance(e, Log) and e.level >= logging.WARNING]


def test_the_cap_stops_new_dispatch_not_running_agents() -> None:
    d = driver()
    d.tick([issue(1)], day=DAY_1)
    spend(d, "id-1", 0.6)
    assert not paused(d)
    out = spend(d, "id-1", 1.0)  # "reaches" means >=
    assert paused(d)
    assert of_type(out, StopWorker) == []  # the running agent goes on
    assert [w for w in warnings(out) if "daily cost limit" in w]
    assert of_type(d.tick([issue(1), issue(2)], day=DAY_1), StartWorker) == []
    # Said once: more spending or more polls log nothing new.
    again = spend(d, "id-1", 1.5) + d.tick([issue(2)], day=DAY_1)
    assert not [w for w in warnings(again) if "daily cost limit" in w]


def test_a_retry_waits_while_the_cap_holds() -> None:
    d = driver()
    d.tick([issue(1)], day=DAY_1)
    spend(d, "id-1", 1.0)
    d.send(WorkerExited("id-1", d.state.running["id-1"].run_id, ok=True))
    [due] = of_type(d.log, SetRetryTimer)[-1:]
    d.send(RetryDue("id-1", due.token))
    out = d.send(RetryIssueFetched("id-1", due.token, (issue(1),)))
    assert of_type(out, StartWorker) == []
    [requeued] = of_type(out, SetRetryTimer)
    assert d.state.retry_attempts["id-1"].error == DAY_PAUSED_ERROR
    assert requeued.issue_id == "id-1"


def test_the_next_utc_day_starts_afresh() -> None:
    d = driver()
    d.tick([issue(1)], day=DAY_1)
    spend(d, "id-1", 1.2)
    assert of_type(d.tick([issue(1), issue(2)], day=DAY_1), StartWorker) == []
    out = d.tick([issue(1), issue(2)], day=DAY_2)
    assert not paused(d) and d.state.day_cost_usd == 0.0
    assert [s.issue.id for s in of_type(out, StartWorker)] == ["id-2"]
    # What a run spends after midnight counts for the new day.
    spend(d, "id-1", 1.5)
    assert d.state.day_cost_usd == pytest.approx(0.3)


def test_a_higher_limit_resumes_dispatch_a_lower_one_pauses_it() -> None:
    d = driver()
    d.tick([issue(1)], day=DAY_1)
    spend(d, "id-1", 1.0)
    d.send(ConfigChanged(config(max_cost_usd_per_day=5.0, prices=PRICES, max_concurrent_agents=5)))
    assert not paused(d)
    assert [s.issue.id for s in of_type(d.tick([issue(2)], day=DAY_1), StartWorker)] == ["id-2"]
    d.send(ConfigChanged(config(max_cost_usd_per_day=0.5, prices=PRICES, max_concurrent_agents=5)))
    assert paused(d)
    d.send(ConfigChanged(config(prices=PRICES, max_concurrent_agents=5)))  # no limit at all
    assert not paused(d)


def test_the_days_cost_is_restored_and_shown_in_the_snapshot() -> None:
    d = Driver.create(max_cost_usd_per_day=2.0, prices=PRICES)
    d.send(Restored(day=DAY_1, day_cost_usd=2.5, cost_usd=7.0))
    d.start()
    assert paused(d)
    assert of_type(d.tick([issue(1)], day=DAY_1), StartWorker) == []
    wall = BASE_TIME
    snap = snapshot_json(
        build_snapshot(
            d.state,
            Instant(d.now, wall),
            workflow=WorkflowStatus(path="WORKFLOW.md", version=1, loaded_at=wall),
            tracker_kind="memory",
        )
    )
    assert snap["budget"] == {
        "day": DAY_1,
        "cost_usd": 2.5,
        "max_cost_usd_per_day": 2.0,
        "dispatch_paused": True,
    }
    assert snap["codex_totals"]["cost_usd"] == 7.0


def test_no_limit_never_pauses() -> None:
    d = driver(None)
    d.tick([issue(1)], day=DAY_1)
    spend(d, "id-1", 1_000.0)
    assert not paused(d)
    assert d.state.day_cost_usd == 1_000.0


def test_a_webhook_starts_nothing_while_the_cap_holds() -> None:
    d = driver()
    d.tick([issue(1)], day=DAY_1)
    spend(d, "id-1", 1.0)
    [read] = of_type(d.send(IssuesChanged(("id-2",))), FetchChangedIssues)
    out = d.send(ChangedIssuesFetched(read.read_id, (issue(2),)))
    assert of_type(out, StartWorker) == [] and "id-2" not in d.state.running
