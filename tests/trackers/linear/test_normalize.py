"""Linear node -> Issue: SPEC §11.3 normalization and the reference's dispatchable rules."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from symphony.issue import BlockerRef, Issue
from symphony.trackers.linear.normalize import (
    MalformedIssue,
    Routing,
    normalize_issue,
    normalize_priority,
    normalize_whole,
)

TERMINAL = Routing.build(("Closed", "Cancelled", "Canceled", "Duplicate", "Done"), None)


def node(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "issue-1",
        "identifier": "SYM-1",
        "title": "Fix login",
        "description": "Steps to reproduce",
        "priority": 2,
        "branchName": "bot/sym-1-fix-login",
        "url": "https://linear.app/acme/issue/SYM-1",
        "createdAt": "2026-01-05T09:01:00.000Z",
        "updatedAt": "2026-01-06T10:00:00.123+02:00",
        "state": {"name": "Todo"},
        "assignee": {"id": "user-1"},
        "labels": {
            "nodes": [{"name": " Bug "}, {"name": "bug"}, {"name": "Backend"}, {"name": ""}]
        },
        "inverseRelations": {"nodes": [], "pageInfo": {"hasNextPage": False}},
    }
    base.update(overrides)
    return base


def blocks(state: str | None, kind: str = "blocks", **issue: Any) -> dict[str, Any]:
    source = {"id": "b-1", "identifier": "SYM-0", "state": {"name": state} if state else None}
    source.update(issue)
    return {"type": kind, "issue": source}


def relations(*nodes: dict[str, Any], more: bool = False) -> dict[str, Any]:
    return {"nodes": list(nodes), "pageInfo": {"hasNextPage": more}}


def test_full_record_normalizes_every_field() -> None:
    record = node(inverseRelations=relations(blocks("Done")))
    issue = normalize_issue(record, TERMINAL)
    # Every field, each from a distinct value: the normalizer builds issues positionally.
    assert issue == Issue(
        id="issue-1",
        identifier="SYM-1",
        title="Fix login",
        state="Todo",
        dispatchable=True,
        description="Steps to reproduce",
        priority=2,
        branch_name="bot/sym-1-fix-login",
        url="https://linear.app/acme/issue/SYM-1",
        assignee_id="user-1",
        labels=("bug", "backend"),
        blocked_by=(BlockerRef(id="b-1", identifier="SYM-0", state="Done"),),
        created_at=datetime(2026, 1, 5, 9, 1, tzinfo=UTC),
        updated_at=datetime(2026, 1, 6, 8, 0, 0, 123000, tzinfo=UTC),
    )
    # Not compared by ``==``:
    assert (issue.native_ref, issue.summary, issue.comments) == (None, False, ())
    assert issue.to_dict()["created_at"] == "2026-01-05T09:01:00Z"
    del record["description"], record["branchName"], record["updatedAt"]
    summary = normalize_issue(record, TERMINAL)
    assert (summary.summary, summary.description, summary.branch_name, summary.updated_at) == (
        True,
        None,
        None,
        None,
    )


def test_whole_lists_or_none_when_the_page_cut_one_off() -> None:
    assert normalize_whole(node(), TERMINAL) == normalize_issue(node(), TERMINAL)
    cut_labels = {"nodes": [{"name": "bug"}], "pageInfo": {"hasNextPage": True}}
    assert normalize_whole(node(labels=cut_labels), TERMINAL) is None
    assert normalize_whole(node(inverseRelations=relations(more=True)), TERMINAL) is None
    # normalize_issue keeps what the page held, and an issue whose blockers are not all known
    # stays blocked.
    partial = normalize_issue(
        node(labels=cut_labels, inverseRelations=relations(more=True)), TERMINAL
    )
    assert (partial.labels, partial.dispatchable) == (("bug",), False)
    # A malformed record is malformed whether or not its lists were cut off.
    with pytest.raises(MalformedIssue):
        normalize_whole(node(id=None, labels=cut_labels), TERMINAL)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (2, 2),
        (2.0, 2),
        (4.0, 4),
        (1, 1),
        (0, None),
        (0.0, None),
        (1.5, None),
        ("2", None),
        (True, None),
        (None, None),
        (float("nan"), None),
        (float("inf"), None),
        (7, 7),
        (7.0, 7),
        (-1.0, -1),
    ],
)
def test_priority_accepts_linear_float(value: Any, expected: int | None) -> None:
    assert normalize_priority(value) == expected
    # Through a whole node too: the normalizer looks Linear's own values up first.
    assert normalize_issue(node(priority=value), TERMINAL).priority == expected


def test_unusable_optional_fields_become_null_without_hiding_required_ones() -> None:
    issue = normalize_issue(
        node(
            description=42,
            priority="high",
            branchName="",
            url=None,
            createdAt="yesterday",
            updatedAt="2026-01-05T09:01:00",  # no offset: not an RFC 3339 instant
            assignee=None,
            labels=None,
            inverseRelations="broken",
        ),
        TERMINAL,
    )
    assert (issue.id, issue.identifier, issue.title, issue.state) == (
        "issue-1",
        "SYM-1",
        "Fix login",
        "Todo",
    )
    assert issue.description is None
    assert issue.priority is None
    assert issue.branch_name is None
    assert issue.url is None
    assert issue.created_at is None and issue.updated_at is None
    assert issue.assignee_id is None
    assert issue.labels == ()
    assert issue.blocked_by == ()


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"id": None}, "missing id"),
        ({"id": "  "}, "missing id"),
        ({"identifier": None}, "missing identifier"),
        ({"title": " "}, "missing title"),
        ({"state": None}, "missing state.name"),
        ({"state": {"name": ""}}, "missing state.name"),
    ],
)
def test_missing_required_fields_are_malformed(overrides: dict[str, Any], problem: str) -> None:
    with pytest.raises(MalformedIssue) as err:
        normalize_issue(node(**overrides), TERMINAL)
    assert err.value.problem == problem


def test_non_object_is_malformed() -> None:
    with pytest.raises(MalformedIssue):
        normalize_issue(None, TERMINAL)


def test_blockers_come_from_inverse_blocks_relations_only() -> None:
    issue = normalize_issue(
        node(
            state={"name": "In Progress"},
            inverseRelations=relations(
                blocks("Done"),
                blocks("Todo", kind=" Blocks ", id="b-2", identifier="SYM-9"),
                blocks("Todo", kind="related", id="r-1"),
                blocks("Todo", kind="duplicate", id="d-1"),
            ),
        ),
        TERMINAL,
    )
    assert issue.blocked_by == (
        BlockerRef("b-1", "SYM-0", "Done"),
        BlockerRef("b-2", "SYM-9", "Todo"),
    )


@pytest.mark.parametrize(
    ("state", "blocker_states", "more", "dispatchable"),
    [
        ("Todo", ["In Progress"], False, False),  # open blocker holds a Todo issue
        ("todo ", ["Todo"], False, False),  # the gate compares trimmed, lowercased
        ("Todo", ["Done", "canceled"], False, True),  # terminal blockers (case-insensitive)
        ("Todo", [None], False, False),  # unknown blocker state blocks
        ("Todo", ["Done"], True, False),  # blocker list cut off: cannot prove it is clear
        ("Todo", [], False, True),
        ("In Progress", ["In Progress"], False, True),  # running work keeps running
        ("Rework", [None], True, True),
    ],
)
def test_blockers_gate_only_todo(
    state: str, blocker_states: list[str | None], more: bool, dispatchable: bool
) -> None:
    rels = relations(*(blocks(s, id=f"b{i}") for i, s in enumerate(blocker_states)), more=more)
    issue = normalize_issue(node(state={"name": state}, inverseRelations=rels), TERMINAL)
    assert issue.dispatchable is dispatchable


def test_blocker_without_readable_issue_still_blocks() -> None:
    rels = relations({"type": "blocks", "issue": None})
    issue = normalize_issue(node(inverseRelations=rels), TERMINAL)
    assert issue.blocked_by == (BlockerRef(None, None, None),)
    assert issue.dispatchable is False


@pytest.mark.parametrize(
    ("configured", "assignee", "dispatchable"),
    [
        (None, None, True),
        (None, {"id": "someone"}, True),
        ("user-1", {"id": "user-1"}, True),
        ("user-1", {"id": "user-2"}, False),
        ("user-1", None, False),  # unassigned is not routed to anyone in particular
    ],
)
def test_assignee_routing(
    configured: str | None, assignee: dict[str, str] | None, dispatchable: bool
) -> None:
    routing = Routing.build(("Done",), configured)
    issue = normalize_issue(node(assignee=assignee), routing)
    assert issue.dispatchable is dispatchable


def test_a_blocker_shared_by_many_issues_is_one_object_and_follows_its_state() -> None:
    first = normalize_issue(node(id="i-1", inverseRelations=relations(blocks("Todo"))), TERMINAL)
    second = normalize_issue(node(id="i-2", inverseRelations=relations(blocks("Todo"))), TERMINAL)
    moved = normalize_issue(node(id="i-3", inverseRelations=relations(blocks("Done"))), TERMINAL)
    assert first.blocked_by[0] is second.blocked_by[0]
    assert moved.blocked_by == (BlockerRef("b-1", "SYM-0", "Done"),)
    assert (first.dispatchable, moved.dispatchable) == (False, True)


def test_a_blocker_with_unusable_fields_is_kept_with_what_is_usable() -> None:
    rels = relations(blocks("Todo", id=["b-1"], identifier={"x": 1}))
    issue = normalize_issue(node(inverseRelations=rels), TERMINAL)
    assert issue.blocked_by == (BlockerRef(None, None, "Todo"),)
    assert issue.dispatchable is False
