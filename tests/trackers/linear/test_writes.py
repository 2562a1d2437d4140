"""The review loop's writes and the prompt's comments against the fake Linear: which documents
go out, with which variables (each validated against Linear's schema by the fake)."""

from __future__ import annotations

import pytest

from symphony.trackers.base import (
    IssueConversation,
    IssueWrites,
    TrackerError,
    UnknownState,
    with_marker,
)
from symphony.trackers.linear import queries
from tests.support.fake_linear import Failure, FakeLinear
from tests.trackers.linear.conftest import MakeAdapter


async def test_move_resolves_the_state_id_by_name_then_updates_the_issue(
    linear: FakeLinear, make_adapter: MakeAdapter
) -> None:
    [review] = [s for s in linear.data.states.values() if s.name == "Human Review"]
    issue = linear.add_issue("Hand me off")
    adapter = make_adapter()
    assert isinstance(adapter, IssueWrites)
    assert await adapter.move_issue(issue.id, issue.identifier, "human review") == "Human Review"
    assert linear.state_of(issue) == "Human Review"
    [mutation] = linear.mutations()
    assert mutation.operation == queries.MOVE_OPERATION
    assert mutation.variables == {"id": issue.id, "stateId": review.id}
    ops = linear.operations()
    assert ops == [queries.ISSUE_STATES_OPERATION, queries.MOVE_OPERATION]


async def test_moving_to_the_current_state_sends_no_mutation(
    linear: FakeLinear, make_adapter: MakeAdapter
) -> None:
    issue = linear.add_issue("Already there", state="Todo")
    adapter = make_adapter()
    assert await adapter.move_issue(issue.id, issue.identifier, "Todo") == "Todo"
    assert linear.mutations() == []


async def test_an_unknown_state_lists_the_teams_states_and_moves_nothing(
    linear: FakeLinear, make_adapter: MakeAdapter
) -> None:
    issue = linear.add_issue("Nowhere to go")
    adapter = make_adapter()
    with pytest.raises(
        UnknownState, match=r"'Shipping'.*available states: .*Todo.*Human Review.*Done"
    ):
        await adapter.move_issue(issue.id, issue.identifier, "Shipping")
    assert linear.mutations() == []
    assert linear.state_of(issue) == "Todo"


async def test_own_comment_create_then_update_by_id(
    linear: FakeLinear, make_adapter: MakeAdapter
) -> None:
    issue = linear.add_issue("Proof twice")
    adapter = make_adapter()
    assert await adapter.upsert_own_comment(issue.id, issue.identifier, "proof", "first")
    assert not await adapter.upsert_own_comment(issue.id, issue.identifier, "proof", "second")
    create, update = linear.mutations()
    assert create.operation == queries.COMMENT_OPERATION
    assert create.variables == {"issueId": issue.id, "body": with_marker("proof", "first")}
    [comment] = linear.comments_on(issue)
    assert update.operation == queries.COMMENT_UPDATE_OPERATION
    assert update.variables == {"id": comment.id, "body": with_marker("proof", "second")}
    assert comment.body == "<!-- symphony:proof -->\nsecond"


async def test_own_comment_is_found_past_the_first_page_of_comments(
    linear: FakeLinear, make_adapter: MakeAdapter
) -> None:
    issue = linear.add_issue("Busy thread")
    for n in range(queries.MAX_PAGE_SIZE):
        linear.add_comment(issue, f"chatter {n}")
    own = linear.add_comment(issue, with_marker("proof", "old"))
    adapter = make_adapter()
    assert not await adapter.upsert_own_comment(issue.id, issue.identifier, "proof", "new")
    assert linear.operations().count(queries.OWN_COMMENTS_OPERATION) == 2
    [update] = linear.mutations()
    assert update.variables["id"] == own.id
    assert len(linear.comments_on(issue)) == queries.MAX_PAGE_SIZE + 1


async def test_a_refused_write_is_a_tracker_error(
    linear: FakeLinear, make_adapter: MakeAdapter
) -> None:
    issue = linear.add_issue("Refused")
    adapter = make_adapter()
    linear.inject(
        Failure.rewritten(lambda body: {"data": {"commentCreate": {"success": False}}}),
        operation=queries.COMMENT_OPERATION,
    )
    with pytest.raises(TrackerError, match=f"did not create the comment on {issue.identifier}"):
        await adapter.upsert_own_comment(issue.id, issue.identifier, "proof", "body")


async def test_prompt_comments_name_their_authors_oldest_first(
    linear: FakeLinear, make_adapter: MakeAdapter
) -> None:
    issue = linear.add_issue("Reworked")
    rita = linear.add_user("Rita Reviewer")
    linear.add_comment(issue, "Proof of work", user=linear.viewer)
    linear.add_comment(issue, "Rework: the empty case crashes", user=rita)
    adapter = make_adapter()
    assert isinstance(adapter, IssueConversation)
    comments = await adapter.fetch_issue_comments(issue.id, issue.identifier)
    assert [(c.author, c.body) for c in comments] == [
        (linear.viewer.name, "Proof of work"),
        ("Rita Reviewer", "Rework: the empty case crashes"),
    ]
    [request] = [r for r in linear.requests if r.operation == queries.PROMPT_COMMENTS_OPERATION]
    assert request.variables == {"id": issue.id, "first": 50}
