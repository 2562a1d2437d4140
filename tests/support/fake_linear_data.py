"""The in-memory Linear workspace behind ``FakeLinear`` and its GraphQL resolvers.

Requests are executed by graphql-core against Linear's published schema, so only documents real
Linear accepts get this far. Objects are exposed through small view classes whose attribute names
are the schema's field names; a field the fake does not model fails loudly with a GraphQL error
("fake Linear does not model Issue.x") instead of returning a plausible-looking null.
"""

from __future__ import annotations

import base64
import itertools
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

DEFAULT_PAGE = 50
_MISSING = object()


def now_utc() -> datetime:
    return datetime.now(UTC)


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "issue"


def user_error(message: str, code: str = "INVALID_INPUT") -> GraphQLError:
    return GraphQLError(message, extensions={"code": code, "userPresentableMessage": message})


@dataclass
class User:
    id: str
    name: str
    email: str


@dataclass
class Team:
    id: str
    key: str
    name: str


@dataclass
class State:
    id: str
    name: str
    type: str  # backlog, unstarted, started, completed, canceled, triage
    team_id: str
    position: float


@dataclass
class Label:
    id: str
    name: str
    color: str = "#5e6ad2"


@dataclass
class Project:
    id: str
    slug_id: str
    name: str


@dataclass
class IssueRecord:
    id: str
    identifier: str
    number: int
    title: str
    team_id: str
    state_id: str
    project_id: str | None
    description: str | None
    priority: float
    branch_name: str
    assignee_id: str | None
    label_ids: list[str]
    created_at: datetime
    updated_at: datetime


@dataclass
class Relation:
    id: str
    type: str
    issue_id: str  # the source: for "blocks", the blocker
    related_issue_id: str  # the target: for "blocks", the blocked issue
    created_at: datetime


@dataclass
class Comment:
    id: str
    issue_id: str
    body: str
    user_id: str
    created_at: datetime
    updated_at: datetime
    edited_at: datetime | None = None


@dataclass
class Attachment:
    id: str
    issue_id: str
    url: str
    title: str
    source_type: str
    created_at: datetime


@dataclass
class LinearData:
    """Everything the fake knows. Guard every read and write with ``lock``."""

    clock: Callable[[], datetime] = now_utc
    lock: threading.RLock = field(default_factory=threading.RLock)
    users: dict[str, User] = field(default_factory=dict)
    teams: dict[str, Team] = field(default_factory=dict)
    states: dict[str, State] = field(default_factory=dict)
    labels: dict[str, Label] = field(default_factory=dict)
    projects: dict[str, Project] = field(default_factory=dict)
    issues: dict[str, IssueRecord] = field(default_factory=dict)
    relations: dict[str, Relation] = field(default_factory=dict)
    comments: dict[str, Comment] = field(default_factory=dict)
    attachments: dict[str, Attachment] = field(default_factory=dict)
    viewer_id: str = ""
    sync_id: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))
    # Relation ids by the issue they point at, so a page of issues does not scan every relation.
    _relations_into: dict[str, list[str]] = field(default_factory=dict)

    # -- lookups ----------------------------------------------------------------------------

    def find_issue(self, ref: str) -> IssueRecord | None:
        if ref in self.issues:
            return self.issues[ref]
        return next((i for i in self.issues.values() if i.identifier == ref), None)

    def issue_or_error(self, ref: str) -> IssueRecord:
        issue = self.find_issue(ref)
        if issue is None:
            raise user_error("Entity not found: Issue - Could not find referenced Issue.")
        return issue

    def state_named(self, name: str, team_id: str) -> State:
        for state in self.states.values():
            if state.team_id == team_id and state.name == name:
                return state
        raise KeyError(f"fake Linear has no state {name!r} in team {team_id}")

    def label_named(self, name: str) -> Label:
        for label in self.labels.values():
            if label.name == name:
                return label
        label = Label(id=new_id(), name=name)
        self.labels[label.id] = label
        return label

    def add_relation(self, relation: Relation) -> None:
        self.relations[relation.id] = relation
        self._relations_into.setdefault(relation.related_issue_id, []).append(relation.id)

    def relations_into(self, issue_id: str) -> list[Relation]:
        """Relations whose target is ``issue_id`` (its inverse relations), oldest first."""
        ids = self._relations_into.get(issue_id, ())
        return [self.relations[i] for i in ids if i in self.relations]

    def touch(self, issue: IssueRecord) -> None:
        issue.updated_at = self.clock()


def new_id() -> str:
    return str(uuid.uuid4())


# -- connections and filters ----------------------------------------------------------------


def _cursor(item_id: str) -> str:
    return base64.urlsafe_b64encode(f"fake:{item_id}".encode()).decode()


def _cursor_id(cursor: str) -> str:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        raise user_error(f"Invalid cursor {cursor!r}") from None
    if not text.startswith("fake:"):
        raise user_error(f"Invalid cursor {cursor!r}")
    return text.removeprefix("fake:")


def connection(items: list[Any], args: Mapping[str, Any]) -> dict[str, Any]:
    """A Relay connection over ``items`` (each with an ``id``), honouring first/after."""
    first = _page_size(args)
    start = 0
    if args.get("after"):
        wanted = _cursor_id(args["after"])
        ids = [item.id for item in items]
        if wanted not in ids:
            raise user_error("Cursor refers to an entity that is not in this list")
        start = ids.index(wanted) + 1
    return _page(items[start : start + first], start, more=start + first < len(items))


def lazy_connection(
    order: list[str],
    lookup: Callable[[str], Any],
    matches: Callable[[Any], bool],
    view: Callable[[Any], Any],
    args: Mapping[str, Any],
) -> dict[str, Any]:
    """``connection`` over the records named by ``order`` that ``matches``, filtering only as far
    as the page reaches. A cursor is a position in ``order``, as a keyset cursor is, so a page
    of a big board costs its own size, not the board's."""
    first = _page_size(args)
    start = 0
    if args.get("after"):
        wanted = _cursor_id(args["after"])
        try:
            start = order.index(wanted) + 1
        except ValueError:
            raise user_error("Cursor refers to an entity that is not in this list") from None
    page: list[Any] = []
    more = False
    for key in itertools.islice(order, start, None):
        record = lookup(key)
        if record is None or not matches(record):
            continue
        if len(page) == first:
            more = True
            break
        page.append(record)
    return _page([view(record) for record in page], start, more=more)


def _page(nodes: list[Any], start: int, *, more: bool) -> dict[str, Any]:
    """One page of a Relay connection (each node with an ``id``) that began at ``start``."""
    edges = [{"node": item, "cursor": _cursor(item.id)} for item in nodes]
    return {
        "nodes": nodes,
        "edges": edges,
        "pageInfo": {
            "hasNextPage": more,
            "hasPreviousPage": start > 0,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def _page_size(args: Mapping[str, Any]) -> int:
    """``first``, for forward pagination (the only kind the fake offers)."""
    if args.get("last") is not None or args.get("before") is not None:
        raise user_error("fake Linear supports forward pagination (first/after) only")
    first = args.get("first")
    first = DEFAULT_PAGE if first is None else first
    if first < 0 or first > 250:
        raise user_error("first must be between 0 and 250")
    return int(first)


def compare(value: Any, comparator: Mapping[str, Any], where: str) -> bool:
    for op, expected in comparator.items():
        if op == "eq":
            ok = value == expected
        elif op == "neq":
            ok = value != expected
        elif op == "in":
            ok = value in expected
        elif op == "nin":
            ok = value not in expected
        elif op == "eqIgnoreCase":
            ok = isinstance(value, str) and value.lower() == str(expected).lower()
        elif op == "null":
            ok = (value is None) == bool(expected)
        else:
            raise user_error(f"fake Linear does not model comparator {where}.{op}")
        if not ok:
            return False
    return True


def filter_objects(
    items: Iterable[Any],
    spec: Mapping[str, Any] | None,
    fields: Mapping[str, Callable[[Any, Mapping[str, Any]], bool]],
    type_name: str,
) -> list[Any]:
    if not spec:
        return list(items)
    matches = matcher(spec, fields, type_name)
    return [item for item in items if matches(item)]


def matcher(
    spec: Mapping[str, Any] | None,
    fields: Mapping[str, Callable[[Any, Mapping[str, Any]], bool]],
    type_name: str,
) -> Callable[[Any], bool]:
    """The predicate a Linear filter object stands for."""

    def matches(item: Any, filt: Mapping[str, Any]) -> bool:
        for key, sub in filt.items():
            if sub is None:
                continue
            if key == "and":
                if not all(matches(item, f) for f in sub):
                    return False
            elif key == "or":
                if not any(matches(item, f) for f in sub):
                    return False
            elif key in fields:
                if not fields[key](item, sub):
                    return False
            else:
                raise user_error(f"fake Linear does not model filter {type_name}.{key}")
        return True

    return lambda item: not spec or matches(item, spec)


def field_resolver(source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
    """Attribute (or key) named after the field; callables receive the field arguments."""
    name = info.field_name
    if isinstance(source, Mapping):
        value = source.get(name, _MISSING)
    else:
        value = getattr(source, name, _MISSING)
    if value is _MISSING:
        raise GraphQLError(
            f"fake Linear does not model {info.parent_type.name}.{name}",
            extensions={"code": "FAKE_NOT_MODELLED"},
        )
    if callable(value):
        return value(info, **args)
    return value


def default_workspace(data: LinearData, project_slug: str) -> None:
    """A team with the states the reference workflow expects, a project and a viewer."""
    with data.lock:
        viewer = User(id=new_id(), name="Symphony Bot", email="bot@example.test")
        data.users[viewer.id] = viewer
        data.viewer_id = viewer.id
        team = Team(id=new_id(), key="SYM", name="Symphony")
        data.teams[team.id] = team
        for position, (name, kind) in enumerate(
            [
                ("Backlog", "backlog"),
                ("Todo", "unstarted"),
                ("In Progress", "started"),
                ("Human Review", "started"),
                ("Merging", "started"),
                ("Rework", "started"),
                ("Done", "completed"),
                ("Canceled", "canceled"),
                ("Duplicate", "canceled"),
            ]
        ):
            state = State(new_id(), name, kind, team.id, float(position))
            data.states[state.id] = state
        project = Project(id=new_id(), slug_id=project_slug, name="Symphony test project")
        data.projects[project.id] = project


def base_time() -> datetime:
    return datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def step(n: int) -> timedelta:
    return timedelta(minutes=n)
