"""What a poll's dispatches read from Linear: the real runtime and Linear adapter against the
schema-checked fake Linear, fake agents."""

from __future__ import annotations

from pathlib import Path

import pytest

from symphony.trackers.linear import queries
from tests.support.fake_linear import FakeLinear
from tests.support.waiting import wait_until

from .test_runtime_webhooks import service

CONVERSATION = (
    "Work on {{ issue.identifier }}: {{ issue.description }}"
    "{% for c in issue.comments %}\n{{ c.author }}: {{ c.body }}{% endfor %}\n"
)


async def first_prompts(
    tmp_path: Path, linear: FakeLinear, monkeypatch: pytest.MonkeyPatch, prompt: str, *, agents: int
) -> tuple[dict[str, str], list[str | None]]:
    """Each agent's first prompt by issue identifier, once ``agents`` have one, and the
    operations Linear was sent until then."""
    async with service(tmp_path, linear, monkeypatch, prompt=prompt) as svc:
        await wait_until(lambda: len(svc.agents.sessions) == agents, f"{agents} agents")
        await wait_until(lambda: all(s.prompts for s in svc.agents.sessions), "their prompts")
        prompts = {s.issue.identifier: s.prompts[0] for s in svc.agents.sessions}
        return prompts, linear.operations()


async def test_a_poll_that_starts_three_agents_reads_their_issues_and_comments_in_one_request(
    tmp_path: Path, linear: FakeLinear, monkeypatch: pytest.MonkeyPatch
) -> None:
    rita = linear.add_user("Rita Reviewer")
    issues = [linear.add_issue(f"Issue {n}", description=f"Details {n}") for n in range(3)]
    linear.add_comment(issues[0], "Rework: the empty case crashes", user=rita)
    prompts, operations = await first_prompts(tmp_path, linear, monkeypatch, CONVERSATION, agents=3)
    # The poll read the board's one page whole; the three workers read the comments for their
    # prompts in one shared request, and no issue or comment read of their own.
    assert operations.count(queries.CANDIDATES_OPERATION) >= 1
    assert queries.SUMMARIES_OPERATION not in operations
    assert operations.count(queries.WITH_COMMENTS_OPERATION) == 1
    assert queries.PROMPT_COMMENTS_OPERATION not in operations
    assert queries.BY_IDS_OPERATION not in operations
    [request] = [r for r in linear.requests if r.operation == queries.WITH_COMMENTS_OPERATION]
    assert sorted(request.variables["ids"]) == sorted(i.id for i in issues)
    first = issues[0].identifier
    assert (
        prompts[first]
        == f"Work on {first}: Details 0\nRita Reviewer: Rework: the empty case crashes"
    )
    assert prompts[issues[1].identifier] == f"Work on {issues[1].identifier}: Details 1"


async def test_issues_polled_as_summaries_are_read_whole_before_their_agents_start(
    tmp_path: Path, linear: FakeLinear, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pages of one: the first issue comes whole with the poll's first page, the other two as
    # summaries, which their workers read whole (with the comments) in one shared request.
    monkeypatch.setattr(queries, "PAGE_SIZE", 1)
    issues = [linear.add_issue(f"Issue {n}", description=f"Details {n}") for n in range(3)]
    linear.add_comment(issues[2], "Mind the empty case")
    prompts, operations = await first_prompts(tmp_path, linear, monkeypatch, CONVERSATION, agents=3)
    assert queries.CANDIDATES_OPERATION in operations
    assert queries.SUMMARIES_OPERATION in operations
    assert queries.BY_IDS_OPERATION not in operations
    read = {
        issue_id
        for r in linear.requests
        if r.operation == queries.WITH_COMMENTS_OPERATION
        for issue_id in r.variables["ids"]
    }
    assert read == {i.id for i in issues}
    for n, issue in enumerate(issues[:2]):
        assert prompts[issue.identifier] == f"Work on {issue.identifier}: Details {n}"
    last = issues[2].identifier
    assert prompts[last].startswith(f"Work on {last}: Details 2\n")
    assert prompts[last].endswith(": Mind the empty case")


async def test_a_prompt_without_comments_starts_its_agents_on_the_poll_alone(
    tmp_path: Path, linear: FakeLinear, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The board fits on the poll's whole first page and the prompt never looks at the
    # comments: between the poll and the agents there is no request to Linear at all.
    issues = [linear.add_issue(f"Issue {n}", description=f"Details {n}") for n in range(3)]
    linear.add_comment(issues[0], "Not for the prompt")
    prompt = "Work on {{ issue.identifier }}: {{ issue.description }}"
    prompts, operations = await first_prompts(tmp_path, linear, monkeypatch, prompt, agents=3)
    assert set(operations) <= {queries.CANDIDATES_OPERATION, queries.VIEWER_OPERATION}
    for n, issue in enumerate(issues):
        assert prompts[issue.identifier] == f"Work on {issue.identifier}: Details {n}"
