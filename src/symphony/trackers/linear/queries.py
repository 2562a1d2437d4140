"""The GraphQL documents the adapter sends; each is checked against Linear's schema in tests.

Page sizes are set by Linear's two limits: `first` is at most 250, and a document may cost at
most 10,000 complexity points (0.1 per property, 1 per object, everything under a connection
times its `first`). Issues are read 250 a page, the most Linear returns, so the nested lists must
stay small; an issue with more labels or inverse relations than fit gets the rest by follow-up
requests (``SymphonyIssueLabels``, ``SymphonyIssueRelations``). By those rules (everything under a
connection counted `first` times, `pageInfo` included, which errs high):

* each inverse relation costs 4.6 points (the relation, its type, the blocker issue with id and
  identifier, its state and name, the connection's pageInfo), each label 2.3;
* a summary issue costs 7 points beside them (itself, six properties, state, assignee, two
  connection objects, pageInfo), a full issue 0.3 more (description, branchName, updatedAt);
* a page of 250 summaries: 250 x (7 + 4 x 2.3 + 4 x 4.6) = 8,651 points; 250 full issues by id
  8,426 (no pageInfo); a follow-up page of 250 labels 577, of 250 relations 1,152.

That keeps every document at least 10 % under the limit, room for costs the published rules do
not show. ``tests/trackers/linear/test_complexity.py`` scores the real documents with these
rules, and the fake Linear refuses any request over the limit.
"""

from __future__ import annotations

# The most Linear returns in one page.
MAX_PAGE_SIZE = 250
PAGE_SIZE = MAX_PAGE_SIZE
LABEL_PAGE_SIZE = 4
RELATION_PAGE_SIZE = 4
# Follow-ups read one issue's list at a time, so they can take whole pages.
FOLLOW_UP_PAGE_SIZE = MAX_PAGE_SIZE

CANDIDATES_OPERATION = "SymphonyCandidateIssues"
SUMMARIES_OPERATION = "SymphonyIssueSummaries"
BY_IDS_OPERATION = "SymphonyIssuesById"
LABELS_OPERATION = "SymphonyIssueLabels"
RELATIONS_OPERATION = "SymphonyIssueRelations"
VIEWER_OPERATION = "SymphonyViewer"

# Lists are read with `pageInfo { hasNextPage endCursor }` so a cut-off list is noticed and the
# follow-up continues where the page stopped.
_LABELS = "nodes { name } pageInfo { hasNextPage endCursor }"
# `inverseRelations` are relations pointing at this issue: for type "blocks", `issue` is the
# blocker (IssueRelation.issue is the source side).
_RELATIONS = (
    "nodes { type issue { id identifier state { name } } } pageInfo { hasNextPage endCursor }"
)

# What scheduling reads: identity, state, order (priority, createdAt), routing (assignee,
# labels, blockers) and the url the dashboard links to.
_SUMMARY_FIELDS = f"""
fragment SymphonyIssueSummary on Issue {{
  id
  identifier
  title
  priority
  url
  createdAt
  state {{ name }}
  assignee {{ id }}
  labels(first: $labelFirst) {{ {_LABELS} }}
  inverseRelations(first: $relationFirst) {{ {_RELATIONS} }}
}}
"""

# The rest of the normalized issue, for the prompt, hooks and agent.
_FULL_FIELDS = (
    """
fragment SymphonyIssueFields on Issue {
  ...SymphonyIssueSummary
  description
  branchName
  updatedAt
}
"""
    + _SUMMARY_FIELDS
)

_BY_STATES = """
query {operation}(
  $projectSlug: String!
  $stateNames: [String!]!
  $first: Int!
  $after: String
  $labelFirst: Int!
  $relationFirst: Int!
) {{
  issues(
    filter: {{project: {{slugId: {{eq: $projectSlug}}}}, state: {{name: {{in: $stateNames}}}}}}
    first: $first
    after: $after
  ) {{
    nodes {{ ...{fragment} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""

CANDIDATES_QUERY = (
    _BY_STATES.format(operation=CANDIDATES_OPERATION, fragment="SymphonyIssueFields") + _FULL_FIELDS
)

SUMMARIES_QUERY = (
    _BY_STATES.format(operation=SUMMARIES_OPERATION, fragment="SymphonyIssueSummary")
    + _SUMMARY_FIELDS
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
    + _FULL_FIELDS
)

LABELS_QUERY = f"""
query {LABELS_OPERATION}($id: String!, $first: Int!, $after: String) {{
  issue(id: $id) {{
    labels(first: $first, after: $after) {{ {_LABELS} }}
  }}
}}
"""

RELATIONS_QUERY = f"""
query {RELATIONS_OPERATION}($id: String!, $first: Int!, $after: String) {{
  issue(id: $id) {{
    inverseRelations(first: $first, after: $after) {{ {_RELATIONS} }}
  }}
}}
"""

VIEWER_QUERY = """
query SymphonyViewer {
  viewer { id }
}
"""
