"""The fake GitHub itself: it refuses what GitHub refuses, pages, prices and fails on request."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.fake_github import DEFAULT_TOKEN, Failure, FakeGitHub

ISSUES = """
query Issues($owner: String!, $name: String!, $first: Int, $after: String) {
  rateLimit { cost remaining resetAt limit used }
  repository(owner: $owner, name: $name) {
    issues(first: $first, after: $after, states: [OPEN]) {
      pageInfo { hasNextPage endCursor }
      nodes { id number title url state labels(first: 10) { nodes { name } } }
    }
  }
}
"""


def post(
    github: FakeGitHub,
    query: str,
    variables: dict[str, Any] | None = None,
    token: str = DEFAULT_TOKEN,
) -> httpx.Response:
    return httpx.post(
        github.url,
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"bearer {token}"},
        timeout=10,
    )


def test_a_valid_query_runs_against_the_data_and_reports_its_price(github: FakeGitHub) -> None:
    github.add_issue("Fix login", labels=["bug"])
    github.add_issue("Closed one", closed=True)
    answer = post(github, ISSUES, {"owner": "acme", "name": "app", "first": 10})
    assert answer.status_code == 200
    body = answer.json()
    issues = body["data"]["repository"]["issues"]["nodes"]
    assert [i["title"] for i in issues] == ["Fix login"]
    assert issues[0]["labels"]["nodes"] == [{"name": "bug"}]
    assert issues[0]["url"] == "https://github.com/acme/app/issues/1"
    limit = body["data"]["rateLimit"]
    assert limit["cost"] == 1 and limit["remaining"] == 4999 and limit["limit"] == 5000
    assert answer.headers["X-RateLimit-Remaining"] == "4999"


def test_requests_without_the_token_get_401(github: FakeGitHub) -> None:
    answer = post(github, ISSUES, {"owner": "acme", "name": "app", "first": 10}, token="nope")
    assert answer.status_code == 401
    assert answer.json()["message"] == "Bad credentials"
    plain = httpx.post(github.url, json={"query": "{ viewer { login } }"}, timeout=10)
    assert plain.status_code == 401


def test_documents_outside_the_schema_are_rejected(github: FakeGitHub) -> None:
    github.rejections_expected = True
    answer = post(github, '{ repository(owner: "acme", name: "app") { nope } }')
    assert answer.status_code == 200
    errors = answer.json()["errors"]
    assert "nope" in errors[0]["message"] and "data" not in answer.json()
    assert len(github.rejected) == 1


@pytest.mark.parametrize(
    ("first", "kind"), [(None, "MISSING_PAGINATION_BOUNDARIES"), (101, "EXCESSIVE_PAGINATION")]
)
def test_connections_need_first_or_last_at_most_100(
    github: FakeGitHub, first: int | None, kind: str
) -> None:
    github.rejections_expected = True
    answer = post(github, ISSUES, {"owner": "acme", "name": "app", "first": first})
    error = answer.json()["errors"][0]
    assert error["type"] == kind
    assert "`issues` connection" in error["message"]


def test_nested_connections_are_priced_by_the_requests_they_imply(github: FakeGitHub) -> None:
    board = github.add_project("acme", 1)
    query = """
    query Board($n: Int!) {
      rateLimit { cost }
      organization(login: "acme") { projectV2(number: $n) { items(first: 100) { nodes {
        content { ... on Issue { labels(first: 100) { nodes { name } } } }
      } } } }
    }"""
    body = post(github, query, {"n": board.number}).json()
    # 1 request for the items, 100 for their labels: 101 / 100 rounds to 1.
    assert body["data"]["rateLimit"]["cost"] == 1
    deep = """
    { repository(owner: "acme", name: "app") { issues(first: 100) { nodes {
        projectItems(first: 100) { nodes { fieldValues(first: 10) { totalCount } } } } } }
      rateLimit { cost } }"""
    body = post(github, deep).json()
    # 1 + 100 + 100 * 100 requests.
    assert body["data"]["rateLimit"]["cost"] == 101
    github.rejections_expected = True
    huge = deep.replace("fieldValues(first: 10)", "fieldValues(first: 100)")
    assert post(github, huge).json()["errors"][0]["type"] == "MAX_NODE_LIMIT_EXCEEDED"


def test_pages_follow_the_cursor(github: FakeGitHub) -> None:
    for n in range(5):
        github.add_issue(f"Issue {n}")
    seen: list[str] = []
    after = None
    while True:
        body = post(
            github, ISSUES, {"owner": "acme", "name": "app", "first": 2, "after": after}
        ).json()
        page = body["data"]["repository"]["issues"]
        seen += [n["title"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [f"Issue {n}" for n in range(5)]


def test_board_items_carry_status_and_content_types(github: FakeGitHub) -> None:
    board = github.add_project("acme", 3, priority=["P0", "P1"])
    issue = github.add_issue("On the board")
    pr = github.add_issue("A pull request", pull_request=True)
    github.add_item(board, issue, status="Todo", priority="P1")
    github.add_item(board, pr, status="Todo")
    github.add_item(board, draft_title="Just an idea")
    query = """
    query Board($owner: String!, $n: Int!) {
      repositoryOwner(login: $owner) { ... on ProjectV2Owner { projectV2(number: $n) {
        items(first: 10) { nodes {
          type
          status: fieldValueByName(name: "Status") {
            ... on ProjectV2ItemFieldSingleSelectValue { name optionId } }
          priority: fieldValueByName(name: "Priority") {
            ... on ProjectV2ItemFieldSingleSelectValue { name } }
          content { __typename ... on Issue { number } }
        } } } } }
    }"""
    items = post(github, query, {"owner": "acme", "n": 3}).json()["data"]["repositoryOwner"][
        "projectV2"
    ]["items"]["nodes"]
    assert [i["type"] for i in items] == ["ISSUE", "PULL_REQUEST", "DRAFT_ISSUE"]
    assert [i["content"]["__typename"] for i in items] == ["Issue", "PullRequest", "DraftIssue"]
    assert items[0]["status"]["name"] == "Todo" and items[0]["priority"] == {"name": "P1"}


def test_unknown_node_ids_are_null_with_a_not_found_error(github: FakeGitHub) -> None:
    issue = github.add_issue("Known")
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Issue { id title } } }"
    body = post(github, query, {"ids": [issue.id, "I_missing"]}).json()
    assert body["data"]["nodes"] == [{"id": issue.id, "title": "Known"}, None]
    assert body["errors"][0]["type"] == "NOT_FOUND"
    assert body["errors"][0]["path"] == ["nodes", 1]


def test_mutations_change_the_data(github: FakeGitHub) -> None:
    board = github.add_project("acme", 1)
    issue = github.add_issue("Move me")
    item = github.add_item(board, issue, status="Todo")
    status = board.field_named("Status")
    assert status is not None
    done = next(o for o in status.options if o.name == "Done")
    mutation = """
    mutation Move($p: ID!, $i: ID!, $f: ID!, $o: String!) {
      updateProjectV2ItemFieldValue(input: {projectId: $p, itemId: $i, fieldId: $f,
        value: {singleSelectOptionId: $o}}) { projectV2Item { id } }
    }"""
    body = post(github, mutation, {"p": board.id, "i": item.id, "f": status.id, "o": done.id})
    assert body.json()["data"]["updateProjectV2ItemFieldValue"]["projectV2Item"]["id"] == item.id
    assert github.status_of(board, issue) == "Done"
    close = "mutation($id: ID!) { closeIssue(input: {issueId: $id}) { issue { state } } }"
    assert post(github, close, {"id": issue.id}).json()["data"]["closeIssue"]["issue"] == {
        "state": "CLOSED"
    }
    comment = """mutation($id: ID!, $body: String!) {
      addComment(input: {subjectId: $id, body: $body}) { commentEdge { node { id } } } }"""
    post(github, comment, {"id": issue.id, "body": "hello"})
    assert [c.body for c in github.comments_on(issue)] == ["hello"]
    assert len(github.mutations()) == 3


def test_injected_failures(github: FakeGitHub) -> None:
    variables = {"owner": "acme", "name": "app", "first": 10}
    github.inject(Failure.secondary_rate_limit(retry_after="30"))
    answer = post(github, ISSUES, variables)
    assert answer.status_code == 403 and answer.headers["Retry-After"] == "30"
    github.inject(Failure.rate_limited())
    answer = post(github, ISSUES, variables)
    assert answer.status_code == 200 and answer.json()["errors"][0]["type"] == "RATE_LIMITED"
    github.inject(Failure.bad_gateway())
    assert post(github, ISSUES, variables).status_code == 502
    assert post(github, ISSUES, variables).status_code == 200


def test_a_spent_budget_answers_rate_limited(github: FakeGitHub) -> None:
    github.set_budget(remaining=0)
    answer = post(github, ISSUES, {"owner": "acme", "name": "app", "first": 10})
    assert answer.json()["errors"][0]["type"] == "RATE_LIMITED"
    assert answer.headers["X-RateLimit-Remaining"] == "0"
