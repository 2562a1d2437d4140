"""A fake Linear GraphQL server on 127.0.0.1 that holds every request to Linear's real schema.

Each request is parsed and validated with graphql-core against the published SDL
(``/work/shared/schemas/linear.graphql``) and scored by Linear's published complexity rules
(``linear_complexity``: at most 250 a page, at most 10,000 points a document); a document real
Linear would reject gets HTTP 400 with Linear-style errors and is recorded in ``rejected``, so a
test that sends one fails. Valid
documents are executed against an in-memory workspace (``LinearData``): queries read it and the
mutations agents use (``issueUpdate``, ``commentCreate``, ``commentUpdate``, link attachments)
change it, so an end-to-end test can watch an agent move an issue.

Usage::

    with FakeLinear(api_key="lin_api_test") as linear:
        issue = linear.add_issue("Fix login", state="Todo", labels=["Bug"], priority=2)
        linear.inject(Failure.rate_limited(retry_after="30"))
        ... point tracker.provider.endpoint at linear.url ...
        assert linear.state_of(issue.identifier) == "Human Review"
        linear.add_comment(issue, "Rework: ...", user=linear.add_user("Rita Reviewer"))
        assert [m.operation for m in linear.mutations()] == ["SymphonyMoveIssue"]

The server runs in a background thread, so it serves sync and async tests and subprocesses alike.
"""

from __future__ import annotations

import asyncio
import functools
import json
import socket
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    build_schema,
    execute,
    parse,
    validate,
)

from tests.support.fake_http import FakeHandler, ServedHttp, operation_name
from tests.support.fake_linear_data import (
    Comment,
    IssueRecord,
    Label,
    LinearData,
    Project,
    Relation,
    State,
    Team,
    User,
    base_time,
    default_workspace,
    field_resolver,
    new_id,
    step,
)
from tests.support.fake_linear_failures import Failure, Injection, RecordedRequest
from tests.support.fake_linear_views import Root
from tests.support.linear_complexity import COMPLEXITY_LIMIT, ComplexityError, score

__all__ = ["Failure", "FakeLinear", "RecordedRequest", "load_linear_schema", "schema_available"]

SHARED = Path(__file__).resolve().parents[3] / "shared"
SCHEMA_PATH = SHARED / "schemas" / "linear.graphql"
DEFAULT_PROJECT_SLUG = "symphony-0c79b11b75ea"
DEFAULT_API_KEY = "lin_api_fakeFAKEfake0123456789abcdef"


@functools.cache
def load_linear_schema(path: Path = SCHEMA_PATH) -> GraphQLSchema:
    """Linear's published schema; plain ``build_schema`` loads it with no leniency flags."""
    return build_schema(path.read_text(encoding="utf-8"))


def schema_available(path: Path = SCHEMA_PATH) -> bool:
    return path.is_file()


class FakeLinear:
    def __init__(
        self,
        *,
        api_key: str | None = DEFAULT_API_KEY,
        project_slug: str = DEFAULT_PROJECT_SLUG,
        schema: GraphQLSchema | None = None,
    ) -> None:
        self.api_key = api_key
        self.project_slug = project_slug
        self.schema = schema if schema is not None else load_linear_schema()
        self.data = LinearData()
        default_workspace(self.data, project_slug)
        self.requests: list[RecordedRequest] = []
        self.rejected: list[RecordedRequest] = []
        # Tests that send invalid documents on purpose set this; fixtures check it otherwise.
        self.rejections_expected = False
        # Documents scoring above this are refused, as Linear does. None switches the check off:
        # the benchmarks run releases whose documents predate it against the same fake.
        self.complexity_limit: int | None = COMPLEXITY_LIMIT
        self._injections: list[Injection] = []
        self._changed = threading.Condition(self.data.lock)
        self._stop = threading.Event()
        self._served: ServedHttp | None = None
        self._numbers = iter(range(1, 1_000_000))
        self._checked_queries: dict[str, tuple[DocumentNode, list[GraphQLError]]] = {}
        self._checked_lock = threading.Lock()

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> FakeLinear:
        self._stop.clear()
        self._served = ServedHttp(functools.partial(_Handler, self))
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._served is not None:
            self._served.close()
        self._served = None

    def __enter__(self) -> FakeLinear:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._served is not None, "FakeLinear is not started"
        return f"http://127.0.0.1:{self._served.port}/graphql"

    # -- seeding ----------------------------------------------------------------------------

    @property
    def team(self) -> Team:
        return next(iter(self.data.teams.values()))

    @property
    def viewer(self) -> User:
        return self.data.users[self.data.viewer_id]

    def add_user(self, name: str, email: str | None = None) -> User:
        with self.data.lock:
            user = User(new_id(), name, email or f"{name.split()[0].lower()}@example.test")
            self.data.users[user.id] = user
            return user

    def add_state(self, name: str, type_: str = "started") -> State:
        with self.data.lock:
            position = float(len(self.data.states))
            state = State(new_id(), name, type_, self.team.id, position)
            self.data.states[state.id] = state
            return state

    def add_label(self, name: str) -> Label:
        with self.data.lock:
            return self.data.label_named(name)

    def add_project(self, slug_id: str, name: str = "Another project") -> Project:
        with self.data.lock:
            project = Project(new_id(), slug_id, name)
            self.data.projects[project.id] = project
            return project

    def add_issue(
        self,
        title: str,
        *,
        state: str = "Todo",
        description: str | None = None,
        priority: float = 0.0,
        labels: Iterable[str] = (),
        assignee: User | str | None = None,
        project: Project | str | None = None,
        branch_name: str | None = None,
        identifier: str | None = None,
    ) -> IssueRecord:
        """An issue in the default project (or ``project``: a Project or a slugId)."""
        with self.data.lock:
            number = next(self._numbers)
            identifier = identifier or f"{self.team.key}-{number}"
            created = base_time() + step(number)
            issue = IssueRecord(
                id=new_id(),
                identifier=identifier,
                number=number,
                title=title,
                team_id=self.team.id,
                state_id=self.data.state_named(state, self.team.id).id,
                project_id=self._project_id(project),
                description=description,
                priority=float(priority),
                branch_name=branch_name or f"bot/{identifier.lower()}",
                assignee_id=assignee.id if isinstance(assignee, User) else assignee,
                label_ids=[self.data.label_named(name).id for name in labels],
                created_at=created,
                updated_at=created,
            )
            self.data.issues[issue.id] = issue
            self._changed.notify_all()
            return issue

    def add_relation(
        self, source: IssueRecord | str, target: IssueRecord | str, type_: str = "blocks"
    ) -> Relation:
        """``source`` <type> ``target``; for ``blocks``, the source is the blocker."""
        with self.data.lock:
            relation = Relation(
                new_id(),
                type_,
                self._issue(source).id,
                self._issue(target).id,
                base_time(),
            )
            self.data.add_relation(relation)
            return relation

    def add_blocker(self, blocked: IssueRecord | str, blocker: IssueRecord | str) -> Relation:
        return self.add_relation(blocker, blocked, "blocks")

    def move(self, issue: IssueRecord | str, state: str) -> None:
        with self.data.lock:
            record = self._issue(issue)
            record.state_id = self.data.state_named(state, record.team_id).id
            self.data.touch(record)
            self._changed.notify_all()

    def add_comment(
        self, issue: IssueRecord | str, body: str, *, user: User | None = None
    ) -> Comment:
        """A comment by ``user`` (default: the viewer, i.e. the API key's user)."""
        with self.data.lock:
            record = self._issue(issue)
            now = self.data.clock()
            comment = Comment(
                id=new_id(),
                issue_id=record.id,
                body=body,
                user_id=(user or self.viewer).id,
                created_at=now,
                updated_at=now,
            )
            self.data.comments[comment.id] = comment
            self._changed.notify_all()
            return comment

    def remove_issue(self, issue: IssueRecord | str) -> None:
        with self.data.lock:
            del self.data.issues[self._issue(issue).id]

    # -- inspection -------------------------------------------------------------------------

    def issue(self, ref: IssueRecord | str) -> IssueRecord:
        with self.data.lock:
            return self._issue(ref)

    def state_of(self, ref: IssueRecord | str) -> str:
        with self.data.lock:
            return self.data.states[self._issue(ref).state_id].name

    def comments_on(self, ref: IssueRecord | str) -> list[Comment]:
        with self.data.lock:
            issue_id = self._issue(ref).id
            return [c for c in self.data.comments.values() if c.issue_id == issue_id]

    def operations(self) -> list[str | None]:
        with self.data.lock:
            return [r.operation for r in self.requests]

    def mutations(self) -> list[RecordedRequest]:
        """The answered requests that were mutations, in order (``record.variables`` says what
        they asked for)."""
        with self.data.lock:
            return [
                r
                for r in self.requests
                if r.status == 200
                and r.query is not None
                and r.query.lstrip().startswith("mutation")
            ]

    def wait_for(self, predicate: Callable[[FakeLinear], bool], timeout: float) -> bool:
        """Block until ``predicate(self)`` holds after some request or change, or time out."""
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self), timeout=timeout)

    async def wait_for_async(self, predicate: Callable[[FakeLinear], bool], timeout: float) -> bool:
        return await asyncio.to_thread(self.wait_for, predicate, timeout)

    # -- failure injection ------------------------------------------------------------------

    def inject(self, failure: Failure, *, operation: str | None = None, times: int = 1) -> None:
        """Apply ``failure`` to the next ``times`` requests (of ``operation``, if given)."""
        with self.data.lock:
            self._injections.append(Injection(failure, operation, times))

    def clear_injections(self) -> None:
        with self.data.lock:
            self._injections.clear()

    def _take_injection(self, operation: str | None) -> Failure | None:
        with self.data.lock:
            for injection in self._injections:
                if injection.operation is None or injection.operation == operation:
                    injection.remaining -= 1
                    if injection.remaining <= 0:
                        self._injections.remove(injection)
                    return injection.failure
        return None

    # -- request handling (server threads) --------------------------------------------------

    def _answer(self, record: RecordedRequest) -> tuple[int, Any]:
        """Status and JSON body for a normal (not injected) answer."""
        if self.api_key is not None and record.headers.get("authorization") != self.api_key:
            return 400, _errors(
                "Authentication required, not authenticated", "AUTHENTICATION_ERROR"
            )
        try:
            payload = json.loads(record.body)
        except ValueError:
            return self._reject(record, "request body is not JSON", "BAD_REQUEST")
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            return self._reject(record, "request has no query string", "BAD_REQUEST")
        variables = payload.get("variables") or {}
        if not isinstance(variables, dict):
            return self._reject(record, "variables must be an object", "BAD_REQUEST")
        record.query, record.variables = payload["query"], variables
        try:
            document, problems = self._checked(record.query)
        except GraphQLError as exc:
            return self._reject(record, exc.message, "GRAPHQL_PARSE_FAILED")
        if problems:
            return self._reject(record, [p.message for p in problems], "GRAPHQL_VALIDATION_FAILED")
        limit = self.complexity_limit
        if limit is not None:
            rejected = self._over_complex(record, document, variables, payload, limit)
            if rejected is not None:
                return rejected
        with self.data.lock:
            result = execute(
                self.schema,
                document,
                root_value=Root(self.data),
                variable_values=variables,
                operation_name=payload.get("operationName"),
                field_resolver=field_resolver,
            )
            self._changed.notify_all()
        if result.errors and result.data is None and all(e.path is None for e in result.errors):
            # Variable coercion or operation selection failed: a request-level rejection.
            return self._reject(record, [e.message for e in result.errors], "BAD_USER_INPUT")
        return 200, result.formatted

    def _over_complex(
        self,
        record: RecordedRequest,
        document: DocumentNode,
        variables: dict[str, Any],
        payload: dict[str, Any],
        limit: int,
    ) -> Any | None:
        """The rejection of a document scoring above ``limit``, or None."""
        try:
            cost = score(self.schema, document, variables, payload.get("operationName"))
        except ComplexityError as exc:
            return self._reject(record, str(exc), "INVALID_INPUT")
        record.complexity = cost.points
        if cost.points <= limit:
            return None
        # Linear refuses such a document before running it, whatever the data.
        return self._reject(
            record,
            f"Query too complex: complexity {cost.points} exceeds the limit of "
            f"{limit} (Linear's published rules, as the fake scores them)",
            "INVALID_INPUT",
        )

    def _checked(self, query: str) -> tuple[DocumentNode, list[GraphQLError]]:
        """Parse and validate ``query`` against the schema; the same text gets the same verdict,
        so each distinct document is checked once (a paged walk sends one text many times)."""
        with self._checked_lock:
            known = self._checked_queries.get(query)
        if known is None:
            document = parse(query)
            known = (document, list(validate(self.schema, document)))
            with self._checked_lock:
                self._checked_queries[query] = known
        return known

    def _reject(self, record: RecordedRequest, messages: str | list[str], code: str) -> Any:
        record.errors = [messages] if isinstance(messages, str) else list(messages)
        with self.data.lock:
            self.rejected.append(record)
        return 400, {
            "errors": [{"message": m, "extensions": {"code": code}} for m in record.errors]
        }

    def _issue(self, ref: IssueRecord | str) -> IssueRecord:
        key = ref.id if isinstance(ref, IssueRecord) else ref
        found = self.data.find_issue(key)
        if found is None:
            raise KeyError(f"fake Linear has no issue {key!r}")
        return found

    def _project_id(self, project: Project | str | None) -> str:
        if isinstance(project, Project):
            return project.id
        slug = project or self.project_slug
        for candidate in self.data.projects.values():
            if candidate.slug_id == slug:
                return candidate.id
        return self.add_project(slug).id


def _errors(message: str, code: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code}}]}


class _Handler(FakeHandler[FakeLinear]):
    def do_GET(self) -> None:
        self._send(405, {"errors": [{"message": "Use POST"}]}, "application/json", {})

    def do_POST(self) -> None:
        body = self.read_body()
        if body is None:
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
        if failure is not None and failure.delay_s and self.fake._stop.wait(failure.delay_s):
            return
        if failure is not None and failure.drop_connection:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if self.path.split("?")[0] != "/graphql":
            status, payload = 404, _errors(f"No route {self.path}", "NOT_FOUND")
        elif failure is not None and not failure.answers_normally:
            record.status = failure.status
            body_out = failure.body if failure.body is not None else {}
            self._send(failure.status, body_out, failure.content_type, failure.headers)
            return
        else:
            status, payload = self.fake._answer(record)
            if failure is not None and failure.rewrite is not None and status == 200:
                payload = failure.rewrite(payload)
        record.status = status
        headers = failure.headers if failure is not None else {}
        self._send(status, payload, "application/json", headers)
