"""GitHub issue node -> normalized ``Issue`` (SPEC §4.1.1, §11.3). Pure functions, no IO.

The state comes from outside the issue node (a board's status field, or the issue's labels), so
the reads work it out first (``board_state``, ``label_state``) and hand it in. A closed issue is
``Closed`` whatever its board or labels say.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from symphony.issue import Issue, new_issue, normalize_labels
from symphony.timefmt import parse_timestamp
from symphony.trackers.github.settings import BACKLOG_STATE, CLOSED_STATE, NO_STATUS_STATE


class MalformedIssue(ValueError):
    """A node that cannot become an ``Issue``; ``ref`` is the best name we have for it."""

    def __init__(self, ref: str, problem: str) -> None:
        super().__init__(f"{ref}: {problem}")
        self.ref = ref
        self.problem = problem


def is_closed(node: dict[str, Any]) -> bool:
    return node.get("state") == "CLOSED"


def in_repository(node: dict[str, Any], repository: str) -> bool:
    """Whether the issue belongs to ``owner/name`` (GitHub compares names without case)."""
    repo = node.get("repository")
    name = repo.get("nameWithOwner") if isinstance(repo, dict) else None
    return isinstance(name, str) and name.lower() == repository.lower()


def board_state(node: dict[str, Any], status: Any) -> str:
    """The state on a board: ``Closed`` for a closed issue, else the status option's name, else
    ``No Status``."""
    if is_closed(node):
        return CLOSED_STATE
    name = status.get("name") if isinstance(status, dict) else None
    return name.strip() if isinstance(name, str) and name.strip() else NO_STATUS_STATE


def label_state(node: dict[str, Any], label_names: Sequence[str], prefix: str) -> str:
    """The state in labels mode: ``Closed``, else the first ``<prefix>X`` label's X, else
    ``Backlog``. The prefix matches without regard to case."""
    if is_closed(node):
        return CLOSED_STATE
    wanted = prefix.lower()
    for name in label_names:
        if name.lower().startswith(wanted) and name[len(prefix) :].strip():
            return name[len(prefix) :].strip()
    return BACKLOG_STATE


def label_names(node: dict[str, Any]) -> list[str]:
    labels = node.get("labels")
    nodes = labels.get("nodes") if isinstance(labels, dict) else None
    return [
        n["name"]
        for n in (nodes if isinstance(nodes, list) else ())
        if isinstance(n, dict) and isinstance(n.get("name"), str)
    ]


def labels_cut_off(node: dict[str, Any]) -> bool:
    labels = node.get("labels")
    page_info = labels.get("pageInfo") if isinstance(labels, dict) else None
    return isinstance(page_info, dict) and page_info.get("hasNextPage") is True


def priority_of(value: Any, option_ids: Sequence[str]) -> int | None:
    """A number field rounded to a whole number (values below 1 are no priority), or a
    single-select option's place among the field's options (the first is 1, the highest)."""
    if not isinstance(value, dict):
        return None
    number = value.get("number")
    if isinstance(number, int | float) and not isinstance(number, bool):
        if not math.isfinite(number):
            return None
        rounded = round(number)
        return rounded if rounded >= 1 else None
    option = value.get("optionId")
    if isinstance(option, str) and option in option_ids:
        return list(option_ids).index(option) + 1
    return None


def normalize_issue(
    node: Any,
    *,
    state: str,
    priority: int | None,
    labels: Sequence[str] | None = None,
) -> Issue:
    """Build the normalized issue or raise ``MalformedIssue``. ``labels`` replaces the node's
    own (cut-off) label list when the caller read the whole list."""
    if not isinstance(node, dict):
        raise MalformedIssue("(unnamed record)", "expected an object")
    issue_id = _text(node.get("id"))
    number = node.get("number")
    repo = node.get("repository")
    full_name = repo.get("nameWithOwner") if isinstance(repo, dict) else None
    ref = issue_id or "(record without id)"
    if issue_id is None:
        raise MalformedIssue(ref, "missing id")
    if isinstance(number, bool) or not isinstance(number, int):
        raise MalformedIssue(ref, "missing number")
    if not isinstance(full_name, str) or "/" not in full_name:
        raise MalformedIssue(ref, "missing repository.nameWithOwner")
    identifier = f"{full_name.split('/', 1)[1]}#{number}"
    title = _text(node.get("title"))
    if title is None:
        raise MalformedIssue(identifier, "missing title")
    body = node.get("body")
    return new_issue(
        id=issue_id,
        identifier=identifier,
        title=title,
        state=state,
        # GitHub has no "blocked by" relation in its public schema: nothing gates an issue.
        dispatchable=True,
        description=body if isinstance(body, str) and body else None,
        priority=priority,
        url=_text(node.get("url")),
        assignee_id=_first_assignee(node.get("assignees")),
        labels=normalize_labels(label_names(node) if labels is None else labels),
        created_at=parse_timestamp(node.get("createdAt")),
        updated_at=parse_timestamp(node.get("updatedAt")),
        # What a prompt or a hook needs to name the issue to GitHub's own tools and API.
        native_ref={"repository": full_name, "number": number},
    )


def _first_assignee(assignees: Any) -> str | None:
    nodes = assignees.get("nodes") if isinstance(assignees, dict) else None
    for node in nodes if isinstance(nodes, list) else ():
        login = node.get("login") if isinstance(node, dict) else None
        if isinstance(login, str) and login.strip():
            return login.strip()
    return None


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    return text or None
