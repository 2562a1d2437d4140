"""SPEC §11.1 / §17.3 reads against the fake Linear: scope, paging, refresh, normalization."""

from __future__ import annotations

import gc
import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from symphony.trackers.base import (
    MAX_PROMPT_COMMENTS,
    TRACKER_RESPONSE,
    ConversationReads,
    TrackerError,
)
from symphony.trackers.linear import adapter as adapter_module
from symphony.trackers.linear import queries
from symphony.trackers.linear.normalize import normalize_whole
from tests.support.fake_linear import Failure, FakeLinear
from tests.trackers.linear.conftest import MakeAdapter

CANDIDATES = queries.CANDIDATES_OPERATION
SUMMARIES = queries.SUMMARIES_OPERATION
BY_IDS = queries.BY_IDS_OPERATION
WITH_COMMENTS = queries.WITH_COMMENTS_OPERATION


async def test_empty_inputs_make_no_request(linear: FakeLinear, make_adapter: MakeAdapter) -> None:
    adapter = make_adapter(assignee="me")
    assert await adapter.fetch_issues_by_states([]) == []
    assert await adapter.fetch_issues_by_ids([]) == []
    assert linear.requests == []


async def test_candidate_fetch_applies_states_and_project_scope(
    linear: FakeLinear, make_adapter: MakeAdapter
) -> None:
    todo = linear.add_issue("In scope, Todo")
    doing = linear.add_issue("In scope, In Progress", state="In Progress")
    linear.add_issue("In scope, Backlog", state="Backlog")
    linear.add_issue("In scope, Done", state="Done")
    linear.add_issue("Other project", project="other-project-1234")
    issues = await make_adapter().fetch_issues_by_states(["Todo", "In Progress", "Todo"])
    assert [i.identifier for i in issues] == [todo.identifier, doing.identifier]
    [request] = linear.requests
    assert request.operation == CANDIDATES
    assert request.variables["projectSlug"] == linear.project_slug
    assert request.variables["stateNames"] == ["Todo", "In Progress"]  # deduplicated, as given
    # Linear personal keys take no "Bearer" prefix.
    assert request.headers["authorization"] == linear.api_key
    assert request.headers["content-type"] == "application/json"


async def test_pagination_keeps_order_across_pages(
    linear: FakeLinear, make_adapter: MakeAdapter
) -> None:
    created = [linear.add_issue(f"Issue {n}") for n in range(queries.PAGE_SIZE * 2 + 7)]
    issues = await make_adapter().fetch_issues_by_states(["Todo"])
    assert [i.id for i in issues] == [c.id for c in created]
    pages = [r for r in linear.requests if r.operation == CANDIDATES]
    assert len(pages) == 3
    assert pages[0].variables["after"] is None
    assert pages[1].variables["after"] and pages[2].variables["after"]
    assert pages[1].variables["after"] != pages[2].variables["after"]
    assert all(p.variables["first"] == queries.PAGE_SIZE for p in pages)


async def test_a_board_of_more_than_two_hundred_pages_is_read_to_the_end(
    linear: FakeLinear, make_adapter: MakeAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The old walk gave up after 200 pages with tracker_pagination, so a big board never
    # dispatched; pages of one make 203 of them cheap to serve here.
    monkeypatch.setattr(queries, "PAGE_SIZE", 1)
    created = [linear.add_issue(f"Issue {n}") for n in range(203)]
    issues = await make_adapter().fetch_issues_by_states(["Todo"])
    assert [i.id for i in issues] == [c.id for c in created]
    pages = [r for r in linear.requests if r.operation == CANDIDATES]
    assert len(pages) == 203


async def test_a_poll_reads_its_first_page_whole_and_the_rest_as_summaries(
    linear: FakeLinear, make_adapter: MakeAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A board that fits on the first page needs no read by id before a dispatch; the pages
    # after it stay small. Pages of two make three pages of five issues.
    monkeypatch.setattr(queries, "PAGE_SIZE", 2)
    created = [linear.add_issue(f"Issue {n}", description=f"Body {n}") for n in range(5)]
    issues = await make_adapter().fetch_issue_summaries_by_states(["Todo"])
    assert [i.id for i in issues] == [c.id for c in created]
    assert [r.operation for r in linear.requests] == [CANDIDATES, SUMMARIES, SUMMARIES]
    first, second, third = linear.requests
    assert first.variables["after"] is None
    # The summaries go on from the whole page's cursor: every issue once, in order (above).
    assert second.variables["after"] and third.variables["after"] != second.variables["after"]
    assert [i.summary for i in issues] == [False, False, True, True, True]
    assert [i.description for i in issues] == ["Body 0", "Body 1", None, None, None]
    assert all(i.updated_at is not None for i in issues[:2])
    whole = await make_adapter().fetch_issues_by_states(["Todo"])
    assert issues[:2] == whole[:2]


async def test_terminal_state_fetch_uses_the_same_scoped_query(
    linear: FakeLinear, make_adapter: MakeAdapter
) -> None:
    done = linear.add_issue("Finished", state="Done")
    linear.add_issue("Open")
    issues = await make_adapter().fetch_issues_by_states(["Done", "Canceled"])
    assert [i.identifier for i in issues] == [done.identifier]


async def test_refresh_by_ids_returns_full_snapshots_in_batches(
    linear: FakeLinear, make_adapter: MakeAdapter
) -> None:
    size = queries.PAGE_SIZE
    created = [linear.add_issue(f"Issue {n}", labels=["Team-A"]) for n in range(size + 5)]
    outsider = linear.add_issue("Moved out", project="other-project-1234")
    wanted = [c.id for c in reversed(created)] + [outsider.id, "no-such-id", created[0].id]
    issues = await make_adapter().fetch_issues_by_ids(wanted)
    # Requested order; ids that are gone or out of project scope are omitted; no duplicates.
    assert [i.id for i in issues] == [c.id for c in reversed(created)]
    assert issues[0].labels == ("team-a",)
    assert issues[0].title == created[-1].title
    batches = [r.variables for r in linear.requests if r.operation == BY_IDS]
    assert [len(b["ids"]) for b in batches] == [size, 7]
    assert [b["first"] for b in batches] == [size, 7]
    assert all(b["projectSlug"] == linear.project_slug for b in batches)


async def test_labels_priority_and_timestamps_are_normalized(
    linear: FakeLinear, make_adapter: MakeAdapter
) -> None:
    linear.add_issue(
        "Normalize me",
        labels=["Bug", "Frontend", " BUG"],
        priority=3,  # served as the schema's Float: 3.0
        description="Body",
    )
    linear.add_issue("No priority", priority=0)
    first, second = await make_adapter().fetch_issues_by_states(["Todo"])
    assert first.labels == ("bug", "frontend")
    assert first.priority == 3
    assert second.priority is None
    assert first.created_at == datetime(2026, 1, 5, 9, 1, tzinfo=UTC)
    assert first.description == "Body"
    assert first.url and first.url.endswith(first.identifier)
    assert first.branch_name


async def test_blockers_make_todo_issues_undispatchable(
    linear: FakeLinear, make_adapter: MakeAdapter
) -> None:
    blocked = linear.add_issue("Blocked by open work")
    clear = linear.add_issue("Blocked only by finished work")
    running = linear.add_issue("Already running", state="In Progress")
    open_blocker = linear.add_issue("Open blocker", state="In Progress")
    done_blocker = linear.add_issue("Done blocker", state="Done")
    related = linear.add_issue("Just related", state="In Progress")
    linear.add_blocker(blocked, open_blocker)
    linear.add_blocker(clear, done_blocker)
    linear.add_blocker(running, open_blocker)
    linear.add_relation(related, clear, "related")
    issues = {i.id: i for i in await make_adapter().fetch_issues_by_states(["Todo", "In Progress"])}
    assert issues[blocked.id].dispatchable is False
    assert [b.identifier for b in issues[blocked.id].blocked_by] == [open_blocker.identifier]
    assert issues[blocked.id].blocked_by[0].state == "In Progress"
    assert issues[clear.id].dispatchable is True
    assert [b.state for b in issues[clear.id].blocked_by] == ["Done"]
    assert issues[running.id].dispatchable is True
    # Candidate reads include undispatchable issues: the scheduler makes the final call.
    assert blocked.id in issues

    linear.move(open_blocker, "Done")
    [now] = await make_adapter().fetch_issues_by_ids([blocked.id])
    assert now.dispatchable is True


async def test_assignee_me_resolves_the_viewer_once(
    linear: FakeLinear, make_adapter: MakeAdapter
) -> None:
    other = linear.add_user("Other Person")
    mine = linear.add_issue("Mine", assignee=linear.viewer)
    theirs = linear.add_issue("Theirs", assignee=other)
    nobody = linear.add_issue("Unassigned")
    adapter = make_adapter(assignee="me")
    first = {i.id: i.dispatchable for i in await adapter.fetch_issues_by_states(["Todo"])}
    await adapter.fetch_issues_by_states(["Todo"])
    await adapter.fetch_issues_by_ids([mine.id])
    assert first == {mine.id: True, theirs.id: False, nobody.id: False}
    assert linear.operations().count(queries.VIEWER_OPERATION) == 1


async def test_assignee_user_id_routes_without_viewer_query(
    linear: FakeLinear, make_adapter: MakeAdapter
) -> None:
    other = linear.add_user("Other Person")
    linear.add_issue("Theirs", assignee=other)
    linear.add_issue("Mine", assignee=linear.viewer)
    issues = await make_adapter(assignee=other.id).fetch_issues_by_states(["Todo"])
    assert [i.dispatchable for i in issues] == [True, False]
    assert queries.VIEWER_OPERATION not in linear.operations()


def _break_first_node(field: str, value: Any) -> Failure:
    def rewrite(body: dict[str, Any]) -> dict[str, Any]:
        body["data"]["issues"]["nodes"][0][field] = value
        return body

    return Failure.rewritten(rewrite)


async def test_state_read_drops_and_logs_malformed_records(
    linear: FakeLinear, make_adapter: MakeAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    broken = linear.add_issue("Will lose its title")
    good = linear.add_issue("Fine")
    linear.inject(_break_first_node("title", None), operation=CANDIDATES)
    caplog.set_level(logging.WARNING, logger="symphony.trackers.linear")
    issues = await make_adapter().fetch_issues_by_states(["Todo"])
    assert [i.id for i in issues] == [good.id]
    [warning] = [r.getMessage() for r in caplog.records if "malformed" in r.getMessage()]
    assert "count=1" in warning
    assert broken.identifier in warning


async def test_id_refresh_fails_on_a_malformed_requested_record(
    linear: FakeLinear, make_adapter: MakeAdapter
) -> None:
    issue = linear.add_issue("Will lose its state")
    linear.inject(_break_first_node("state", None), operation=BY_IDS)
    with pytest.raises(TrackerError) as err:
        await make_adapter().fetch_issues_by_ids([issue.id])
    assert err.value.category == TRACKER_RESPONSE
    assert issue.identifier in err.value.message
    assert "state.name" in err.value.message


async def test_state_read_uses_partial_data_but_id_refresh_does_not(
    linear: FakeLinear, make_adapter: MakeAdapter
) -> None:
    issue = linear.add_issue("Partial")

    def with_error(body: dict[str, Any]) -> dict[str, Any]:
        body["errors"] = [{"message": "assignee could not be loaded", "path": ["issues"]}]
        return body

    linear.inject(Failure.rewritten(with_error), times=2)
    adapter = make_adapter()
    assert [i.id for i in await adapter.fetch_issues_by_states(["Todo"])] == [issue.id]
    with pytest.raises(TrackerError) as err:
        await adapter.fetch_issues_by_ids([issue.id])
    assert err.value.category == TRACKER_RESPONSE
    assert "assignee could not be loaded" in err.value.message


async def test_pages_are_read_with_the_collector_paused_and_left_as_found(
    linear: FakeLinear, make_adapter: MakeAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A collection in the middle of a big page would promote its whole JSON tree for nothing
    # (client.graphql_read); outside the page the collector is as the service set it.
    linear.add_issue("One")
    enabled_while_normalizing: list[bool] = []

    def noting(node: Any, routing: Any) -> Any:
        enabled_while_normalizing.append(gc.isenabled())
        return normalize_whole(node, routing)

    monkeypatch.setattr(adapter_module, "normalize_whole", noting)
    adapter = make_adapter()
    assert gc.isenabled()
    assert len(await adapter.fetch_issue_summaries_by_states(["Todo"])) == 1
    assert enabled_while_normalizing == [False]
    assert gc.isenabled()
    linear.inject(Failure.http_status(502))
    with pytest.raises(TrackerError):
        await adapter.fetch_issues_by_states(["Todo"])
    assert gc.isenabled()
    gc.disable()
    try:
        await adapter.fetch_issues_by_ids([i.id for i in linear.data.issues.values()])
        assert not gc.isenabled()
    finally:
        gc.enable()


async def test_issues_with_comments_are_the_whole_issues_and_their_prompt_comments(
    linear: FakeLinear, make_adapter: MakeAdapter
) -> None:
    rita = linear.add_user("Rita Reviewer")
    reworked = linear.add_issue("Reworked", labels=["Team-A"])
    linear.add_comment(reworked, "Proof of work", user=linear.viewer)
    linear.add_comment(reworked, "Rework: the empty case crashes", user=rita)
    quiet = linear.add_issue("No conversation")
    long = linear.add_issue("A long thread")
    for n in range(MAX_PROMPT_COMMENTS + 7):
        linear.add_comment(long, f"Comment {n}", user=rita)
    adapter = make_adapter()
    assert isinstance(adapter, ConversationReads)
    wanted = [reworked.id, "no-such-id", quiet.id, long.id, reworked.id]
    issues = await adapter.fetch_issues_with_comments(wanted)
    [request] = [r for r in linear.requests if r.operation == WITH_COMMENTS]
    assert request.variables["first"] == 4 and request.variables["commentFirst"] == 50
    # The same issues as a refresh by id, each with the comments its prompt read would give.
    assert issues == await adapter.fetch_issues_by_ids(wanted)
    for issue in issues:
        alone = await adapter.fetch_issue_comments(issue.id, issue.identifier)
        assert issue.comments == tuple(alone)
    assert [(c.author, c.body) for c in issues[0].comments] == [
        (linear.viewer.name, "Proof of work"),
        ("Rita Reviewer", "Rework: the empty case crashes"),
    ]
    assert issues[1].comments == ()
    assert len(issues[2].comments) == MAX_PROMPT_COMMENTS


async def test_issues_with_comments_go_fifty_a_request(
    linear: FakeLinear, make_adapter: MakeAdapter
) -> None:
    size = queries.WITH_COMMENTS_PAGE_SIZE
    created = [linear.add_issue(f"Issue {n}") for n in range(size + 1)]
    issues = await make_adapter().fetch_issues_with_comments([c.id for c in created])
    assert [i.id for i in issues] == [c.id for c in created]
    batches = [r.variables for r in linear.requests if r.operation == WITH_COMMENTS]
    assert [len(b["ids"]) for b in batches] == [size, 1]


async def test_issues_with_comments_fail_on_an_answer_without_comments(
    linear: FakeLinear, make_adapter: MakeAdapter
) -> None:
    issue = linear.add_issue("Will lose its comments")
    linear.inject(_break_first_node("comments", None), operation=WITH_COMMENTS)
    with pytest.raises(TrackerError) as err:
        await make_adapter().fetch_issues_with_comments([issue.id])
    assert err.value.category == TRACKER_RESPONSE
    assert issue.identifier in err.value.message
    assert "without comments" in err.value.message
