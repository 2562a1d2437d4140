"""What the end-to-end budget and hold tests share: a model that spends 400 tokens per response,
a local-board workflow with fast polling and a wrap-up prompt, and the held rows of a snapshot."""

from __future__ import annotations

from typing import Any

from tests.e2e.harness import Project, local_front_matter
from tests.support.fake_model import RecordedRequest, Reply, Usage

WRAP_UP = "WRAP UP NOW: commit and hand off."
PROMPT = "Work on {{ issue.identifier }}: {{ issue.title }}."


def spend_400_tokens(request: RecordedRequest) -> Reply:
    return Reply.message("Still working on it.", usage=Usage(input_tokens=300, output_tokens=100))


def budget_workflow(project: Project, **agent: Any) -> None:
    """Ten turns a run, no no-progress check, wrap-up at half a budget; ``agent`` adds the
    budget under test."""
    settings = {
        "max_turns": 10,
        "max_unproductive_turns": 0,
        "wrap_up_at": 0.5,
        "wrap_up_prompt": WRAP_UP,
        **agent,
    }
    project.write_workflow(
        local_front_matter(
            codex_bin=project.codex_bin, polling={"interval_ms": 300}, agent=settings
        ),
        PROMPT,
    )


def held(snapshot: dict[str, object]) -> list[dict[str, object]]:
    rows = snapshot.get("held")
    return rows if isinstance(rows, list) else []
