"""Which agent tool calls would change an issue's state, for best-of candidates.

Candidates of one issue must not fight over the tracker (docs/best-of.md): while they work the
issue stays where it is, and each ends by calling ``symphony_hand_off`` instead of moving it.
Comments stay allowed (a workpad, a note). What counts as a state-changing write, per tool:

- the local board's ``board_move_issue``;
- a raw-GraphQL tool's (``linear_graphql``, ``github_graphql``) mutation with any top-level
  field other than a comment one (``commentCreate``, ``addComment``, ``updateIssueComment``…):
  a state, a label, a project field, closing or reopening. Queries are reads.

Every other tool is left alone: creating another issue, reading. An adapter with tools of its
own says which of them change state with a ``changes_issue_state(name, arguments)`` method
(``StateChangeAware``); ``state_change_check`` picks it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from symphony.tools import ToolResult
from symphony.trackers.graphql_tool import parse_arguments

# The names of the local board's move tool and the raw-GraphQL tools (tests check them against
# the trackers' own constants): importing those trackers here would load their HTTP clients into
# every service, which loads them only for the tracker it uses.
MOVE_ISSUE = "board_move_issue"
GRAPHQL_TOOLS = frozenset({"linear_graphql", "github_graphql"})


@runtime_checkable
class StateChangeAware(Protocol):
    def changes_issue_state(self, name: str, arguments: Any) -> bool: ...


def state_change_check(adapter: object) -> Callable[[str, Any], bool]:
    """How to tell the state-changing calls of ``adapter``'s tools."""
    if isinstance(adapter, StateChangeAware):
        return adapter.changes_issue_state
    return changes_issue_state


def changes_issue_state(name: str, arguments: Any) -> bool:
    if name == MOVE_ISSUE:
        return True
    if name in GRAPHQL_TOOLS:
        return _writes_beyond_comments(name, arguments)
    return False


def _writes_beyond_comments(name: str, arguments: Any) -> bool:
    request = parse_arguments(arguments, tool=name, tracker="the tracker")
    if isinstance(request, ToolResult) or request.operation_type != "mutation":
        return False  # a read, or a call the tool itself refuses
    from graphql import FieldNode, OperationDefinitionNode, parse

    document = parse(request.query)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    fields = operation.selection_set.selections
    # A fragment spread or inline fragment at the top of a mutation hides what it changes.
    return not fields or not all(
        isinstance(f, FieldNode) and "comment" in f.name.value.lower() for f in fields
    )
