"""What runs cost (docs/pricing.md): priced token growth, the agent's own figure for a model
without a price, and the cost on running rows, history and totals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from symphony.core.events import AgentUpdate, Restored, WorkerExited
from symphony.core.snapshot import Instant, build_issue_detail, build_snapshot
from symphony.pricing import Price
from symphony.usage import TokenUsage
from symphony.view import WorkflowStatus
from symphony.view_json import issue_detail_json, snapshot_json

from .helpers import Driver, issue

WALL = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
WORKFLOW = WorkflowStatus(path="WORKFLOW.md", version=1, loaded_at=WALL)
# $2/M input, $0.5/M cached input, $10/M output.
PRICE = Price(input=2.0, cached_input=0.5, output=10.0)


def running(**overrides: object) -> tuple[Driver, int]:
    d = Driver.create(prices={"m-1": PRICE}, **overrides)
    d.start()
    d.tick([issue(1)])
    return d, d.state.running["id-1"].run_id


def send(d: Driver, run_id: int, **fields: object) -> None:
    d.send(AgentUpdate("id-1", run_id, **fields))  # type: ignore[arg-type]


def usage(input_tokens: int, cached: int, output: int) -> TokenUsage:
    return TokenUsage(
        input_tokens=input_tokens,
        output_tokens=output,
        total_tokens=input_tokens + output,
        cached_input_tokens=cached,
    )


def test_token_growth_is_priced_once_at_the_runs_model() -> None:
    d, run_id = running()
    send(d, run_id, event="session_started", thread_id="t", model="m-1")
    # 1M input of which 400k cached, 100k output: 0.6*2 + 0.4*0.5 + 0.1*10 = 2.4 USD.
    send(d, run_id, event="tokens", thread_id="t", usage=usage(1_000_000, 400_000, 100_000))
    send(d, run_id, event="tokens", thread_id="t", usage=usage(1_000_000, 400_000, 100_000))
    entry = d.state.running["id-1"]
    assert entry.model == "m-1"
    assert entry.cost_usd == pytest.approx(2.4)
    # Growth only: 500k more uncached input is one more dollar.
    send(d, run_id, event="tokens", thread_id="t", usage=usage(1_500_000, 400_000, 100_000))
    assert entry.cost_usd == pytest.approx(3.4)
    assert d.state.totals.cost_usd == pytest.approx(3.4)


def test_a_priced_model_ignores_the_agents_own_figure() -> None:
    d, run_id = running()
    send(d, run_id, event="session_started", model="m-1")
    send(d, run_id, event="tokens", usage=usage(1_000_000, 0, 0), cost_usd=99.0)
    assert d.state.running["id-1"].cost_usd == pytest.approx(2.0)


def test_a_model_without_a_price_costs_what_the_agent_reports() -> None:
    d, run_id = running()
    send(d, run_id, event="session_started", model="unknown-model")
    send(d, run_id, event="tokens", usage=usage(1_000, 0, 10), cost_usd=0.25)
    send(d, run_id, event="tokens", usage=usage(2_000, 0, 20), cost_usd=0.5)
    assert d.state.running["id-1"].cost_usd == pytest.approx(0.75)
    assert d.state.totals.cost_usd == pytest.approx(0.75)


def test_no_price_and_no_reported_cost_is_unknown() -> None:
    d, run_id = running()
    send(d, run_id, event="tokens", usage=usage(1_000, 0, 10))  # no model reported at all
    assert d.state.running["id-1"].cost_usd is None
    assert d.state.totals.cost_usd == 0.0


def test_cost_shows_on_the_running_row_the_history_and_the_totals() -> None:
    d, run_id = running()
    send(d, run_id, event="session_started", model="m-1")
    send(d, run_id, event="tokens", usage=usage(0, 0, 100_000))  # 1 USD
    snap = snapshot_json(
        build_snapshot(d.state, Instant(d.now, WALL), workflow=WORKFLOW, tracker_kind="memory")
    )
    [row] = snap["running"]
    assert (row["model"], row["cost_usd"]) == ("m-1", 1.0)
    assert snap["codex_totals"]["cost_usd"] == 1.0
    found = build_issue_detail(d.state, "MT-1", Instant(d.now, WALL), default_workspace=None)
    assert found is not None
    live = issue_detail_json(found)["running"]
    assert (live["model"], live["cost_usd"]) == ("m-1", 1.0)

    d.send(WorkerExited("id-1", run_id, ok=True))
    found = build_issue_detail(d.state, "MT-1", Instant(d.now, WALL), default_workspace=None)
    assert found is not None
    [run] = issue_detail_json(found)["history"]
    assert run["cost_usd"] == 1.0
    assert d.state.totals.cost_usd == pytest.approx(1.0)  # ended runs stay in the totals


def test_restored_totals_keep_their_cost() -> None:
    d = Driver.create()
    d.send(Restored(cost_usd=2.5))
    assert d.state.totals.cost_usd == 2.5
