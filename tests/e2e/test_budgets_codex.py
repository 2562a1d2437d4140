"""End to end with the real codex: a per-issue token budget (docs/holds.md).

Every model response reports 400 tokens. With ``agent.max_tokens_per_issue: 1000`` and
``wrap_up_at: 0.5``, the second turn crosses half the budget, so the third turn's prompt is the
wrap-up prompt; the third turn crosses the limit: the agent is stopped and the issue held. The
hold survives a restart and ends when the limit is raised in ``WORKFLOW.md``.
"""

from __future__ import annotations

import pytest

from tests.e2e.harness import Project, local_front_matter
from tests.support.fake_model import FakeModelServer, RecordedRequest, Reply, Usage

pytestmark = pytest.mark.codex

WRAP_UP = "WRAP UP NOW: commit and hand off."
PROMPT = "Work on {{ issue.identifier }}: {{ issue.title }}."


def answer(request: RecordedRequest) -> Reply:
    return Reply.message("Still working on it.", usage=Usage(input_tokens=300, output_tokens=100))


def workflow(project: Project, limit: int) -> None:
    project.write_workflow(
        local_front_matter(
            codex_bin=project.codex_bin,
            polling={"interval_ms": 300},
            agent={
                "max_turns": 10,
                "max_unproductive_turns": 0,
                "max_tokens_per_issue": limit,
                "wrap_up_at": 0.5,
                "wrap_up_prompt": WRAP_UP,
            },
        ),
        PROMPT,
    )


def held(snapshot: dict[str, object]) -> list[dict[str, object]]:
    rows = snapshot.get("held")
    return rows if isinstance(rows, list) else []


def test_a_token_budget_wraps_up_then_holds_until_raised(
    project: Project, model: FakeModelServer
) -> None:
    model.responder = answer
    workflow(project, 1_000)
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

    workflow(project, 5_000)
    service.wait_until(lambda s: held(s) == [] and s["running"] != [], 30, what="the release")
