"""The GraphQL documents the adapter sends; each is checked against Linear's schema in tests.

Page sizes are set by Linear's two limits: `first` is at most 250, and a document may cost at
most 10,000 complexity points (0.1 per property, 1 per object, everything under a connection
times its `first`, 50 without one). Issues are read 250 a page, the most Linear returns, so the
nested lists must stay small; an issue with more labels or inverse relations than fit gets that
list whole by a follow-up request (``SymphonyIssueLabels``, ``SymphonyIssueRelations``). By those
rules, counting everything under a connection `first` times, `pageInfo` included (which errs
high):

* each inverse relation of an issue costs 4.5 points (the relation, its type, the blocker issue
  with id and identifier, its state and name, the list's pageInfo), each label 2.2;
* a summary issue costs 7 points beside them (itself, six properties, state, assignee, two list
  objects, the page's pageInfo); a full issue 0.3 more (description, branchName, updatedAt);
* so a page of 250 summaries costs 250 x (7 + 4 x 2.2 + 4 x 4.5) = 8,451 points, 250 full
  issues 8,526 (8,226 by id, without the page's pageInfo); a follow-up page of 250 labels 577,
  of 250 relations 1,152;
* the prompt's 50 comments cost 116 points an issue, so whole issues with their comments are
  read 50 a request: 7,446 points.

Every document stays at least 10 % under the limit, room for costs the published rules do not
show; one more label or relation per issue would not. ``tests/trackers/linear/test_complexity.py``
scores the real documents with these rules, and the fake Linear refuses any request over the
limit.
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

_LABEL = "nodes { name }"
# `inverseRelations` are relations pointing at this issue: for type "blocks", `issue` is the
# blocker (IssueRelation.issue is the source side).
_RELATION = "nodes { type issue { id identifier state { name } } }"
# A page's nested lists say only whether they were cut off: the follow-up reads the whole list
# again from its start, since a cursor per list would cost every issue more than re-reading four
# entries costs the few issues that have more.
_CUT_OFF = "pageInfo { hasNextPage }"
_PAGED = "pageInfo { hasNextPage endCursor }"

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
  labels(first: $labelFirst) {{ {_LABEL} {_CUT_OFF} }}
  inverseRelations(first: $relationFirst) {{ {_RELATION} {_CUT_OFF} }}
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

WITH_COMMENTS_OPERATION = "SymphonyIssuesWithComments"
# Workers' reads of their issues and the prompt's comments (``ConversationReads``), shared by
# the dispatches of a loop iteration: the whole issues and their comments in one request. The
# comments cost 116 points an issue (50 x 2.3 and the connection), 149 with the issue, so a
# request holds 50 issues.
WITH_COMMENTS_PAGE_SIZE = 50
WITH_COMMENTS_QUERY = (
    """
query SymphonyIssuesWithComments(
  $ids: [ID!]!
  $projectSlug: String!
  $first: Int!
  $labelFirst: Int!
  $relationFirst: Int!
  $commentFirst: Int!
) {
  issues(filter: {id: {in: $ids}, project: {slugId: {eq: $projectSlug}}}, first: $first) {
    nodes {
      ...SymphonyIssueFields
      comments(first: $commentFirst, orderBy: createdAt) {
        nodes { body createdAt user { name } }
      }
    }
  }
}
"""
    + _FULL_FIELDS
)

LABELS_QUERY = f"""
query {LABELS_OPERATION}($id: String!, $first: Int!, $after: String) {{
  issue(id: $id) {{
    labels(first: $first, after: $after) {{ {_LABEL} {_PAGED} }}
  }}
}}
"""

RELATIONS_QUERY = f"""
query {RELATIONS_OPERATION}($id: String!, $first: Int!, $after: String) {{
  issue(id: $id) {{
    inverseRelations(first: $first, after: $after) {{ {_RELATION} {_PAGED} }}
  }}
}}
"""

COMMENT_OPERATION = "SymphonyComment"
# Symphony's own note on an issue (agent.notify_tracker_on_request), as the API key's user.
COMMENT_MUTATION = """
mutation SymphonyComment($issueId: String!, $body: String!) {
  commentCreate(input: { issueId: $issueId, body: $body }) { success }
}
"""

VIEWER_QUERY = """
query SymphonyViewer {
  viewer { id }
}
"""

# -- the review loop's writes (``IssueWrites``) and the prompt's comments (``IssueConversation``).
# Each reads or writes one issue, so none comes near the limit: a team's 250 states cost 305
# points (250 x 1.2 and the issue, its state and team), a page of 250 comments 602 (250 x 2.4,
# pageInfo counted per comment as above), the prompt's 50 comments 117 (50 x 2.3, the author
# an object), each mutation at most 4. test_complexity.py scores them with these figures.

ISSUE_STATES_OPERATION = "SymphonyIssueStates"
# The issue's current state and its team's workflow states: Linear moves by state id, and a
# state name means something only within the issue's team.
ISSUE_STATES_QUERY = f"""
query {ISSUE_STATES_OPERATION}($id: String!, $first: Int!) {{
  issue(id: $id) {{
    state {{ id name }}
    team {{ key states(first: $first) {{ nodes {{ id name }} }} }}
  }}
}}
"""

MOVE_OPERATION = "SymphonyMoveIssue"
MOVE_MUTATION = f"""
mutation {MOVE_OPERATION}($id: String!, $stateId: String!) {{
  issueUpdate(id: $id, input: {{ stateId: $stateId }}) {{ success issue {{ state {{ name }} }} }}
}}
"""

OWN_COMMENTS_OPERATION = "SymphonyOwnComments"
# Every comment's id and body, page by page, to find Symphony's own by its marker line.
OWN_COMMENTS_QUERY = f"""
query {OWN_COMMENTS_OPERATION}($id: String!, $first: Int!, $after: String) {{
  issue(id: $id) {{
    comments(first: $first, after: $after) {{ nodes {{ id body }} {_PAGED} }}
  }}
}}
"""

COMMENT_UPDATE_OPERATION = "SymphonyCommentUpdate"
COMMENT_UPDATE_MUTATION = f"""
mutation {COMMENT_UPDATE_OPERATION}($id: String!, $body: String!) {{
  commentUpdate(id: $id, input: {{ body: $body }}) {{ success }}
}}
"""

PROMPT_COMMENTS_OPERATION = "SymphonyIssueComments"
# One page ordered by creation; the adapter sorts it oldest first whichever way Linear pages.
PROMPT_COMMENTS_QUERY = f"""
query {PROMPT_COMMENTS_OPERATION}($id: String!, $first: Int!) {{
  issue(id: $id) {{
    comments(first: $first, orderBy: createdAt) {{ nodes {{ body createdAt user {{ name }} }} }}
  }}
}}
"""
