"""Labels and blockers beyond a page's nested lists are read in full by follow-up requests.

A page of 250 issues affords only ``LABEL_PAGE_SIZE`` labels and ``RELATION_PAGE_SIZE`` inverse
relations per issue; an issue with more must still be normalized from its whole lists, or a
hidden required label would stop its agent and a hidden open blocker would release a Todo issue.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from symphony.trackers.base import TRACKER_PAGINATION, TRACKER_RESPONSE, TrackerError
from symphony.trackers.linear import queries
from tests.support.fake_linear import Failure, FakeLinear
from tests.support.fake_linear_data import IssueRecord
from tests.trackers.linear.conftest import MakeAdapter

LABELS = queries.LABELS_OPERATION
RELATIONS = queries.RELATIONS_OPERATION
MANY_LABELS = queries.LABEL_PAGE_SIZE + 3
MANY_BLOCKERS = queries.RELATION_PAGE_SIZE + 2


def blocked_by_many(linear: FakeLinear, last_state: str) -> tuple[IssueRecord, list[IssueRecord]]:
    """A Todo issue whose first blockers are Done and whose last one, past the page, is not."""
    issue = linear.add_issue("Blocked by many")
    blockers = [linear.add_issue(f"Blocker {n}", state="Done") for n in range(MANY_BLOCKERS - 1)]
    blockers.append(linear.add_issue("The last blocker", state=last_state))
    for blocker in blockers:
        linear.add_blocker(issue, blocker)
    return issue, blockers


ReadOne = Callable[[Any, IssueRecord], Any]


async def by_states(adapter: Any, issue: IssueRecord) -> Any:
    found = await adapter.fetch_issues_by_states(["Todo"])
    return next(i for i in found if i.id == issue.id)


async def summaries(adapter: Any, issue: IssueRecord) -> Any:
    found = await adapter.fetch_issue_summaries_by_states(["Todo"])
    return next(i for i in found if i.id == issue.id)


async def by_ids(adapter: Any, issue: IssueRecord) -> Any:
    [found] = await adapter.fetch_issues_by_ids([issue.id])
    return found


READS = pytest.mark.parametrize("read", [by_states, summaries, by_ids], ids=lambda r: r.__name__)


@READS
async def test_an_issue_with_more_labels_than_the_page_holds_gets_them_all(
    linear: FakeLinear, make_adapter: MakeAdapter, read: ReadOne
) -> None:
    names = [f"Label {n}" for n in range(MANY_LABELS)]
    issue = linear.add_issue("Many labels", labels=names)
    linear.add_issue("Few labels", labels=["Label 0"])
    found = await read(make_adapter(), issue)
    assert found.labels == tuple(name.lower() for name in names)
    follow_ups = [r for r in linear.requests if r.operation == LABELS]
    assert [r.variables["id"] for r in follow_ups] == [issue.id]
    assert follow_ups[0].variables["after"] is None  # the whole list, from its start
    assert RELATIONS not in linear.operations()


@READS
async def test_an_open_blocker_past_the_page_keeps_a_todo_issue_back(
    linear: FakeLinear, make_adapter: MakeAdapter, read: ReadOne
) -> None:
    issue, blockers = blocked_by_many(linear, "In Progress")
    found = await read(make_adapter(), issue)
    assert [b.identifier for b in found.blocked_by] == [b.identifier for b in blockers]
    assert found.blocked_by[-1].state == "In Progress"
    assert found.dispatchable is False
    assert linear.operations().count(RELATIONS) == 1


@READS
async def test_a_todo_issue_whose_blockers_are_all_done_is_released(
    linear: FakeLinear, make_adapter: MakeAdapter, read: ReadOne
) -> None:
    issue, blockers = blocked_by_many(linear, "Done")
    found = await read(make_adapter(), issue)
    assert len(found.blocked_by) == len(blockers)
    assert found.dispatchable is True


async def test_follow_ups_page_through_long_lists(
    linear: FakeLinear, make_adapter: MakeAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queries, "FOLLOW_UP_PAGE_SIZE", 2)
    names = [f"Label {n}" for n in range(queries.LABEL_PAGE_SIZE + 5)]
    issue = linear.add_issue("Many labels", labels=names)
    [found] = await make_adapter().fetch_issues_by_ids([issue.id])
    assert found.labels == tuple(name.lower() for name in names)
    follow_ups = [r.variables for r in linear.requests if r.operation == LABELS]
    assert len(follow_ups) == 5  # 9 labels, 2 a page
    assert follow_ups[0]["after"] is None
    assert len({v["after"] for v in follow_ups}) == 5


@pytest.mark.parametrize(
    ("failure", "category", "needle"),
    [
        (Failure.http_status(502), "tracker_status", "HTTP 502"),
        (
            Failure.graphql_errors("Entity not found: Issue", code="INVALID_INPUT"),
            TRACKER_RESPONSE,
            "Entity not found",
        ),
    ],
)
async def test_a_failed_follow_up_fails_the_read_instead_of_using_a_partial_list(
    linear: FakeLinear,
    make_adapter: MakeAdapter,
    failure: Failure,
    category: str,
    needle: str,
) -> None:
    issue, _ = blocked_by_many(linear, "Done")
    linear.inject(failure, operation=RELATIONS)
    adapter = make_adapter()
    with pytest.raises(TrackerError) as err:
        await adapter.fetch_issue_summaries_by_states(["Todo"])
    assert err.value.category == category
    assert needle in err.value.message
    # The next read, with Linear answering again, is complete.
    found = await summaries(adapter, issue)
    assert found.dispatchable is True


async def test_a_follow_up_that_repeats_its_cursor_stops(
    linear: FakeLinear, make_adapter: MakeAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queries, "FOLLOW_UP_PAGE_SIZE", 2)
    issue = linear.add_issue("Many labels", labels=[f"Label {n}" for n in range(MANY_LABELS)])
    cursors: list[str] = []

    def loop_back(body: dict[str, Any]) -> dict[str, Any]:
        info = body["data"]["issue"]["labels"]["pageInfo"]
        cursors.append(info["endCursor"])
        info["endCursor"] = cursors[0]
        return body

    linear.inject(Failure.rewritten(loop_back), operation=LABELS, times=2)
    with pytest.raises(TrackerError) as err:
        await make_adapter().fetch_issues_by_ids([issue.id])
    assert err.value.category == TRACKER_PAGINATION
    assert issue.identifier in err.value.message
    assert linear.operations().count(LABELS) == 2
