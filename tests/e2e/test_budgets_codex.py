"""End to end with the real codex: a per-issue token budget (docs/holds.md).

Every model response reports 400 tokens. With ``agent.max_tokens_per_issue: 1000`` and
``wrap_up_at: 0.5``, the second turn crosses half the budget, so the third turn's prompt is the
wrap-up prompt; the third turn crosses the limit: the agent is stopped and the issue held. The
hold survives a restart and ends when the limit is raised in ``WORKFLOW.md``.
"""

from __future__ import annotations

import pytest

from tests.e2e.budget_support import WRAP_UP, budget_workflow, held, spend_400_tokens
from tests.e2e.harness import Project
from tests.support.fake_model import FakeModelServer

pytestmark = pytest.mark.codex


def test_a_token_budget_wraps_up_then_holds_until_raised(
    project: Project, model: FakeModelServer
) -> None:
    model.responder = spend_400_tokens
    budget_workflow(project, max_tokens_per_issue=1_000)
    project.board("add", "Refactor the parser")
    service = project.start()
    state = service.wait_until(lambda s: held(s) != [], 60, what="the budget hold")
    [row] = held(state)
    assert row["reason"] == "budget_exhausted"
    assert "agent.max_tokens_per_issue is 1,000" in str(row["message"])
    texts = [r.user_texts()[-1] if r.user_texts() else "" for r in model.requests]
    assert len(model.requests) == 3
    assert WRAP_UP not in texts[1] and WRAP_UP in texts[2]

    service.stop()
    service = project.start()
    state = service.wait_until(
        lambda s: s["tracker"]["last_poll_at"] is not None, 30, what="a poll"
    )
    assert [r["issue_identifier"] for r in held(state)] == ["SYM-1"]
    assert len(model.requests) == 3  # still not dispatched

    budget_workflow(project, max_tokens_per_issue=5_000)
    service.wait_until(lambda s: held(s) == [] and s["running"] != [], 30, what="the release")
