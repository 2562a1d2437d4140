"""The adapter's documents stay under Linear's complexity limit, scored by its published rules.

Linear refuses a document over 10,000 points, or a page over 250, before running it; the rules
and the arithmetic for our documents are in ``symphony.trackers.linear.queries``.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from graphql import GraphQLSchema, parse

from symphony.trackers.base import MAX_PROMPT_COMMENTS
from symphony.trackers.linear import queries
from tests.support.fake_linear import FakeLinear
from tests.support.linear_complexity import COMPLEXITY_LIMIT, ComplexityError, score
from tests.trackers.linear.conftest import MakeAdapter

# Our own ceiling: 10 % under Linear's limit, for costs its published rules do not show.
CEILING = COMPLEXITY_LIMIT * 9 // 10

NESTED = {"labelFirst": queries.LABEL_PAGE_SIZE, "relationFirst": queries.RELATION_PAGE_SIZE}
BY_STATES = {"projectSlug": "p", "stateNames": ["Todo"], "first": queries.PAGE_SIZE, **NESTED}
FOLLOW_UP = {"id": "i", "first": queries.FOLLOW_UP_PAGE_SIZE, "after": "c"}

# Every document with the largest variables the adapter sends it (a full page, a full batch).
DOCUMENTS = {
    queries.CANDIDATES_OPERATION: (queries.CANDIDATES_QUERY, BY_STATES, 8_526),
    queries.SUMMARIES_OPERATION: (queries.SUMMARIES_QUERY, BY_STATES, 8_451),
    queries.BY_IDS_OPERATION: (
        queries.BY_IDS_QUERY,
        {"ids": ["i"] * queries.PAGE_SIZE, "projectSlug": "p", "first": queries.PAGE_SIZE} | NESTED,
        8_226,
    ),
    queries.WITH_COMMENTS_OPERATION: (
        queries.WITH_COMMENTS_QUERY,
        {
            "ids": ["i"] * queries.WITH_COMMENTS_PAGE_SIZE,
            "projectSlug": "p",
            "first": queries.WITH_COMMENTS_PAGE_SIZE,
            "commentFirst": MAX_PROMPT_COMMENTS,
        }
        | NESTED,
        7_446,
    ),
    queries.LABELS_OPERATION: (queries.LABELS_QUERY, FOLLOW_UP, 577),
    queries.RELATIONS_OPERATION: (queries.RELATIONS_QUERY, FOLLOW_UP, 1_152),
    queries.VIEWER_OPERATION: (queries.VIEWER_QUERY, {}, 2),
}


# The review loop's writes and the prompt's comments, one issue each.
WRITE_DOCUMENTS = {
    queries.ISSUE_STATES_OPERATION: (
        queries.ISSUE_STATES_QUERY,
        {"id": "i", "first": queries.MAX_PAGE_SIZE},
        305,
    ),
    queries.MOVE_OPERATION: (queries.MOVE_MUTATION, {"id": "i", "stateId": "s"}, 4),
    queries.OWN_COMMENTS_OPERATION: (
        queries.OWN_COMMENTS_QUERY,
        {"id": "i", "first": queries.MAX_PAGE_SIZE, "after": "c"},
        602,
    ),
    queries.COMMENT_OPERATION: (queries.COMMENT_MUTATION, {"issueId": "i", "body": "b"}, 2),
    queries.COMMENT_UPDATE_OPERATION: (
        queries.COMMENT_UPDATE_MUTATION,
        {"id": "i", "body": "b"},
        2,
    ),
    queries.PROMPT_COMMENTS_OPERATION: (
        queries.PROMPT_COMMENTS_QUERY,
        {"id": "i", "first": 50},
        117,
    ),
}


def points(schema: GraphQLSchema, query: str, variables: dict[str, Any] | None = None) -> int:
    return score(schema, parse(query), variables).points


@pytest.mark.parametrize("operation", sorted(DOCUMENTS))
def test_each_document_scores_under_the_ceiling(
    linear_schema: GraphQLSchema, operation: str
) -> None:
    query, variables, expected = DOCUMENTS[operation]
    found = score(linear_schema, parse(query), variables)
    # The figure queries.py's docstring derives by hand, so the two cannot drift apart.
    assert found.points == expected
    assert found.points <= CEILING
    assert found.largest_page <= queries.MAX_PAGE_SIZE


@pytest.mark.parametrize("operation", sorted(WRITE_DOCUMENTS))
def test_each_write_document_scores_what_queries_py_says(
    linear_schema: GraphQLSchema, operation: str
) -> None:
    query, variables, expected = WRITE_DOCUMENTS[operation]
    found = score(linear_schema, parse(query), variables)
    assert found.points == expected
    assert found.largest_page <= queries.MAX_PAGE_SIZE


def test_the_page_sizes_use_linears_largest_page(linear_schema: GraphQLSchema) -> None:
    assert queries.PAGE_SIZE == queries.FOLLOW_UP_PAGE_SIZE == queries.MAX_PAGE_SIZE == 250
    # Nested lists of 50, as Linear's default and the reference use, cost too much at 250 a page
    # (and even at 50 a page): this is why they shrank.
    fifty = {**BY_STATES, "labelFirst": 50, "relationFirst": 50}
    assert points(linear_schema, queries.SUMMARIES_QUERY, fifty) > COMPLEXITY_LIMIT
    assert points(linear_schema, queries.CANDIDATES_QUERY, {**fifty, "first": 50}) > (
        COMPLEXITY_LIMIT
    )
    # One more label or relation per issue would leave no room under the ceiling.
    for key in NESTED:
        bigger = {**BY_STATES, key: NESTED[key] + 1}
        assert points(linear_schema, queries.SUMMARIES_QUERY, bigger) > CEILING


@pytest.mark.parametrize(
    ("query", "variables", "expected"),
    [
        # A property is 0.1 and an object 1, rounded up: viewer (1) + id (0.1) -> 2.
        ("{ viewer { id } }", {}, 2),
        # A connection is 1, plus its `first` times what is under it: 1 + 10 x (1 + 0.2).
        ("{ issues(first: 10) { nodes { id title } } }", {}, 13),
        # Without first/last, Linear counts 50: 1 + 50 x (1 + 0.1).
        ("{ issues { nodes { id } } }", {}, 56),
        # Variables count with their values; pageInfo is multiplied too (reading the rule high):
        # 1 + 100 x ((1 + 0.1) + (1 + 0.1)).
        (
            "query Q($n: Int) { issues(first: $n) { nodes { id } pageInfo { hasNextPage } } }",
            {"n": 100},
            221,
        ),
        # Nesting multiplies: 1 + 2 x (1 + 0.1 + 1 + 3 x (1 + 0.1)).
        ("{ issues(first: 2) { nodes { id labels(first: 3) { nodes { name } } } } }", {}, 12),
    ],
)
def test_the_scorer_follows_the_published_rules(
    linear_schema: GraphQLSchema, query: str, variables: dict[str, Any], expected: int
) -> None:
    assert points(linear_schema, query, variables) == expected


@pytest.mark.parametrize("first", [251, -1])
def test_the_scorer_refuses_page_sizes_linear_refuses(
    linear_schema: GraphQLSchema, first: int
) -> None:
    with pytest.raises(ComplexityError, match="250"):
        points(
            linear_schema, "query Q($n: Int) { issues(first: $n) { nodes { id } } }", {"n": first}
        )


def post(linear: FakeLinear, query: str, variables: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        linear.url,
        json={"query": query, "variables": variables},
        headers={"Authorization": linear.api_key or ""},
        timeout=5,
    )


def test_the_fake_refuses_a_page_over_250(linear: FakeLinear) -> None:
    linear.rejections_expected = True
    response = post(linear, "query Q($n: Int) { issues(first: $n) { nodes { id } } }", {"n": 251})
    assert response.status_code == 400
    assert "250" in response.json()["errors"][0]["message"]
    assert len(linear.rejected) == 1


def test_the_fake_refuses_a_document_over_the_limit(linear: FakeLinear) -> None:
    linear.rejections_expected = True
    variables = {**BY_STATES, "labelFirst": 50, "relationFirst": 50}
    response = post(linear, queries.SUMMARIES_QUERY, variables)
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["message"].startswith("Query too complex")
    assert len(linear.rejected) == 1
    # The same document within the limit is answered.
    assert post(linear, queries.SUMMARIES_QUERY, BY_STATES).status_code == 200


async def test_every_request_of_a_read_scores_under_the_ceiling(
    linear: FakeLinear, make_adapter: MakeAdapter
) -> None:
    issue = linear.add_issue("Many of everything", labels=[f"L{n}" for n in range(9)])
    for n in range(queries.RELATION_PAGE_SIZE + 1):
        linear.add_blocker(issue, linear.add_issue(f"Blocker {n}", state="Done"))
    for n in range(queries.PAGE_SIZE):
        linear.add_issue(f"Filler {n}")  # a second page, which the poll reads as summaries
    adapter = make_adapter(assignee="me")
    await adapter.fetch_issue_summaries_by_states(["Todo", "Done"])
    await adapter.fetch_issues_by_states(["Todo"])
    await adapter.fetch_issues_by_ids([issue.id])
    await adapter.fetch_issues_with_comments([issue.id])
    sent = {r.operation for r in linear.requests}
    assert sent == set(DOCUMENTS)
    assert all(r.complexity is not None and r.complexity <= CEILING for r in linear.requests)
