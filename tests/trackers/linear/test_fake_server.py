"""The fake Linear server holds requests to Linear's published schema and applies mutations."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from graphql import GraphQLSchema, parse, validate

from symphony.trackers.linear import queries
from tests.support.fake_linear import Failure, FakeLinear


def post(linear: FakeLinear, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
    return httpx.post(
        linear.url,
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": linear.api_key or ""},
        timeout=5,
    )


@pytest.mark.parametrize(
    "document", [queries.CANDIDATES_QUERY, queries.BY_IDS_QUERY, queries.VIEWER_QUERY]
)
def test_adapter_documents_are_valid_against_linear_schema(
    linear_schema: GraphQLSchema, document: str
) -> None:
    assert validate(linear_schema, parse(document)) == []


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        # Both appear in the reference's skill file; neither exists in any Linear schema.
        ('{ issue(id: "SYM-1") { id links { nodes { id } } } }', "links"),
        (
            '{ issues(filter: {identifier: {eq: "SYM-1"}}) { nodes { id } } }',
            "identifier",
        ),
        ("query Q($id: Int!) { issue(id: $id) { id } }", "Int!"),
        ('{ issue(id: "SYM-1") { id ', "Syntax Error"),
    ],
)
def test_server_rejects_documents_linear_would_reject(
    linear: FakeLinear, query: str, needle: str
) -> None:
    linear.rejections_expected = True
    response = post(linear, query)
    assert response.status_code == 400
    messages = " ".join(e["message"] for e in response.json()["errors"])
    assert needle in messages
    assert len(linear.rejected) == 1
    assert linear.rejected[0].errors


def test_server_rejects_wrongly_typed_variables(linear: FakeLinear) -> None:
    linear.rejections_expected = True
    response = post(linear, "query Q($id: String!) { issue(id: $id) { id } }", {"id": 5})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert linear.rejected


def test_server_requires_the_api_key_without_bearer(linear: FakeLinear) -> None:
    response = httpx.post(
        linear.url,
        json={"query": "{ viewer { id } }"},
        headers={"Authorization": f"Bearer {linear.api_key}"},
        timeout=5,
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "AUTHENTICATION_ERROR"
    assert post(linear, "{ viewer { id } }").json() == {
        "data": {"viewer": {"id": linear.viewer.id}}
    }


def test_mutations_change_the_workspace(linear: FakeLinear) -> None:
    issue = linear.add_issue("Ship it", state="In Progress")
    states = post(
        linear,
        "query S($id: String!) { issue(id: $id) { team { states { nodes { id name } } } } }",
        {"id": issue.identifier},
    ).json()["data"]["issue"]["team"]["states"]["nodes"]
    review = next(s["id"] for s in states if s["name"] == "Human Review")
    moved = post(
        linear,
        "mutation M($id: String!, $s: String!) { issueUpdate(id: $id, input: {stateId: $s}) "
        "{ success issue { identifier state { name } } } }",
        {"id": issue.id, "s": review},
    ).json()
    assert moved["data"]["issueUpdate"]["issue"]["state"]["name"] == "Human Review"
    assert linear.state_of(issue) == "Human Review"

    created = post(
        linear,
        "mutation C($issueId: String!, $body: String!) { commentCreate(input: "
        "{issueId: $issueId, body: $body}) { success comment { id body } } }",
        {"issueId": issue.id, "body": "## Codex Workpad\n- [ ] plan"},
    ).json()["data"]["commentCreate"]
    assert created["success"] is True
    post(
        linear,
        "mutation U($id: String!, $body: String!) { commentUpdate(id: $id, input: {body: $body}) "
        "{ success } }",
        {"id": created["comment"]["id"], "body": "## Codex Workpad\n- [x] plan"},
    )
    [comment] = linear.comments_on(issue)
    assert comment.body.endswith("[x] plan")
    assert comment.edited_at is not None


def test_unmodelled_fields_fail_loudly_instead_of_returning_null(linear: FakeLinear) -> None:
    issue = linear.add_issue("Anything")
    body = post(
        linear, "query Q($id: String!) { issue(id: $id) { id estimate } }", {"id": issue.id}
    )
    assert body.status_code == 200
    assert "does not model Issue.estimate" in body.json()["errors"][0]["message"]


def test_requests_are_recorded_with_operation_and_variables(linear: FakeLinear) -> None:
    post(linear, "query Who { viewer { id } }")
    [record] = linear.requests
    assert record.operation == "Who"
    assert record.status == 200
    assert record.headers["content-type"].startswith("application/json")


def test_injected_failures_apply_to_the_named_operation_only(linear: FakeLinear) -> None:
    linear.inject(Failure.http_status(503), operation="Second", times=2)
    assert post(linear, "query First { viewer { id } }").status_code == 200
    assert post(linear, "query Second { viewer { id } }").status_code == 503
    assert post(linear, "query Second { viewer { id } }").status_code == 503
    assert post(linear, "query Second { viewer { id } }").status_code == 200


def test_injected_rate_limit_carries_linear_headers(linear: FakeLinear) -> None:
    linear.inject(Failure.rate_limited(retry_after="7", requests_reset_ms=1_900_000_000_000))
    response = post(linear, "{ viewer { id } }")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert response.headers["x-ratelimit-requests-remaining"] == "0"
    assert response.json()["errors"][0]["extensions"]["code"] == "RATELIMITED"


def test_wait_for_sees_changes(linear: FakeLinear) -> None:
    issue = linear.add_issue("Watch me")
    linear.move(issue, "Done")
    assert linear.wait_for(lambda f: f.state_of(issue) == "Done", timeout=1)
    assert not linear.wait_for(lambda f: f.state_of(issue) == "Todo", timeout=0.05)
