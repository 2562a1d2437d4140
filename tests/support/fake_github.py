"""A fake GitHub GraphQL API (v4) on 127.0.0.1 that holds every request to GitHub's public schema.

Each request must carry ``Authorization: bearer <token>`` (401 "Bad credentials" otherwise), and
its document is parsed and validated with graphql-core against the published schema
(``/work/shared/schemas/github.graphql``, from octokit/graphql-schema). Then GitHub's own rules
apply: every connection needs ``first`` or ``last`` (not both), at most 100, and the document is
priced the way GitHub prices it (one point per hundred connection requests, at least one), from
a primary budget ``rateLimit`` reports. A document GitHub would refuse gets GitHub's answer (HTTP
200 with typed errors and no data) and is recorded in ``rejected``, so a test that sends one
fails. Valid documents run against in-memory data (``GitHubData``): accounts, repositories,
issues and pull requests, labels, comments and Projects v2 boards, with the mutations the
tracker adapter needs.

Usage::

    with FakeGitHub(token="ghp_test") as github:
        board = github.add_project("acme", 7, statuses=["Todo", "In Progress", "Done"])
        issue = github.add_issue("Fix login", labels=["bug"])
        github.add_item(board, issue, status="Todo")
        github.inject(Failure.secondary_rate_limit(retry_after="30"))
        ... point tracker.provider.endpoint at github.url ...
        assert github.status_of(board, issue) == "Human Review"

The server runs in a background thread, so it serves sync and async tests and subprocesses alike.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    build_schema,
    execute,
    get_named_type,
    parse,
    validate,
)
from graphql.execution.values import get_argument_values, get_directive_values, get_variable_values
from graphql.type import GraphQLIncludeDirective, GraphQLSkipDirective

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from tests.support.fake_github_data import (
    Account,
    Comment,
    Field,
    GitHubData,
    IssueRecord,
    Item,
    Label,
    Option,
    Project,
    RateBudget,
    Repo,
    Root,
    field_resolver,
    new_id,
    type_resolver,
)
from tests.support.fake_github_failures import Failure, Injection, RecordedRequest
from tests.support.fake_http import FakeHandler, ServedHttp, operation_name

__all__ = [
    "DEFAULT_REPOSITORY",
    "DEFAULT_TOKEN",
    "Failure",
    "FakeGitHub",
    "RecordedRequest",
    "load_github_schema",
    "schema_available",
]

SHARED = Path(__file__).resolve().parents[3] / "shared"
SCHEMA_PATH = SHARED / "schemas" / "github.graphql"
DEFAULT_TOKEN = "ghp_fakeFAKEfake0123456789abcdefABCDEF01"
DEFAULT_REPOSITORY = "acme/app"
MAX_PAGE = 100
MAX_NODES = 500_000
INSTALLATION_TOKEN_LIFETIME_S = 3600
_TOKEN_PATH = re.compile(r"^/app/installations/(\d+)/access_tokens$")


@dataclass
class FakeApp:
    """A GitHub App installed once: the JWTs it signs are checked with its public key."""

    app_id: str
    public_key: RSAPublicKey
    installation_id: int
    clock: Callable[[], float]
    # token -> expiry (seconds since the epoch, on ``clock``)
    tokens: dict[str, float]
    revoked: set[str]


@functools.cache
def load_github_schema(path: Path = SCHEMA_PATH) -> GraphQLSchema:
    """GitHub's published schema, taken as GitHub serves it.

    The published SDL breaks two rules of the GraphQL spec that graphql-core enforces on a
    schema (a field of ``EnterpriseOwnerInfo`` defined twice; deprecated fields implementing
    interface fields that are not), so the schema's own checks are skipped. Documents are still
    validated in full against it.
    """
    schema = build_schema(path.read_text(encoding="utf-8"), assume_valid_sdl=True)
    # Marks the schema as checked, as graphql-core's ``assume_valid`` would.
    schema._validation_errors = []
    return schema


def schema_available(path: Path = SCHEMA_PATH) -> bool:
    return path.is_file()


@dataclass(frozen=True)
class _Price:
    cost: int
    nodes: int


class _Refused(Exception):
    """GitHub refuses the document before running it (pagination rules, node limit)."""

    def __init__(self, type_: str, message: str) -> None:
        super().__init__(message)
        self.type = type_
        self.message = message


class FakeGitHub:
    def __init__(
        self,
        *,
        token: str | None = DEFAULT_TOKEN,
        repository: str = DEFAULT_REPOSITORY,
        schema: GraphQLSchema | None = None,
    ) -> None:
        self.token = token
        self.schema = schema if schema is not None else load_github_schema()
        self.data = GitHubData()
        self.budget = RateBudget()
        self.requests: list[RecordedRequest] = []
        self.rejected: list[RecordedRequest] = []
        # Tests that send invalid documents on purpose set this; fixtures check it otherwise.
        self.rejections_expected = False
        self._injections: list[Injection] = []
        self.app: FakeApp | None = None
        self._changed = threading.Condition(self.data.lock)
        self._served: ServedHttp | None = None
        self._checked: dict[str, tuple[DocumentNode, list[GraphQLError]]] = {}
        owner, name = repository.split("/")
        self.add_account(self.data.viewer)
        self.add_account(owner, organization=True)
        self.repo = self.add_repository(owner, name)

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> FakeGitHub:
        self._served = ServedHttp(functools.partial(_Handler, self))
        return self

    def stop(self) -> None:
        if self._served is not None:
            self._served.close()
        self._served = None

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._served is not None, "FakeGitHub is not started"
        return f"http://127.0.0.1:{self._served.port}/graphql"

    # -- seeding ----------------------------------------------------------------------------

    def add_account(self, login: str, *, organization: bool = False) -> Account:
        with self.data.lock:
            account = Account(new_id("O" if organization else "U"), login, organization)
            self.data.accounts[login] = account
            return account

    def add_repository(self, owner: str, name: str) -> Repo:
        with self.data.lock:
            if owner not in self.data.accounts:
                self.add_account(owner, organization=True)
            repo = Repo(new_id("R"), owner, name)
            self.data.repos[repo.id] = repo
            return repo

    def add_label(self, name: str, *, repo: Repo | None = None) -> Label:
        with self.data.lock:
            repo = repo or self.repo
            for label in self.data.labels.values():
                if label.repo_id == repo.id and label.name.lower() == name.lower():
                    return label
            label = Label(new_id("LA"), repo.id, name)
            self.data.labels[label.id] = label
            return label

    def add_issue(
        self,
        title: str,
        *,
        body: str = "",
        labels: Iterable[str] = (),
        assignees: Iterable[str] = (),
        closed: bool = False,
        repo: Repo | None = None,
        pull_request: bool = False,
    ) -> IssueRecord:
        with self.data.lock:
            repo = repo or self.repo
            number = 1 + sum(1 for i in self.data.issues.values() if i.repo_id == repo.id)
            now = self.data.now()
            record = IssueRecord(
                id=new_id("PR" if pull_request else "I"),
                repo_id=repo.id,
                number=number,
                title=title,
                body=body,
                state="CLOSED" if closed else "OPEN",
                label_ids=[self.add_label(n, repo=repo).id for n in labels],
                assignees=list(assignees),
                created_at=now,
                updated_at=now,
                pull_request=pull_request,
            )
            self.data.issues[record.id] = record
            self._changed.notify_all()
            return record

    def add_pull_request(
        self,
        title: str,
        *,
        head: str,
        closes: Iterable[IssueRecord] = (),
        state: str = "OPEN",
        review_decision: str | None = None,
        checks: tuple[str, list[tuple[str, str, str]]] | None = None,
    ) -> IssueRecord:
        """A pull request from branch ``head`` (``state`` OPEN, CLOSED or MERGED) whose body
        closes ``closes``; ``checks`` is its head commit's rollup (see ``IssueRecord.checks``)."""
        record = self.add_issue(title, pull_request=True, closed=state != "OPEN")
        with self.data.lock:
            record.head_ref = head
            record.merged = state == "MERGED"
            record.closes = tuple(i.id for i in closes)
            record.review_decision = review_decision
            record.checks = checks
        return record

    def add_project(
        self,
        owner: str,
        number: int,
        *,
        statuses: Iterable[str] = ("Todo", "In Progress", "Human Review", "Done"),
        status_field: str = "Status",
        priority: Iterable[str] | None = None,
        number_priority: bool = False,
        priority_field: str = "Priority",
    ) -> Project:
        """A board with a single-select status field and, optionally, a priority field (a
        single-select with ``priority`` options, or a number field)."""
        with self.data.lock:
            if owner not in self.data.accounts:
                self.add_account(owner, organization=True)
            project = Project(new_id("PVT"), owner, number, f"Board {number}")
            project.fields.append(Field(new_id("PVTF"), "Title", "TITLE"))
            project.fields.append(_single_select(status_field, statuses))
            if priority is not None:
                project.fields.append(_single_select(priority_field, priority))
            elif number_priority:
                project.fields.append(Field(new_id("PVTF"), priority_field, "NUMBER"))
            self.data.projects[project.id] = project
            return project

    def add_item(
        self,
        project: Project,
        issue: IssueRecord | None = None,
        *,
        status: str | None = None,
        priority: str | float | None = None,
        draft_title: str | None = None,
        status_field: str = "Status",
        priority_field: str = "Priority",
    ) -> Item:
        """Put an issue or pull request (or, without one, a draft issue) on a board."""
        with self.data.lock:
            item = Item(new_id("PVTI"), issue.id if issue else None, draft_title or "Draft")
            project.items.append(item)
            if status is not None:
                self._set_value(project, item, status_field, status)
            if priority is not None:
                self._set_value(project, item, priority_field, priority)
            self._changed.notify_all()
            return item

    def set_status(self, project: Project, issue: IssueRecord, status: str | None) -> None:
        with self.data.lock:
            item = self.item_of(project, issue)
            configured = project.field_named("Status")
            assert configured is not None
            if status is None:
                item.values.pop(configured.id, None)
            else:
                self._set_value(project, item, "Status", status)
            self._touch(issue)

    def set_labels(self, issue: IssueRecord, labels: Iterable[str]) -> None:
        with self.data.lock:
            repo = self.data.repos[issue.repo_id]
            issue.label_ids = [self.add_label(n, repo=repo).id for n in labels]
            self._touch(issue)

    def close(self, issue: IssueRecord, *, closed: bool = True) -> None:
        with self.data.lock:
            issue.state = "CLOSED" if closed else "OPEN"
            self._touch(issue)

    def remove_issue(self, issue: IssueRecord) -> None:
        with self.data.lock:
            del self.data.issues[issue.id]
            for project in self.data.projects.values():
                project.items = [i for i in project.items if i.content_id != issue.id]

    def remove_item(self, project: Project, issue: IssueRecord) -> None:
        with self.data.lock:
            project.items = [i for i in project.items if i.content_id != issue.id]

    def add_comment(self, issue: IssueRecord, body: str, *, author: str = "rita") -> Comment:
        with self.data.lock:
            now = self.data.now()
            comment = Comment(new_id("IC"), issue.id, author, body, now, now)
            self.data.comments[comment.id] = comment
            self._changed.notify_all()
            return comment

    def set_budget(self, *, remaining: int, limit: int = 5000, reset_in_s: float = 3600) -> None:
        """The primary budget as ``rateLimit`` reports it from now on."""
        with self.data.lock:
            self.budget.limit = limit
            self.budget.used = limit - remaining
            self.budget.reset_at = datetime.now(UTC) + timedelta(seconds=reset_in_s)

    # -- inspection -------------------------------------------------------------------------

    def item_of(self, project: Project, issue: IssueRecord) -> Item:
        with self.data.lock:
            for item in project.items:
                if item.content_id == issue.id:
                    return item
        raise KeyError(f"{issue.title!r} is not on board {project.number}")

    def status_of(self, project: Project, issue: IssueRecord) -> str | None:
        with self.data.lock:
            configured = project.field_named("Status")
            assert configured is not None
            option = self.item_of(project, issue).values.get(configured.id)
            return next((o.name for o in configured.options if o.id == option), None)

    def label_names(self, issue: IssueRecord) -> list[str]:
        with self.data.lock:
            return [self.data.labels[i].name for i in issue.label_ids]

    def comments_on(self, issue: IssueRecord) -> list[Comment]:
        with self.data.lock:
            found = [c for c in self.data.comments.values() if c.issue_id == issue.id]
            return sorted(found, key=lambda c: c.created_at)

    def operations(self) -> list[str | None]:
        with self.data.lock:
            return [r.operation for r in self.requests]

    def mutations(self) -> list[RecordedRequest]:
        with self.data.lock:
            return [r for r in self.requests if r.mutation and r.status == 200 and not r.errors]

    def points_spent(self) -> int:
        with self.data.lock:
            return sum(r.cost or 0 for r in self.requests if not r.errors)

    def wait_for(self, predicate: Callable[[FakeGitHub], bool], timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self), timeout=timeout)

    async def wait_for_async(self, predicate: Callable[[FakeGitHub], bool], timeout: float) -> bool:
        return await asyncio.to_thread(self.wait_for, predicate, timeout)

    # -- failure injection ------------------------------------------------------------------

    def inject(self, failure: Failure, *, operation: str | None = None, times: int = 1) -> None:
        """Apply ``failure`` to the next ``times`` requests (of ``operation``, if given)."""
        with self.data.lock:
            self._injections.append(Injection(failure, operation, times))

    def _take_injection(self, operation: str | None) -> Failure | None:
        with self.data.lock:
            for injection in self._injections:
                if injection.operation is None or injection.operation == operation:
                    injection.remaining -= 1
                    if injection.remaining <= 0:
                        self._injections.remove(injection)
                    return injection.failure
        return None

    # -- GitHub App ---------------------------------------------------------------------------

    def install_app(
        self,
        app_id: str,
        public_key: RSAPublicKey,
        installation_id: int,
        *,
        clock: Callable[[], float] = time.time,
    ) -> FakeApp:
        """Accept installation tokens of this App (``POST /app/installations/<id>/access_tokens``
        with an RS256 JWT it signed) as well as ``token``; tokens expire an hour after ``clock``
        says they were issued."""
        self.app = FakeApp(app_id, public_key, installation_id, clock, {}, set())
        return self.app

    def revoke_installation_tokens(self) -> None:
        with self.data.lock:
            assert self.app is not None
            self.app.revoked |= set(self.app.tokens)

    def issue_installation_token(self, path: str, header: str | None) -> tuple[int, Any]:
        """What GitHub answers at ``/app/installations/<id>/access_tokens``."""
        import jwt

        app = self.app
        match = _TOKEN_PATH.match(path)
        if app is None or match is None or int(match.group(1)) != app.installation_id:
            return 404, {"message": "Not Found"}
        scheme, _, signed = (header or "").partition(" ")
        if scheme.lower() != "bearer":
            return 401, {"message": "A JSON web token could not be decoded"}
        try:
            claims = jwt.decode(
                signed,
                app.public_key,
                algorithms=["RS256"],
                options={
                    "require": ["iat", "exp", "iss"],
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError:
            return 401, {"message": "A JSON web token could not be decoded"}
        now = app.clock()
        if str(claims["iss"]) != app.app_id:
            return 401, {"message": "Integration not found"}
        if not claims["iat"] <= now < claims["exp"] or claims["exp"] - claims["iat"] > 600:
            return 401, {"message": "'Expiration time' claim ('exp') is too far in the future"}
        with self.data.lock:
            token = f"ghs_{new_id('T')}{len(app.tokens):06d}"
            expires = now + INSTALLATION_TOKEN_LIFETIME_S
            app.tokens[token] = expires
        stamp = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return 201, {"token": token, "expires_at": stamp, "permissions": {"issues": "write"}}

    # -- request handling (server threads) --------------------------------------------------

    def authorized(self, header: str | None) -> bool:
        if self.token is None:
            return True
        scheme, _, value = (header or "").partition(" ")
        if scheme.lower() not in ("bearer", "token"):
            return False
        if value == self.token:
            return True
        app = self.app
        if app is None or value in app.revoked:
            return False
        expires = app.tokens.get(value)
        return expires is not None and app.clock() < expires

    def answer(self, record: RecordedRequest) -> tuple[int, Any, dict[str, str]]:
        try:
            payload = json.loads(record.body)
        except ValueError:
            return self._reject(record, "Problems parsing JSON", "PARSE_ERROR", status=400)
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            return self._reject(record, "A query attribute must be specified", "MISSING_QUERY")
        variables = payload.get("variables") or {}
        if not isinstance(variables, dict):
            return self._reject(record, "Variables are invalid JSON.", "INVALID_VARIABLES")
        record.query, record.variables = payload["query"], variables
        try:
            document, problems = self._check(record.query)
        except GraphQLError as exc:
            return self._reject(record, exc.message, "PARSE_ERROR")
        if problems:
            return self._reject(record, [p.message for p in problems], "VALIDATION_ERROR")
        operation = _operation(document, payload.get("operationName"))
        if operation is None:
            return self._reject(
                record, "No operation named in a multi-operation document", "VALIDATION_ERROR"
            )
        coerced = get_variable_values(self.schema, operation.variable_definitions or (), variables)
        if isinstance(coerced, list):
            return self._reject(record, [e.message for e in coerced], "INVALID_VARIABLES")
        record.mutation = operation.operation == OperationType.MUTATION
        try:
            price = _price(self.schema, document, operation, coerced)
        except _Refused as exc:
            return self._reject(record, exc.message, exc.type)
        record.cost = 1 if record.mutation else price.cost
        with self.data.lock:
            if record.cost > self.budget.remaining:
                record.errors = ["API rate limit exceeded"]
                reset = str(int(self.budget.reset_at.timestamp()))
                headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
                body = {
                    "errors": [
                        {
                            "type": "RATE_LIMITED",
                            "message": "API rate limit exceeded for user ID 1.",
                        }
                    ]
                }
                return 200, body, headers
            self.budget.used += record.cost
            result = execute(
                self.schema,
                document,
                root_value=Root(self.data, self.budget, record.cost),
                variable_values=variables,
                operation_name=payload.get("operationName"),
                field_resolver=field_resolver,
                type_resolver=type_resolver,
            )
            self._changed.notify_all()
            headers = {
                "X-RateLimit-Limit": str(self.budget.limit),
                "X-RateLimit-Remaining": str(self.budget.remaining),
                "X-RateLimit-Used": str(self.budget.used),
                "X-RateLimit-Reset": str(int(self.budget.reset_at.timestamp())),
                "X-RateLimit-Resource": "graphql",
            }
        body = result.formatted
        for error in body.get("errors", []):
            # GitHub puts the error's kind at the top level ("type"), not under extensions.
            extensions = error.pop("extensions", None) or {}
            if "type" in extensions:
                error["type"] = extensions["type"]
        return 200, body, headers

    def _check(self, query: str) -> tuple[DocumentNode, list[GraphQLError]]:
        known = self._checked.get(query)
        if known is None:
            document = parse(query)
            known = self._checked[query] = (document, list(validate(self.schema, document)))
        return known

    def _reject(
        self, record: RecordedRequest, messages: str | list[str], type_: str, *, status: int = 200
    ) -> tuple[int, Any, dict[str, str]]:
        record.errors = [messages] if isinstance(messages, str) else list(messages)
        with self.data.lock:
            self.rejected.append(record)
        return status, {"errors": [{"type": type_, "message": m} for m in record.errors]}, {}

    def _set_value(self, project: Project, item: Item, field_name: str, value: Any) -> None:
        configured = project.field_named(field_name)
        assert configured is not None, f"board {project.number} has no field {field_name!r}"
        if configured.data_type == "SINGLE_SELECT":
            option = next((o for o in configured.options if o.name == value), None)
            assert option is not None, f"{field_name} has no option {value!r}"
            item.values[configured.id] = option.id
        else:
            item.values[configured.id] = value

    def _touch(self, issue: IssueRecord) -> None:
        issue.updated_at = self.data.now()
        self._changed.notify_all()


def _single_select(name: str, options: Iterable[str]) -> Field:
    return Field(
        new_id("PVTSSF"), name, "SINGLE_SELECT", [Option(new_id("opt")[-8:], o) for o in options]
    )


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name and o.name.value == name), None)


def _price(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: dict[str, Any],
) -> _Price:
    """GitHub's pricing of a query: each connection costs as many requests as its parents'
    page sizes multiply to; the sum over a hundred, rounded, is the cost (at least 1). The
    same walk enforces the pagination rules GitHub refuses documents for."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    root = schema.get_root_type(operation.operation)
    assert root is not None
    totals = {"requests": 0, "nodes": 0}

    def included(node: Any) -> bool:
        skip = get_directive_values(GraphQLSkipDirective, node, variables)
        if skip and skip.get("if"):
            return False
        include = get_directive_values(GraphQLIncludeDirective, node, variables)
        return not (include is not None and not include.get("if"))

    def walk(selections: SelectionSetNode, parent: Any, multiplier: int) -> None:
        for selection in selections.selections:
            if not included(selection):
                continue
            if isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = schema.get_type(condition.name.value) if condition else parent
                walk(selection.selection_set, target, multiplier)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments[selection.name.value]
                target = schema.get_type(fragment.type_condition.name.value)
                walk(fragment.selection_set, target, multiplier)
            elif isinstance(selection, FieldNode):
                visit_field(selection, parent, multiplier)

    def visit_field(node: FieldNode, parent: Any, multiplier: int) -> None:
        if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return
        definition = parent.fields.get(node.name.value)
        if definition is None:
            return
        named = get_named_type(definition.type)
        inner = multiplier
        if named.name.endswith("Connection") and "first" in definition.args:
            args = get_argument_values(definition, node, variables)
            first, last = args.get("first"), args.get("last")
            name = node.name.value
            if first is None and last is None:
                raise _Refused(
                    "MISSING_PAGINATION_BOUNDARIES",
                    f"You must provide a `first` or `last` value to properly paginate the "
                    f"`{name}` connection.",
                )
            if first is not None and last is not None:
                raise _Refused(
                    "ARGUMENT_LIMIT",
                    f"Passing both `first` and `last` to paginate the `{name}` connection is "
                    "not supported.",
                )
            size = first if first is not None else last
            which = "first" if first is not None else "last"
            if size < 0 or size > MAX_PAGE:
                raise _Refused(
                    "EXCESSIVE_PAGINATION",
                    f"Requesting {size} records on the `{name}` connection exceeds the "
                    f"`{which}` limit of {MAX_PAGE} records.",
                )
            totals["requests"] += multiplier
            inner = multiplier * max(size, 1)
            totals["nodes"] += inner
        if node.selection_set is not None:
            walk(node.selection_set, named, inner)

    walk(operation.selection_set, root, 1)
    if totals["nodes"] > MAX_NODES:
        raise _Refused(
            "MAX_NODE_LIMIT_EXCEEDED",
            f"This query requests up to {totals['nodes']:,} possible nodes which exceeds the "
            f"maximum limit of {MAX_NODES:,}.",
        )
    return _Price(max(1, round(totals["requests"] / 100)), totals["nodes"])


class _Handler(FakeHandler[FakeGitHub]):
    def do_GET(self) -> None:
        self._send(404, {"message": "Not Found"}, "application/json", {})

    def do_POST(self) -> None:
        body = self.read_body()
        if body is None:
            return
        path = self.path.split("?")[0]
        if _TOKEN_PATH.match(path):
            # REST, not GraphQL: kept out of ``requests`` and of failure injection.
            status, answer = self.fake.issue_installation_token(
                path, self.headers.get("Authorization")
            )
            self._send(status, answer, "application/json", {})
            return
        record = RecordedRequest(
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            operation=operation_name(body),
        )
        with self.fake.data.lock:
            self.fake.requests.append(record)
        failure = self.fake._take_injection(record.operation)
        headers: dict[str, str] = {}
        if self.path.split("?")[0] != "/graphql":
            status, payload = 404, {"message": "Not Found"}
        elif failure is not None and not failure.answers_normally:
            record.status = failure.status
            self._send(failure.status, failure.body, failure.content_type, failure.headers)
            return
        elif not self.fake.authorized(self.headers.get("Authorization")):
            status, payload = (
                401,
                {
                    "message": "Bad credentials",
                    "documentation_url": "https://docs.github.com/graphql",
                },
            )
        else:
            status, payload, headers = self.fake.answer(record)
            if failure is not None and failure.rewrite is not None and status == 200:
                payload = failure.rewrite(payload)
        record.status = status
        self._send(status, payload, "application/json", headers)
