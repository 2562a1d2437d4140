"""Every GraphQL document the GitHub adapter sends; each is checked against GitHub's public schema
in tests (tests/trackers/github, through the schema-validating fake).

Reads ask only for what scheduling needs. A board page of 100 items with the issue's first
``LABEL_PAGE_SIZE`` labels and ``ASSIGNEE_PAGE_SIZE`` assignees costs 2 points (GitHub prices a
query by the connection requests it implies: 1 for the items, 100 for each nested connection).
A nested ``labels(first: 100)`` would cost the same points but ask GitHub for up to 10,000 label
nodes a page; a nested ``projectItems`` inside that would cost a hundred times more.

GitHub also refuses a query that could ask for more than 500,000 nodes (the page sizes of the
connections multiplied down each path, summed), and stops one that runs longer than 10 seconds;
a stopped query still spends points. Bodies are what make a query slow and its answer big, so a
document that asks for many (issues with their comments) asks for fewer issues a request.
"""

from __future__ import annotations

# GitHub's maximum page size for every connection.
PAGE_SIZE = 100
MAX_PAGE_SIZE = 100
# An issue with more labels gets the rest in a request of its own (rare: labels are few).
LABEL_PAGE_SIZE = 20
ASSIGNEE_PAGE_SIZE = 5
# The boards an issue is on, searched for this adapter's board on a read by id.
ITEM_PAGE_SIZE = 20
MAX_PROMPT_COMMENTS = 50
# Issues a ``SymphonyIssuesWithComments`` request asks for: see that document for why.
WITH_COMMENTS_PAGE_SIZE = 50

RATE_LIMIT = "rateLimit { cost remaining resetAt limit used }"

ISSUE_FIELDS = """
fragment SymphonyIssue on Issue {
  id
  number
  title
  body
  url
  state
  createdAt
  updatedAt
  repository { nameWithOwner }
  assignees(first: $assigneeFirst) { nodes { login } }
  labels(first: $labelFirst) { pageInfo { hasNextPage } nodes { name } }
}
"""

BOARD_OPERATION = "SymphonyBoardItems"
BOARD_QUERY = (
    """
query SymphonyBoardItems(
  $owner: String!, $number: Int!, $first: Int!, $after: String,
  $statusField: String!, $priorityField: String!, $withPriority: Boolean!,
  $labelFirst: Int!, $assigneeFirst: Int!
) {
  """
    + RATE_LIMIT
    + """
  repositoryOwner(login: $owner) {
    ... on ProjectV2Owner {
      projectV2(number: $number) {
        id
        items(first: $first, after: $after) {
          pageInfo { hasNextPage endCursor }
          nodes {
            isArchived
            status: fieldValueByName(name: $statusField) {
              ... on ProjectV2ItemFieldSingleSelectValue { name }
            }
            priority: fieldValueByName(name: $priorityField) @include(if: $withPriority) {
              ... on ProjectV2ItemFieldSingleSelectValue { optionId }
              ... on ProjectV2ItemFieldNumberValue { number }
            }
            content { __typename ...SymphonyIssue }
          }
        }
      }
    }
  }
}
"""
    + ISSUE_FIELDS
)

REPOSITORY_OPERATION = "SymphonyRepositoryIssues"
REPOSITORY_QUERY = (
    """
query SymphonyRepositoryIssues(
  $owner: String!, $name: String!, $states: [IssueState!]!, $first: Int!, $after: String,
  $labelFirst: Int!, $assigneeFirst: Int!
) {
  """
    + RATE_LIMIT
    + """
  repository(owner: $owner, name: $name) {
    issues(first: $first, after: $after, states: $states,
           orderBy: {field: CREATED_AT, direction: ASC}) {
      pageInfo { hasNextPage endCursor }
      nodes { ...SymphonyIssue }
    }
  }
}
"""
    + ISSUE_FIELDS
)

# A read by id in board mode finds this board's item among the issue's first ``ITEM_PAGE_SIZE``.
_BOARD_ITEMS = """
      projectItems(first: $itemFirst) @include(if: $withItems) {
        nodes {
          isArchived
          project { id }
          status: fieldValueByName(name: $statusField) {
            ... on ProjectV2ItemFieldSingleSelectValue { name }
          }
          priority: fieldValueByName(name: $priorityField) @include(if: $withPriority) {
            ... on ProjectV2ItemFieldSingleSelectValue { optionId }
            ... on ProjectV2ItemFieldNumberValue { number }
          }
        }
      }"""
_BY_IDS_VARIABLES = """
  $ids: [ID!]!, $withItems: Boolean!, $itemFirst: Int!,
  $statusField: String!, $priorityField: String!, $withPriority: Boolean!,
  $labelFirst: Int!, $assigneeFirst: Int!"""
# The prompt's comments of an issue: the read by ``PROMPT_COMMENTS_QUERY`` and the one with the
# whole issues select the same, so a prompt reads the same either way.
_PROMPT_COMMENT_NODES = "nodes { author { login } body createdAt }"


def _by_ids(operation: str, variables: str = "", selection: str = "") -> str:
    """A read of issues by id (``nodes(ids:)``, with the board's items in board mode), with
    ``variables`` declared beside the shared ones and ``selection`` under each issue."""
    return (
        f"""
query {operation}({_BY_IDS_VARIABLES}{variables}
) {{
  {RATE_LIMIT}
  nodes(ids: $ids) {{
    __typename
    ...SymphonyIssue
    ... on Issue {{{_BOARD_ITEMS}{selection}
    }}
  }}
}}
"""
        + ISSUE_FIELDS
    )


BY_IDS_OPERATION = "SymphonyIssuesById"
BY_IDS_QUERY = _by_ids(BY_IDS_OPERATION)

WITH_COMMENTS_OPERATION = "SymphonyIssuesWithComments"
# ``ConversationReads``: the issues by id and the prompt's comments (the last
# ``MAX_PROMPT_COMMENTS``) in one request, shared by the dispatches of a loop iteration. Per issue
# it asks for 5 assignees + 20 labels + 20 board items + 50 comments = 95 nodes. Counting every id
# as the parent of its four connections, a request of ``WITH_COMMENTS_PAGE_SIZE`` = 50 issues may
# ask for 50 x 95 = 4,750 nodes (under 1 % of GitHub's 500,000) and implies 4 x 50 = 200
# connection requests: 2 points (100 issues by id: 300 requests, 3 points). The node limit would
# allow 100 issues too; what bounds the batch is the answer's size and time: 50 issues may bring
# 2,500 comment bodies of up to 65,536 characters each, and GitHub stops a query after 10 seconds
# (its points still spent). A burst of dispatches seldom reaches 50 anyway.
WITH_COMMENTS_QUERY = _by_ids(
    WITH_COMMENTS_OPERATION,
    ", $commentLast: Int!",
    f"\n      comments(last: $commentLast) {{ {_PROMPT_COMMENT_NODES} }}",
)

LABELS_OPERATION = "SymphonyIssueLabels"
LABELS_QUERY = (
    """
query SymphonyIssueLabels($id: ID!, $first: Int!, $after: String) {
  """
    + RATE_LIMIT
    + """
  node(id: $id) {
    ... on Issue {
      labels(first: $first, after: $after) {
        pageInfo { hasNextPage endCursor }
        nodes { name }
      }
    }
  }
}
"""
)

PROJECT_OPERATION = "SymphonyProject"
PROJECT_QUERY = (
    """
query SymphonyProject(
  $owner: String!, $number: Int!, $statusField: String!, $priorityField: String!,
  $withPriority: Boolean!
) {
  """
    + RATE_LIMIT
    + """
  repositoryOwner(login: $owner) {
    ... on ProjectV2Owner {
      projectV2(number: $number) {
        id
        status: field(name: $statusField) {
          __typename
          ... on ProjectV2SingleSelectField { id options { id name } }
        }
        priority: field(name: $priorityField) @include(if: $withPriority) {
          __typename
          ... on ProjectV2SingleSelectField { id options { id name } }
          ... on ProjectV2Field { id dataType }
        }
      }
    }
  }
}
"""
)

ISSUE_ITEMS_OPERATION = "SymphonyIssueItems"
ISSUE_ITEMS_QUERY = (
    """
query SymphonyIssueItems($id: ID!, $itemFirst: Int!, $statusField: String!) {
  """
    + RATE_LIMIT
    + """
  node(id: $id) {
    ... on Issue {
      id
      state
      projectItems(first: $itemFirst) {
        nodes {
          id
          isArchived
          project { id }
          status: fieldValueByName(name: $statusField) {
            ... on ProjectV2ItemFieldSingleSelectValue { name optionId }
          }
        }
      }
    }
  }
}
"""
)

ISSUE_STATE_LABELS_OPERATION = "SymphonyIssueStateLabels"
ISSUE_STATE_LABELS_QUERY = (
    """
query SymphonyIssueStateLabels($id: ID!, $first: Int!, $prefix: String!) {
  """
    + RATE_LIMIT
    + """
  node(id: $id) {
    ... on Issue {
      id
      state
      labels(first: $first) { nodes { id name } }
      repository {
        labels(first: $first, query: $prefix) { nodes { id name } }
      }
    }
  }
}
"""
)

PROMPT_COMMENTS_OPERATION = "SymphonyIssueComments"
PROMPT_COMMENTS_QUERY = (
    """
query SymphonyIssueComments($id: ID!, $last: Int!) {
  """
    + RATE_LIMIT
    + """
  node(id: $id) {
    ... on Issue {
      comments(last: $last) { """
    + _PROMPT_COMMENT_NODES
    + """ }
    }
  }
}
"""
)

OWN_COMMENTS_OPERATION = "SymphonyOwnComments"
OWN_COMMENTS_QUERY = (
    """
query SymphonyOwnComments($id: ID!, $first: Int!, $after: String) {
  """
    + RATE_LIMIT
    + """
  node(id: $id) {
    ... on Issue {
      comments(first: $first, after: $after) {
        pageInfo { hasNextPage endCursor }
        nodes { id body viewerDidAuthor }
      }
    }
  }
}
"""
)

SET_STATUS_OPERATION = "SymphonySetStatus"
SET_STATUS_MUTATION = """
mutation SymphonySetStatus($project: ID!, $item: ID!, $field: ID!, $option: String!) {
  updateProjectV2ItemFieldValue(input: {
    projectId: $project, itemId: $item, fieldId: $field,
    value: {singleSelectOptionId: $option}
  }) { projectV2Item { id } }
}
"""

CLOSE_OPERATION = "SymphonyCloseIssue"
CLOSE_MUTATION = """
mutation SymphonyCloseIssue($id: ID!) {
  closeIssue(input: {issueId: $id}) { issue { id state } }
}
"""

REOPEN_OPERATION = "SymphonyReopenIssue"
REOPEN_MUTATION = """
mutation SymphonyReopenIssue($id: ID!) {
  reopenIssue(input: {issueId: $id}) { issue { id state } }
}
"""

ADD_LABELS_OPERATION = "SymphonyAddLabels"
ADD_LABELS_MUTATION = """
mutation SymphonyAddLabels($id: ID!, $labels: [ID!]!) {
  addLabelsToLabelable(input: {labelableId: $id, labelIds: $labels}) { clientMutationId }
}
"""

REMOVE_LABELS_OPERATION = "SymphonyRemoveLabels"
REMOVE_LABELS_MUTATION = """
mutation SymphonyRemoveLabels($id: ID!, $labels: [ID!]!) {
  removeLabelsFromLabelable(input: {labelableId: $id, labelIds: $labels}) { clientMutationId }
}
"""

COMMENT_OPERATION = "SymphonyAddComment"
COMMENT_MUTATION = """
mutation SymphonyAddComment($id: ID!, $body: String!) {
  addComment(input: {subjectId: $id, body: $body}) { commentEdge { node { id } } }
}
"""

COMMENT_UPDATE_OPERATION = "SymphonyUpdateComment"
COMMENT_UPDATE_MUTATION = """
mutation SymphonyUpdateComment($id: ID!, $body: String!) {
  updateIssueComment(input: {id: $id, body: $body}) { issueComment { id } }
}
"""

# Every document, for the schema test.
# The proof of work's pull requests: those that close the issue, and those from its branch.
PULL_REQUEST_PAGE_SIZE = 10
CHECK_PAGE_SIZE = 50
PULL_REQUEST_FIELDS = """
fragment SymphonyPullRequest on PullRequest {
  id
  url
  state
  reviewDecision
  commits(last: 1) {
    nodes {
      commit {
        statusCheckRollup {
          state
          contexts(first: $checkFirst) {
            nodes {
              __typename
              ... on CheckRun { name status conclusion }
              ... on StatusContext { context state }
            }
          }
        }
      }
    }
  }
}
"""
LINKED_PULL_REQUESTS_OPERATION = "SymphonyLinkedPullRequests"
LINKED_PULL_REQUESTS_QUERY = (
    """
query SymphonyLinkedPullRequests(
  $id: ID!, $owner: String!, $name: String!, $head: String!, $withHead: Boolean!,
  $first: Int!, $checkFirst: Int!
) {
  """
    + RATE_LIMIT
    + """
  node(id: $id) {
    ... on Issue {
      closedByPullRequestsReferences(first: $first, includeClosedPrs: true) {
        nodes { ...SymphonyPullRequest }
      }
    }
  }
  repository(owner: $owner, name: $name) @include(if: $withHead) {
    pullRequests(headRefName: $head, first: $first, orderBy: {field: CREATED_AT, direction: DESC}) {
      nodes { ...SymphonyPullRequest }
    }
  }
}
"""
    + PULL_REQUEST_FIELDS
)

ALL = {
    LINKED_PULL_REQUESTS_OPERATION: LINKED_PULL_REQUESTS_QUERY,
    BOARD_OPERATION: BOARD_QUERY,
    REPOSITORY_OPERATION: REPOSITORY_QUERY,
    BY_IDS_OPERATION: BY_IDS_QUERY,
    WITH_COMMENTS_OPERATION: WITH_COMMENTS_QUERY,
    LABELS_OPERATION: LABELS_QUERY,
    PROJECT_OPERATION: PROJECT_QUERY,
    ISSUE_ITEMS_OPERATION: ISSUE_ITEMS_QUERY,
    ISSUE_STATE_LABELS_OPERATION: ISSUE_STATE_LABELS_QUERY,
    PROMPT_COMMENTS_OPERATION: PROMPT_COMMENTS_QUERY,
    OWN_COMMENTS_OPERATION: OWN_COMMENTS_QUERY,
    SET_STATUS_OPERATION: SET_STATUS_MUTATION,
    CLOSE_OPERATION: CLOSE_MUTATION,
    REOPEN_OPERATION: REOPEN_MUTATION,
    ADD_LABELS_OPERATION: ADD_LABELS_MUTATION,
    REMOVE_LABELS_OPERATION: REMOVE_LABELS_MUTATION,
    COMMENT_OPERATION: COMMENT_MUTATION,
    COMMENT_UPDATE_OPERATION: COMMENT_UPDATE_MUTATION,
}
