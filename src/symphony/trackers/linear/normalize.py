"""Linear issue node -> normalized ``Issue`` (SPEC §4.1.1, §11.3). Pure functions, no IO.

A node is malformed only when a required field (id, identifier, title, state name) is unusable;
optional fields that are missing or of the wrong type normalize to null or an empty list.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from sys import intern
from typing import Any

from symphony.issue import BlockerRef, Issue, new_issue, normalize_label, normalize_state
from symphony.timefmt import parse_timestamp

BLOCKS_RELATION = "blocks"
_NUMBER = (int, float)
# A relation's (id, identifier, state name), as sent -> its blocker; cleared past the limit.
_BLOCKERS: dict[tuple[Any, Any, Any], BlockerRef] = {}
_BLOCKERS_LIMIT = 4096
_UNKNOWN_BLOCKER = BlockerRef()
# Linear's priorities as it sends them (a Float) -> normalized; anything else takes the rules.
_PRIORITIES: dict[float, int | None] = {0.0: None, 1.0: 1, 2.0: 2, 3.0: 3, 4.0: 4}
_OTHER: Any = object()
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
    """Build the normalized issue or raise ``MalformedIssue``.

    A list the page cut off (``pageInfo.hasNextPage``) normalizes as far as it goes, and an
    issue whose blockers are not all known stays blocked; ``normalize_whole`` tells the caller
    to read such lists in full first.
    """
    return _normalize(node, routing)[0]


def normalize_whole(node: Any, routing: Routing) -> Issue | None:
    """``normalize_issue``, or None when the page cut off the node's labels or inverse relations
    (``lists.complete_lists`` reads them whole; then ``normalize_issue``)."""
    issue, whole = _normalize(node, routing)
    return issue if whole else None


def _normalize(node: Any, routing: Routing) -> tuple[Issue, bool]:
    """The issue, and whether its lists came whole.

    A board of tens of thousands of issues passes through here on every poll, so this is
    written for speed (``bench/linear_board.py``): nodes are read as the plain dicts JSON decodes
    to; the rule for optional text (``_text``), the assignee rule and Linear's own priority
    values are spelled out inline instead of called (calls were half of what a node cost); and
    the names every issue repeats (states, labels) are interned: one string per name instead of
    one per issue.
    """
    if not isinstance(node, dict):
        raise MalformedIssue("(unnamed record)", f"expected an object, got {_type(node)}")
    get = node.get
    value = get("id")
    issue_id = (value.strip() or None) if isinstance(value, str) else None
    value = get("identifier")
    identifier = (value.strip() or None) if isinstance(value, str) else None
    if issue_id is None or identifier is None:
        ref = identifier or issue_id or "(record without id)"
        raise MalformedIssue(ref, "missing id" if issue_id is None else "missing identifier")
    value = get("title")
    title = (value.strip() or None) if isinstance(value, str) else None
    if title is None:
        raise MalformedIssue(identifier, "missing title")
    state = _name(get("state"))
    if state is None:
        raise MalformedIssue(identifier, "missing state.name")

    value = get("assignee")
    value = value.get("id") if isinstance(value, dict) else None
    assignee_id = (value.strip() or None) if isinstance(value, str) else None
    relations = get("inverseRelations")
    blockers, blockers_whole = _blockers(relations)
    wanted = routing.assignee_id
    if wanted is not None and assignee_id != wanted:
        dispatchable = False
    else:
        dispatchable = not _blocked_before_start(state, blockers, blockers_whole, routing)

    value = get("priority")
    # Linear sends 0.0-4.0: one lookup for them, the general rules for anything else.
    priority = _PRIORITIES.get(value, _OTHER) if value.__class__ is float else _OTHER
    if priority is _OTHER:
        priority = normalize_priority(value)
    value = get("url")
    url = (value.strip() or None) if isinstance(value, str) else None
    value = get("branchName")
    branch_name = (value.strip() or None) if isinstance(value, str) else None
    description = get("description")
    labels = get("labels")
    updated_at = get("updatedAt")  # not in the summaries query
    # Positional, in the order of ``Issue``'s fields: 16 keywords cost 1.7 µs more a call
    # than the rest of building the issue (tests/trackers/linear/test_normalize.py reads every
    # field back).
    issue = new_issue(
        issue_id,
        identifier,
        title,
        state,
        dispatchable,
        description if isinstance(description, str) else None,
        priority,
        branch_name,
        url,
        assignee_id,
        _labels(labels),
        blockers,
        parse_timestamp(get("createdAt")),
        None if updated_at is None else parse_timestamp(updated_at),
        None,  # native_ref
        "description" not in node,  # summary: the summaries query does not ask for it
    )
    return issue, blockers_whole and not list_cut_off(labels)


def list_cut_off(connection: Any) -> bool:
    """Whether a list of an issue node (``{nodes, pageInfo}``) says the page did not hold all
    of it."""
    if not isinstance(connection, dict):
        return False
    page_info = connection.get("pageInfo")
    return isinstance(page_info, dict) and page_info.get("hasNextPage") is True


def normalize_priority(value: Any) -> int | None:
    """Linear's ``priority`` is a Float: 0 = no priority, 1 urgent ... 4 low.

    Integral floats (``2.0``) are accepted; 0, fractions and non-numbers become null.
    """
    if isinstance(value, bool) or not isinstance(value, _NUMBER):
        return None
    if isinstance(value, float) and (not math.isfinite(value) or not value.is_integer()):
        return None
    number = int(value)
    return None if number == 0 else number


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
    if not isinstance(relations, dict):
        return (), True
    nodes = relations.get("nodes")
    blockers: list[BlockerRef] = []
    for rel in nodes if isinstance(nodes, list) else ():
        if not isinstance(rel, dict):
            continue
        kind = rel.get("type")
        if kind != BLOCKS_RELATION and (
            not isinstance(kind, str) or kind.strip().lower() != BLOCKS_RELATION
        ):
            continue
        source = rel.get("issue")
        # A blocker we may not read still blocks: keep it with unknown fields.
        blockers.append(_blocker(source) if isinstance(source, dict) else _UNKNOWN_BLOCKER)
    page_info = relations.get("pageInfo")
    has_more = page_info.get("hasNextPage") if isinstance(page_info, dict) else None
    return tuple(blockers), has_more is not True


def _blocker(source: dict[str, Any]) -> BlockerRef:
    """The blocker a relation names, shared: one blocker often blocks many issues of a board,
    and a poll meets it once for each of them."""
    state = source.get("state")
    key = (
        source.get("id"),
        source.get("identifier"),
        state.get("name") if isinstance(state, dict) else None,
    )
    try:
        return _BLOCKERS[key]
    except KeyError:
        pass
    except TypeError:  # a malformed field (a list, an object): not worth remembering
        return BlockerRef(
            id=_interned(key[0]), identifier=_interned(key[1]), state=_interned(key[2])
        )
    if len(_BLOCKERS) >= _BLOCKERS_LIMIT:
        _BLOCKERS.clear()
    blocker = _BLOCKERS[key] = BlockerRef(
        id=_interned(key[0]), identifier=_interned(key[1]), state=_interned(key[2])
    )
    return blocker


def _labels(labels: Any) -> tuple[str, ...]:
    """``normalize_labels`` of the label names (trimmed, lowercased, no blanks, first-seen order),
    interned, without its generality: every issue of every poll passes through here."""
    nodes = labels.get("nodes") if isinstance(labels, dict) else None
    if not isinstance(nodes, list) or not nodes:
        return ()
    seen: dict[str, None] = {}
    for label in nodes:
        name = label.get("name") if isinstance(label, dict) else None
        if isinstance(name, str):
            norm = normalize_label(name)
            if norm:
                seen[norm] = None
    return tuple(seen)


def _name(value: Any) -> str | None:
    """``{name}`` of a state: trimmed, interned (every issue in a state shares the string)."""
    return _interned(value.get("name")) if isinstance(value, dict) else None


def _interned(value: Any) -> str | None:
    text = _text(value)
    return intern(text) if text is not None else None


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    return text or None


def _type(value: Any) -> str:
    return "null" if value is None else type(value).__name__
