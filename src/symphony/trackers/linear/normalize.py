"""Linear issue node -> normalized ``Issue`` (SPEC §4.1.1, §11.3). Pure functions, no IO.

A node is malformed only when a required field (id, identifier, title, state name) is unusable;
optional fields that are missing or of the wrong type normalize to null or an empty list.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from symphony.issue import BlockerRef, Issue, normalize_labels, normalize_state
from symphony.timefmt import parse_timestamp

BLOCKS_RELATION = "blocks"
# The blocker gate applies only before work starts (reference behaviour): an issue already In
# Progress keeps its agent even if someone adds an open blocker.
GATED_STATE = "todo"


@dataclass(frozen=True, slots=True)
class Routing:
    """What ``dispatchable`` depends on besides the node itself."""

    terminal_states: frozenset[str]  # normalized
    assignee_id: str | None = None  # already resolved (`me` -> viewer id); None = anyone

    @classmethod
    def build(cls, terminal_states: Sequence[str], assignee_id: str | None) -> Routing:
        return cls(frozenset(normalize_state(s) for s in terminal_states), assignee_id)


class MalformedIssue(ValueError):
    """A node that cannot become an ``Issue``; ``ref`` is the best name we have for it."""

    def __init__(self, ref: str, problem: str) -> None:
        super().__init__(f"{ref}: {problem}")
        self.ref = ref
        self.problem = problem


def normalize_issue(node: Any, routing: Routing) -> Issue:
    """Build the normalized issue or raise ``MalformedIssue``."""
    if not isinstance(node, Mapping):
        raise MalformedIssue("(unnamed record)", f"expected an object, got {_type(node)}")
    issue_id = _text(node.get("id"))
    identifier = _text(node.get("identifier"))
    ref = identifier or issue_id or "(record without id)"
    if issue_id is None:
        raise MalformedIssue(ref, "missing id")
    if identifier is None:
        raise MalformedIssue(ref, "missing identifier")
    title = _text(node.get("title"))
    if title is None:
        raise MalformedIssue(ref, "missing title")
    state = _text(_get(node, "state", "name"))
    if state is None:
        raise MalformedIssue(ref, "missing state.name")

    assignee_id = _text(_get(node, "assignee", "id"))
    blockers, blockers_complete = _blockers(node.get("inverseRelations"))
    dispatchable = _assignee_matches(assignee_id, routing) and not _blocked_before_start(
        state, blockers, blockers_complete, routing
    )
    return Issue(
        id=issue_id,
        identifier=identifier,
        title=title,
        state=state,
        dispatchable=dispatchable,
        description=node.get("description") if isinstance(node.get("description"), str) else None,
        priority=normalize_priority(node.get("priority")),
        branch_name=_text(node.get("branchName")),
        url=_text(node.get("url")),
        assignee_id=assignee_id,
        labels=normalize_labels(_label_names(node.get("labels"))),
        blocked_by=blockers,
        created_at=parse_timestamp(node.get("createdAt")),
        updated_at=parse_timestamp(node.get("updatedAt")),
        native_ref=None,
    )


def normalize_priority(value: Any) -> int | None:
    """Linear's ``priority`` is a Float: 0 = no priority, 1 urgent ... 4 low.

    Integral floats (``2.0``) are accepted; 0, fractions and non-numbers become null.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and (not math.isfinite(value) or not value.is_integer()):
        return None
    number = int(value)
    return None if number == 0 else number


def _assignee_matches(assignee_id: str | None, routing: Routing) -> bool:
    if routing.assignee_id is None:
        return True
    return assignee_id is not None and assignee_id == routing.assignee_id


def _blocked_before_start(
    state: str, blockers: Sequence[BlockerRef], blockers_complete: bool, routing: Routing
) -> bool:
    """A Todo issue waits while any blocker is unknown or not in a terminal state."""
    if normalize_state(state) != GATED_STATE:
        return False
    if not blockers_complete:
        return True
    for blocker in blockers:
        if blocker.state is None or normalize_state(blocker.state) not in routing.terminal_states:
            return True
    return False


def _blockers(relations: Any) -> tuple[tuple[BlockerRef, ...], bool]:
    """Blockers from inverse ``blocks`` relations, and whether the list is complete."""
    if not isinstance(relations, Mapping):
        return (), True
    nodes = relations.get("nodes")
    blockers: list[BlockerRef] = []
    for rel in nodes if isinstance(nodes, list) else ():
        if not isinstance(rel, Mapping):
            continue
        kind = rel.get("type")
        if not isinstance(kind, str) or kind.strip().lower() != BLOCKS_RELATION:
            continue
        source = rel.get("issue")
        # A blocker we may not read still blocks: keep it with unknown fields.
        source = source if isinstance(source, Mapping) else {}
        blockers.append(
            BlockerRef(
                id=_text(source.get("id")),
                identifier=_text(source.get("identifier")),
                state=_text(_get(source, "state", "name")),
            )
        )
    has_more = _get(relations, "pageInfo", "hasNextPage")
    return tuple(blockers), has_more is not True


def _label_names(labels: Any) -> list[Any]:
    nodes = labels.get("nodes") if isinstance(labels, Mapping) else None
    if not isinstance(nodes, list):
        return []
    return [n.get("name") for n in nodes if isinstance(n, Mapping)]


def _get(node: Mapping[str, Any], *path: str) -> Any:
    value: Any = node
    for part in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    return text or None


def _type(value: Any) -> str:
    return "null" if value is None else type(value).__name__
