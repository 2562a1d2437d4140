"""End to end with the real codex: cost (docs/pricing.md) and the per-issue cost budget.

The fake model's slug is priced at $1,000 per million tokens in ``agent.prices``, and every
response reports 400 tokens: each turn costs $0.40. With ``agent.max_cost_usd_per_issue: 1`` and
``wrap_up_at: 0.5`` the second turn ($0.80) marks the run to wrap up, the third ($1.20) reaches
the limit: the agent is stopped and the issue held. The run's cost shows in its history and in
the totals, and survives a restart.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.budget_support import WRAP_UP, budget_workflow, held, spend_400_tokens
from tests.e2e.harness import Project, issue_identifier_in
from tests.support.fake_model import FAKE_MODEL_SLUG, FakeModelServer

pytestmark = pytest.mark.codex

# $1,000 per million tokens: 400 tokens cost $0.40.
PRICES = {FAKE_MODEL_SLUG: {"input": 1_000, "output": 1_000}}


def workflow(project: Project, limit: float) -> None:
    budget_workflow(project, max_cost_usd_per_issue=limit, prices=PRICES)


def test_a_cost_budget_prices_the_models_tokens_wraps_up_and_holds(
    project: Project, model: FakeModelServer
) -> None:
    model.responder = spend_400_tokens
    workflow(project, 1.0)
    project.board("add", "Refactor the parser")
    service = project.start()
    state = service.wait_until(lambda s: held(s) != [], 60, what="the cost budget hold")
    [row] = held(state)
    assert row["reason"] == "budget_exhausted"
    assert "$1.20 over its runs; agent.max_cost_usd_per_issue is $1.00" in str(row["message"])
    texts = [r.user_texts()[-1] if r.user_texts() else "" for r in model.requests]
    assert len(model.requests) == 3
    assert WRAP_UP not in texts[1] and WRAP_UP in texts[2]
    assert state["codex_totals"]["cost_usd"] == pytest.approx(1.2)
    detail = service.issue("SYM-1")
    assert detail is not None
    [run] = detail["history"]
    assert run["cost_usd"] == pytest.approx(1.2)

    service.stop()
    service = project.start()
    state = service.wait_until(
        lambda s: s["tracker"]["last_poll_at"] is not None, 30, what="a poll"
    )
    assert [r["issue_identifier"] for r in held(state)] == ["SYM-1"]
    assert state["codex_totals"]["cost_usd"] == pytest.approx(1.2)
    assert len(model.requests) == 3  # still not dispatched

    workflow(project, 2.0)
    service.wait_until(
        lambda s: held(s) == [] and [r["model"] for r in s["running"]] == [FAKE_MODEL_SLUG],
        30,
        what="the release, and the model on the running row",
    )


def daily_workflow(project: Project, limit: float) -> None:
    budget_workflow(
        project, max_turns=4, max_concurrent_agents=1, max_cost_usd_per_day=limit, prices=PRICES
    )


def test_the_daily_cap_stops_new_dispatch_but_not_the_running_agent(
    project: Project, model: FakeModelServer
) -> None:
    model.responder = spend_400_tokens
    daily_workflow(project, 1.0)
    project.board("add", "First")
    project.board("add", "Second")
    service = project.start()

    def asked(identifier: str) -> int:
        found = [issue_identifier_in(r, ["SYM-1", "SYM-2"]) for r in model.requests]
        return found.count(identifier)

    # SYM-1's third turn reaches $1.20: its fourth turn still runs, then nothing new starts
    # although the only slot is free, for several polls.
    state = service.wait_until(
        lambda s: s["budget"]["dispatch_paused"] and s["running"] == [], 60, what="the pause"
    )
    assert asked("SYM-1") == 4 and asked("SYM-2") == 0
    assert state["budget"]["max_cost_usd_per_day"] == 1.0
    assert state["budget"]["cost_usd"] == pytest.approx(1.6)
    for _ in range(3):
        due = state["polling"]["next_poll_at"]

        def ticked(s: dict[str, Any], due: object = due) -> bool:
            return bool(s["polling"]["next_poll_at"] != due)

        state = service.wait_until(ticked, 10, what="the next tick")
    assert state["running"] == [] and asked("SYM-2") == 0
    assert service.output.count("daily cost limit reached") == 1

    daily_workflow(project, 100.0)
    service.wait_until(
        lambda s: not s["budget"]["dispatch_paused"] and asked("SYM-2") > 0,
        30,
        what="dispatch to resume",
    )
