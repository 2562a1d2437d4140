"""``new_issue`` builds exactly what ``Issue(...)`` does; the label and state rules (SPEC §8.2,
§4.2) give the same answers on their fast paths as on the general one."""

from __future__ import annotations

import dataclasses
import inspect
from datetime import UTC, datetime

import pytest

from symphony.issue import (
    BlockerRef,
    Issue,
    IssueComment,
    missing_labels,
    new_issue,
    normalize_state,
)

FULL = {
    "id": "id-1",
    "identifier": "MT-1",
    "title": "Title",
    "state": "Todo",
    "dispatchable": True,
    "description": "Body",
    "priority": 2,
    "branch_name": "mt-1",
    "url": "https://example.test/MT-1",
    "assignee_id": "user-1",
    "labels": ("bug",),
    "blocked_by": (BlockerRef("b", "MT-0", "Done"),),
    "created_at": datetime(2026, 1, 2, tzinfo=UTC),
    "updated_at": datetime(2026, 1, 3, tzinfo=UTC),
    "native_ref": {"number": 1},
    "summary": True,
    "comments": (IssueComment("ann", "hello"),),
}


def test_same_parameters_and_defaults_as_the_dataclass() -> None:
    fields = dataclasses.fields(Issue)
    parameters = inspect.signature(new_issue).parameters
    assert list(parameters) == [f.name for f in fields]
    for f in fields:
        expected = inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default
        assert parameters[f.name].default == expected, f.name
    assert set(FULL) == {f.name for f in fields}
    # new_issue sets the slots and runs nothing else: a __post_init__ would be skipped.
    assert not hasattr(Issue, "__post_init__")


@pytest.mark.parametrize("given", [FULL, {k: FULL[k] for k in list(FULL)[:5]}])
def test_builds_what_the_constructor_builds(given: dict[str, object]) -> None:
    built = new_issue(**given)  # type: ignore[arg-type]
    expected = Issue(**given)  # type: ignore[arg-type]
    assert built == expected
    assert [getattr(built, f.name) for f in dataclasses.fields(Issue)] == [
        getattr(expected, f.name) for f in dataclasses.fields(Issue)
    ]
    assert hash(built) == hash(expected)


def test_the_issue_it_builds_stays_frozen() -> None:
    issue = new_issue(**FULL)  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        issue.state = "Done"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("labels", "required", "missing"),
    [
        (("bug", "backend"), ["Bug "], []),  # normalized labels: found as they are
        ((" Bug ", "BACKEND"), ["bug", "backend"], []),  # labels as a tracker might spell them
        (["bug"], ["bug"], []),  # not a tuple: the general path
        (("bug",), ["bug", "ui"], ["ui"]),
        (("bug",), ["", "bug"], [""]),  # a blank required label matches nothing
        ((), ["bug"], ["bug"]),
        (("bug",), [], []),
    ],
)
def test_missing_labels(labels: tuple[str, ...], required: list[str], missing: list[str]) -> None:
    assert missing_labels(labels, required) == missing


def test_state_names_normalize_the_same_every_time() -> None:
    assert [normalize_state(s) for s in (" In Progress", "In Progress", " In Progress")] == [
        "in progress"
    ] * 3
