"""The GraphQL documents the adapter sends; each is checked against Linear's schema in tests."""

from __future__ import annotations

# Linear caps `first` at 250; 50 keeps each page's complexity cost modest.
PAGE_SIZE = 50
RELATION_PAGE_SIZE = 50
LABEL_PAGE_SIZE = 50

CANDIDATES_OPERATION = "SymphonyCandidateIssues"
BY_IDS_OPERATION = "SymphonyIssuesById"
VIEWER_OPERATION = "SymphonyViewer"

# `inverseRelations` are relations pointing at this issue: for type "blocks", `issue` is the
# blocker (IssueRelation.issue is the source side). Its pageInfo tells us whether blockers were
# cut off, so a Todo issue is never released on a partial blocker list.
_ISSUE_FIELDS = """
fragment SymphonyIssueFields on Issue {
  id
  identifier
  title
  description
  priority
  branchName
  url
  createdAt
  updatedAt
  state { name }
  assignee { id }
  labels(first: $labelFirst) { nodes { name } }
  inverseRelations(first: $relationFirst) {
    nodes { type issue { id identifier state { name } } }
    pageInfo { hasNextPage }
  }
}
"""

CANDIDATES_QUERY = (
    """
query SymphonyCandidateIssues(
  $projectSlug: String!
  $stateNames: [String!]!
  $first: Int!
  $after: String
  $labelFirst: Int!
  $relationFirst: Int!
) {
  issues(
    filter: {project: {slugId: {eq: $projectSlug}}, state: {name: {in: $stateNames}}}
    first: $first
    after: $after
  ) {
    nodes { ...SymphonyIssueFields }
    pageInfo { hasNextPage endCursor }
  }
}
"""
    + _ISSUE_FIELDS
)

BY_IDS_QUERY = (
    """
query SymphonyIssuesById(
  $ids: [ID!]!
  $projectSlug: String!
  $first: Int!
  $labelFirst: Int!
  $relationFirst: Int!
) {
  issues(filter: {id: {in: $ids}, project: {slugId: {eq: $projectSlug}}}, first: $first) {
    nodes { ...SymphonyIssueFields }
  }
}
"""
    + _ISSUE_FIELDS
)

VIEWER_QUERY = """
query SymphonyViewer {
  viewer { id }
}
"""
