"""The in-memory GitHub behind ``FakeGitHub`` and the GraphQL views that execute against it.

Only documents that pass GitHub's public schema (and the fake's pagination rules) get here. Views
expose schema field names as attributes or methods; a field the fake does not model fails loudly
("fake GitHub does not model Issue.x") instead of answering a plausible null.
"""

from __future__ import annotations

import base64
import itertools
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

_MISSING = object()
_IDS = itertools.count(1)
BASE_TIME = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def new_id(prefix: str) -> str:
    """A global node id in GitHub's style (``I_kwDO...``): opaque, typed by its prefix."""
    return f"{prefix}_kwDO{next(_IDS):08d}"


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def not_found(node_id: str) -> GraphQLError:
    return GraphQLError(
        f"Could not resolve to a node with the global id of '{node_id}'",
        extensions={"type": "NOT_FOUND"},
    )


@dataclass
class Account:
    id: str
    login: str
    organization: bool = False


@dataclass
class Label:
    id: str
    repo_id: str
    name: str


@dataclass
class Repo:
    id: str
    owner: str
    name: str
    has_issues: bool = True

    @property
    def name_with_owner(self) -> str:
        return f"{self.owner}/{self.name}"


@dataclass
class IssueRecord:
    id: str
    repo_id: str
    number: int
    title: str
    body: str
    state: str  # OPEN or CLOSED
    label_ids: list[str]
    assignees: list[str]  # logins
    created_at: datetime
    updated_at: datetime
    pull_request: bool = False
    # Pull requests only: what the proof of work reads.
    head_ref: str = ""
    merged: bool = False
    closes: tuple[str, ...] = ()  # issue ids its body closes
    review_decision: str | None = None
    # The head commit's status check rollup: (state, [(kind, name, result)]) with kind
    # "check" (result: a CheckConclusionState) or "status" (result: a StatusState).
    checks: tuple[str, list[tuple[str, str, str]]] | None = None


@dataclass
class Comment:
    id: str
    issue_id: str
    author: str
    body: str
    created_at: datetime
    updated_at: datetime


@dataclass
class Option:
    id: str
    name: str


@dataclass
class Field:
    id: str
    name: str
    data_type: str  # SINGLE_SELECT, NUMBER, TEXT
    options: list[Option] = field(default_factory=list)


@dataclass
class Item:
    id: str
    content_id: str | None  # an issue or pull request; None for a draft issue
    draft_title: str | None = None
    values: dict[str, Any] = field(default_factory=dict)  # field id -> option id or number
    archived: bool = False


@dataclass
class Project:
    id: str
    owner: str
    number: int
    title: str
    fields: list[Field] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)

    def field_named(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass
class GitHubData:
    lock: threading.RLock = field(default_factory=threading.RLock)
    viewer: str = "symphony-bot"
    accounts: dict[str, Account] = field(default_factory=dict)  # by login
    repos: dict[str, Repo] = field(default_factory=dict)  # by id
    labels: dict[str, Label] = field(default_factory=dict)
    issues: dict[str, IssueRecord] = field(default_factory=dict)
    comments: dict[str, Comment] = field(default_factory=dict)
    projects: dict[str, Project] = field(default_factory=dict)
    ticks: itertools.count[int] = field(default_factory=itertools.count)

    def now(self) -> datetime:
        return BASE_TIME + timedelta(seconds=next(self.ticks))

    def repo(self, owner: str, name: str) -> Repo | None:
        # GitHub matches owner and repository names without regard to case.
        wanted = f"{owner}/{name}".lower()
        return next((r for r in self.repos.values() if r.name_with_owner.lower() == wanted), None)

    def items_of(self, content_id: str) -> list[tuple[Project, Item]]:
        return [
            (project, item)
            for project in self.projects.values()
            for item in project.items
            if item.content_id == content_id
        ]

    def find_item(self, item_id: str) -> tuple[Project, Item] | None:
        for project in self.projects.values():
            for item in project.items:
                if item.id == item_id:
                    return project, item
        return None


# -- connections ------------------------------------------------------------------------------


def _cursor(index: int) -> str:
    return base64.b64encode(f"cursor:v2:{index}".encode()).decode()


def _index(cursor: str) -> int:
    try:
        return int(base64.b64decode(cursor.encode()).decode().rsplit(":", 1)[1])
    except (ValueError, IndexError) as exc:
        raise GraphQLError(
            f"`{cursor}` does not appear to be a valid cursor.",
            extensions={"type": "INVALID_CURSOR_ARGUMENTS"},
        ) from exc


def connection(items: Sequence[Any], args: Mapping[str, Any]) -> dict[str, Any]:
    """A Relay connection honouring first/after and last/before (bounds already checked)."""
    start, end = 0, len(items)
    if args.get("after"):
        start = _index(args["after"]) + 1
    if args.get("before"):
        end = min(end, _index(args["before"]))
    if args.get("first") is not None:
        end = min(end, start + args["first"])
    elif args.get("last") is not None:
        start = max(start, end - args["last"])
    page = list(items[start:end])
    edges = [{"cursor": _cursor(start + i), "node": node} for i, node in enumerate(page)]
    return {
        "nodes": page,
        "edges": edges,
        "totalCount": len(items),
        "pageInfo": {
            "hasNextPage": end < len(items),
            "hasPreviousPage": start > 0,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def field_resolver(source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
    """Attribute (or key) named after the field; callables receive the field arguments."""
    name = info.field_name
    value = (
        source.get(name, _MISSING)
        if isinstance(source, Mapping)
        else getattr(source, name, _MISSING)
    )
    if value is _MISSING:
        raise GraphQLError(
            f"fake GitHub does not model {info.parent_type.name}.{name}",
            extensions={"type": "FAKE_NOT_MODELLED"},
        )
    if callable(value):
        return value(info, **args)
    return value


def type_resolver(value: Any, *_: Any) -> str:
    """The object type of a union or interface value: each view names its own."""
    return str(value.typename)


# -- views ------------------------------------------------------------------------------------


class AccountView:
    def __init__(self, data: GitHubData, account: Account) -> None:
        self._data = data
        self.typename = "Organization" if account.organization else "User"
        self.id = account.id
        self.login = account.login
        self.name = account.login
        self.url = f"https://github.com/{account.login}"

    def projectV2(self, info: GraphQLResolveInfo, number: int) -> ProjectView | None:
        for project in self._data.projects.values():
            if project.owner.lower() == self.login.lower() and project.number == number:
                return ProjectView(self._data, project)
        raise GraphQLError(
            f"Could not resolve to a ProjectV2 with the number {number}.",
            extensions={"type": "NOT_FOUND"},
        )


def account_view(data: GitHubData, login: str) -> AccountView:
    account = data.accounts.get(login)
    if account is None:
        account = data.accounts[login] = Account(new_id("U"), login)
    return AccountView(data, account)


class LabelView:
    typename = "Label"

    def __init__(self, label: Label) -> None:
        self.id = label.id
        self.name = label.name
        self.color = "ededed"


class RepoView:
    typename = "Repository"

    def __init__(self, data: GitHubData, repo: Repo) -> None:
        self._data = data
        self._repo = repo
        self.id = repo.id
        self.name = repo.name
        self.nameWithOwner = repo.name_with_owner
        self.hasIssuesEnabled = repo.has_issues
        self.url = f"https://github.com/{repo.name_with_owner}"
        self.defaultBranchRef = {"name": "main", "prefix": "refs/heads/"}

    def pullRequests(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        states = args.get("states")
        found = [
            IssueView(self._data, r)
            for r in sorted(self._data.issues.values(), key=lambda r: r.created_at, reverse=True)
            if r.pull_request
            and r.repo_id == self.id
            and (not args.get("headRefName") or r.head_ref == args["headRefName"])
            and (not states or _pull_state(r) in states)
        ]
        return connection(found, args)

    @property
    def owner(self) -> AccountView:
        return account_view(self._data, self._repo.owner)

    def issues(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        states = args.get("states") or (args.get("filterBy") or {}).get("states")
        wanted = set(states) if states else {"OPEN", "CLOSED"}
        found = [
            IssueView(self._data, i)
            for i in self._data.issues.values()
            if i.repo_id == self.id and not i.pull_request and i.state in wanted
        ]
        order = args.get("orderBy") or {"field": "CREATED_AT", "direction": "ASC"}
        key = "created_at" if order["field"] == "CREATED_AT" else "updated_at"
        found.sort(
            key=lambda v: (getattr(v.record, key), v.number), reverse=order["direction"] == "DESC"
        )
        return connection(found, args)

    def issue(self, info: GraphQLResolveInfo, number: int) -> IssueView | None:
        for record in self._data.issues.values():
            if record.repo_id == self.id and record.number == number and not record.pull_request:
                return IssueView(self._data, record)
        return None

    def labels(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        query = (args.get("query") or "").lower()
        found = [
            LabelView(label)
            for label in self._data.labels.values()
            if label.repo_id == self.id and query in label.name.lower()
        ]
        return connection(found, args)

    def label(self, info: GraphQLResolveInfo, name: str) -> LabelView | None:
        for label in self._data.labels.values():
            if label.repo_id == self.id and label.name.lower() == name.lower():
                return LabelView(label)
        return None


def _pull_state(record: IssueRecord) -> str:
    return "MERGED" if record.merged else record.state


class IssueView:
    def __init__(self, data: GitHubData, record: IssueRecord) -> None:
        self._data = data
        self.record = record
        self.typename = "PullRequest" if record.pull_request else "Issue"
        self.id = record.id
        self.number = record.number
        self.title = record.title
        self.body = record.body
        self.state = _pull_state(record)
        self.closed = record.state != "OPEN"
        self.createdAt = iso(record.created_at)
        self.updatedAt = iso(record.updated_at)
        repo = data.repos[record.repo_id]
        kind = "pull" if record.pull_request else "issues"
        self.url = f"https://github.com/{repo.name_with_owner}/{kind}/{record.number}"

    @property
    def repository(self) -> RepoView:
        return RepoView(self._data, self._data.repos[self.record.repo_id])

    def labels(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        found = [LabelView(self._data.labels[i]) for i in self.record.label_ids]
        return connection(found, args)

    def assignees(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        return connection([account_view(self._data, a) for a in self.record.assignees], args)

    def comments(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        found = [
            CommentView(self._data, c)
            for c in sorted(self._data.comments.values(), key=lambda c: c.created_at)
            if c.issue_id == self.id
        ]
        return connection(found, args)

    # -- pull requests ---------------------------------------------------------------------

    @property
    def headRefName(self) -> str:
        return self.record.head_ref

    @property
    def reviewDecision(self) -> str | None:
        return self.record.review_decision

    @property
    def merged(self) -> bool:
        return self.record.merged

    def closedByPullRequestsReferences(
        self, info: GraphQLResolveInfo, **args: Any
    ) -> dict[str, Any]:
        found = [
            IssueView(self._data, r)
            for r in self._data.issues.values()
            if r.pull_request
            and self.id in r.closes
            and (args.get("includeClosedPrs") or r.state == "OPEN")
        ]
        return connection(found, args)

    def commits(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        checks = self.record.checks
        rollup = None
        if checks is not None:
            state, contexts = checks
            rollup = {
                "state": state,
                "contexts": lambda _info, **a: connection(
                    [_CheckContext(kind, name, result) for kind, name, result in contexts], a
                ),
            }
        commit = {"commit": {"oid": "0" * 40, "statusCheckRollup": rollup}}
        return connection([commit], args)

    def projectItems(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        found = [
            ItemView(self._data, project, item)
            for project, item in self._data.items_of(self.id)
            if args.get("includeArchived", True) or not item.archived
        ]
        return connection(found, args)


class _CheckContext:
    def __init__(self, kind: str, name: str, result: str) -> None:
        self.typename = "CheckRun" if kind == "check" else "StatusContext"
        if kind == "check":
            self.name, self.conclusion = name, result
            self.status = "COMPLETED" if result else "IN_PROGRESS"
        else:
            self.context, self.state = name, result


class CommentView:
    typename = "IssueComment"

    def __init__(self, data: GitHubData, comment: Comment) -> None:
        self._data = data
        self.id = comment.id
        self.body = comment.body
        self.createdAt = iso(comment.created_at)
        self.updatedAt = iso(comment.updated_at)
        self.viewerDidAuthor = comment.author == data.viewer
        self._author = comment.author

    @property
    def author(self) -> AccountView:
        return account_view(self._data, self._author)


class DraftView:
    typename = "DraftIssue"

    def __init__(self, item: Item) -> None:
        self.id = f"DI_{item.id}"
        self.title = item.draft_title or ""
        self.body = ""


class ProjectView:
    typename = "ProjectV2"

    def __init__(self, data: GitHubData, project: Project) -> None:
        self._data = data
        self._project = project
        self.id = project.id
        self.number = project.number
        self.title = project.title
        self.url = f"https://github.com/orgs/{project.owner}/projects/{project.number}"

    def items(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        views = [ItemView(self._data, self._project, item) for item in self._project.items]
        return connection(views, args)

    def field(self, info: GraphQLResolveInfo, name: str) -> FieldView | None:
        found = self._project.field_named(name)
        return FieldView(found) if found is not None else None

    def fields(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        return connection([FieldView(f) for f in self._project.fields], args)


class FieldView:
    def __init__(self, configured: Field) -> None:
        single = configured.data_type == "SINGLE_SELECT"
        self.typename = "ProjectV2SingleSelectField" if single else "ProjectV2Field"
        self.id = configured.id
        self.name = configured.name
        self.dataType = configured.data_type
        self._options = configured.options

    def options(
        self, info: GraphQLResolveInfo, names: list[str] | None = None
    ) -> list[dict[str, Any]]:
        return [
            {"id": o.id, "name": o.name, "color": "GRAY", "description": "", "nameHTML": o.name}
            for o in self._options
            if names is None or o.name in names
        ]


class ItemView:
    typename = "ProjectV2Item"

    def __init__(self, data: GitHubData, project: Project, item: Item) -> None:
        self._data = data
        self._project = project
        self._item = item
        self.id = item.id
        self.isArchived = item.archived
        record = data.issues.get(item.content_id) if item.content_id else None
        if record is None:
            self.type = "DRAFT_ISSUE"
        else:
            self.type = "PULL_REQUEST" if record.pull_request else "ISSUE"
        self._record = record

    @property
    def project(self) -> ProjectView:
        return ProjectView(self._data, self._project)

    @property
    def content(self) -> IssueView | DraftView:
        if self._record is None:
            return DraftView(self._item)
        return IssueView(self._data, self._record)

    def fieldValueByName(self, info: GraphQLResolveInfo, name: str) -> dict[str, Any] | None:
        configured = self._project.field_named(name)
        if configured is None or configured.id not in self._item.values:
            return None
        value = self._item.values[configured.id]
        if configured.data_type == "SINGLE_SELECT":
            option = next((o for o in configured.options if o.id == value), None)
            if option is None:
                return None
            return _FieldValue(
                "ProjectV2ItemFieldSingleSelectValue",
                {"name": option.name, "optionId": option.id, "field": FieldView(configured)},
            )
        if configured.data_type == "NUMBER":
            return _FieldValue(
                "ProjectV2ItemFieldNumberValue", {"number": value, "field": FieldView(configured)}
            )
        return _FieldValue(
            "ProjectV2ItemFieldTextValue", {"text": value, "field": FieldView(configured)}
        )


class _FieldValue(dict[str, Any]):
    def __init__(self, typename: str, values: dict[str, Any]) -> None:
        super().__init__(values)
        self.typename = typename


@dataclass
class RateBudget:
    """GitHub's primary rate limit for the token: points per hour, reset at a fixed moment."""

    limit: int = 5000
    used: int = 0
    reset_at: datetime = field(default_factory=lambda: datetime.now(UTC) + timedelta(hours=1))

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


class Root:
    """Query and mutation root: the fields the adapter and an agent's workflow use."""

    def __init__(self, data: GitHubData, budget: RateBudget, cost: int) -> None:
        self._data = data
        self._budget = budget
        self._cost = cost

    # -- queries ------------------------------------------------------------------------

    def rateLimit(self, info: GraphQLResolveInfo, dryRun: bool = False) -> dict[str, Any]:
        budget = self._budget
        return {
            "cost": self._cost,
            "limit": budget.limit,
            "used": budget.used,
            "remaining": budget.remaining,
            "resetAt": iso(budget.reset_at),
            "nodeCount": 0,
        }

    @property
    def viewer(self) -> AccountView:
        return account_view(self._data, self._data.viewer)

    def repository(self, info: GraphQLResolveInfo, owner: str, name: str, **_: Any) -> RepoView:
        repo = self._data.repo(owner, name)
        if repo is None:
            raise GraphQLError(
                f"Could not resolve to a Repository with the name '{owner}/{name}'.",
                extensions={"type": "NOT_FOUND"},
            )
        return RepoView(self._data, repo)

    def repositoryOwner(self, info: GraphQLResolveInfo, login: str) -> AccountView | None:
        for account in self._data.accounts.values():
            if account.login.lower() == login.lower():
                return AccountView(self._data, account)
        return None

    def organization(self, info: GraphQLResolveInfo, login: str) -> AccountView:
        owner = self.repositoryOwner(info, login)
        if owner is None or owner.typename != "Organization":
            raise GraphQLError(
                f"Could not resolve to an Organization with the login of '{login}'.",
                extensions={"type": "NOT_FOUND"},
            )
        return owner

    def user(self, info: GraphQLResolveInfo, login: str) -> AccountView:
        owner = self.repositoryOwner(info, login)
        if owner is None or owner.typename != "User":
            raise GraphQLError(
                f"Could not resolve to a User with the login of '{login}'.",
                extensions={"type": "NOT_FOUND"},
            )
        return owner

    def node(self, info: GraphQLResolveInfo, id: str) -> Any:
        found = self._lookup(id)
        if found is None:
            raise not_found(id)
        return found

    def nodes(self, info: GraphQLResolveInfo, ids: list[str]) -> list[Any]:
        if len(ids) > 100:
            raise GraphQLError(
                "You may not ask for more than 100 node IDs at once",
                extensions={"type": "EXCESSIVE_PAGINATION"},
            )
        return [self._lookup(i) or _Missing(i) for i in ids]

    def _lookup(self, node_id: str) -> Any:
        data = self._data
        if node_id in data.issues:
            return IssueView(data, data.issues[node_id])
        if node_id in data.comments:
            return CommentView(data, data.comments[node_id])
        if node_id in data.projects:
            return ProjectView(data, data.projects[node_id])
        if node_id in data.labels:
            return LabelView(data.labels[node_id])
        if node_id in data.repos:
            return RepoView(data, data.repos[node_id])
        found = data.find_item(node_id)
        if found is not None:
            return ItemView(data, *found)
        return None

    # -- mutations ------------------------------------------------------------------------

    def updateProjectV2ItemFieldValue(
        self, info: GraphQLResolveInfo, input: dict[str, Any]
    ) -> dict[str, Any]:
        project = self._data.projects.get(input["projectId"])
        if project is None:
            raise not_found(input["projectId"])
        item = next((i for i in project.items if i.id == input["itemId"]), None)
        if item is None:
            raise not_found(input["itemId"])
        configured = next((f for f in project.fields if f.id == input["fieldId"]), None)
        if configured is None:
            raise not_found(input["fieldId"])
        value = input["value"]
        if configured.data_type == "SINGLE_SELECT":
            option = value.get("singleSelectOptionId")
            if option not in {o.id for o in configured.options}:
                raise GraphQLError(
                    "The single select option Id does not belong to the field",
                    extensions={"type": "UNPROCESSABLE"},
                )
            item.values[configured.id] = option
        elif configured.data_type == "NUMBER":
            item.values[configured.id] = value.get("number")
        else:
            item.values[configured.id] = value.get("text")
        self._touch(item.content_id)
        return {
            "clientMutationId": input.get("clientMutationId"),
            "projectV2Item": ItemView(self._data, project, item),
        }

    def addLabelsToLabelable(
        self, info: GraphQLResolveInfo, input: dict[str, Any]
    ) -> dict[str, Any]:
        record = self._issue(input["labelableId"])
        for label_id in input["labelIds"]:
            label = self._data.labels.get(label_id)
            if label is None or label.repo_id != record.repo_id:
                raise not_found(label_id)
            if label_id not in record.label_ids:
                record.label_ids.append(label_id)
        self._touch(record.id)
        return {
            "clientMutationId": input.get("clientMutationId"),
            "labelable": IssueView(self._data, record),
        }

    def removeLabelsFromLabelable(
        self, info: GraphQLResolveInfo, input: dict[str, Any]
    ) -> dict[str, Any]:
        record = self._issue(input["labelableId"])
        record.label_ids = [i for i in record.label_ids if i not in set(input["labelIds"])]
        self._touch(record.id)
        return {
            "clientMutationId": input.get("clientMutationId"),
            "labelable": IssueView(self._data, record),
        }

    def closeIssue(self, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        record = self._issue(input["issueId"])
        record.state = "CLOSED"
        self._touch(record.id)
        return {
            "clientMutationId": input.get("clientMutationId"),
            "issue": IssueView(self._data, record),
        }

    def reopenIssue(self, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        record = self._issue(input["issueId"])
        record.state = "OPEN"
        self._touch(record.id)
        return {
            "clientMutationId": input.get("clientMutationId"),
            "issue": IssueView(self._data, record),
        }

    def addComment(self, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        record = self._issue(input["subjectId"])
        now = self._data.now()
        comment = Comment(new_id("IC"), record.id, self._data.viewer, input["body"], now, now)
        self._data.comments[comment.id] = comment
        view = CommentView(self._data, comment)
        return {
            "clientMutationId": input.get("clientMutationId"),
            "commentEdge": {"cursor": _cursor(0), "node": view},
            "subject": IssueView(self._data, record),
        }

    def updateIssueComment(self, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        comment = self._data.comments.get(input["id"])
        if comment is None:
            raise not_found(input["id"])
        comment.body = input["body"]
        comment.updated_at = self._data.now()
        return {
            "clientMutationId": input.get("clientMutationId"),
            "issueComment": CommentView(self._data, comment),
        }

    def _issue(self, node_id: str) -> IssueRecord:
        record = self._data.issues.get(node_id)
        if record is None or record.pull_request:
            raise not_found(node_id)
        return record

    def _touch(self, issue_id: str | None) -> None:
        if issue_id is not None and issue_id in self._data.issues:
            self._data.issues[issue_id].updated_at = self._data.now()


class _Missing:
    """A ``nodes(ids:)`` entry GitHub cannot resolve: null in the list, plus a NOT_FOUND error
    at its path (raised while resolving its type, so the entry alone becomes null)."""

    def __init__(self, node_id: str) -> None:
        self.node_id = node_id

    @property
    def typename(self) -> str:
        raise not_found(self.node_id)
