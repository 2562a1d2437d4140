"""The Linear adapter: scoped, paginated reads (SPEC §11.1) plus the ``linear_graphql`` tool."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from symphony.httpx_lean import httpx
from symphony.issue import Issue, IssueComment
from symphony.logs import get_logger, register_secrets
from symphony.tools import ToolContext, ToolResult, ToolSpec, unsupported_tool
from symphony.trackers.base import MAX_PROMPT_COMMENTS, TRACKER_RESPONSE, TrackerError
from symphony.trackers.graphql_http import comments_from_nodes
from symphony.trackers.linear import queries, writes
from symphony.trackers.linear.client import LinearClient
from symphony.trackers.linear.lists import complete_lists
from symphony.trackers.linear.normalize import (
    MalformedIssue,
    Routing,
    normalize_issue,
    normalize_whole,
)
from symphony.trackers.linear.responses import error_messages, next_cursor, raise_graphql_errors
from symphony.trackers.linear.settings import ASSIGNEE_ME, KIND, LinearSettings
from symphony.trackers.linear.tool import TOOL_NAME, TOOL_SPEC, run_linear_graphql
from symphony.trackers.linear.webhook import PROVIDER, LinearWebhooks
from symphony.trackers.linear.writes import UNKNOWN_AUTHOR
from symphony.webhooks import WebhookDelivery, WebhookNotice, WebhookScope

log = get_logger("symphony.trackers.linear")

# Pages of a poll read whole before it turns to summaries (``fetch_issue_summaries_by_states``).
SUMMARY_WHOLE_PAGES = 1


@dataclass(slots=True)
class _Page:
    entries: list[Issue | dict[str, Any]]  # an issue, or a node waiting for its full lists
    malformed: list[MalformedIssue]
    page_info: Any


def _conversations(body: dict[str, Any], op: str) -> dict[str, list[IssueComment]]:
    """Each node's comments, by issue id. A node without a comments list is a malformed answer:
    the prompt would silently lose the conversation."""
    data = body.get("data")
    connection = data.get("issues") if isinstance(data, dict) else None
    nodes = connection.get("nodes") if isinstance(connection, dict) else None
    found: dict[str, list[IssueComment]] = {}
    for node in nodes if isinstance(nodes, list) else ():
        if not isinstance(node, dict) or not isinstance(node.get("id"), str):
            continue  # the issue's own normalization reports it
        comments = node.get("comments")
        listed = comments.get("nodes") if isinstance(comments, dict) else None
        if not isinstance(listed, list):
            name = node.get("identifier") or node["id"]
            raise TrackerError(
                TRACKER_RESPONSE, f"Linear answered {op} for {name} without comments"
            )
        found[node["id"]] = comments_from_nodes(
            listed, author="user", name="name", unknown=UNKNOWN_AUTHOR
        )
    return found


def _refuse_malformed(page: _Page) -> None:
    if page.malformed:
        # SPEC §11.1: omission means "no longer visible", so never omit silently.
        exc = page.malformed[0]
        raise TrackerError(
            TRACKER_RESPONSE,
            f"Linear returned a malformed record for requested issue {exc.ref}: {exc.problem}",
        )


class LinearAdapter:
    kind = KIND
    webhook_provider = PROVIDER

    def __init__(
        self,
        settings: LinearSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._client = LinearClient(settings, transport=transport, clock=clock)
        self._viewer_id: str | None = None
        self._viewer_lock = asyncio.Lock()
        self._webhooks = LinearWebhooks(settings, self._client)
        register_secrets(settings.secret_values)

    # -- SPEC §11.1 reads ------------------------------------------------------------------

    async def fetch_issues_by_states(self, state_names: Sequence[str]) -> list[Issue]:
        return await self._walk(state_names, whole_pages=None)

    async def fetch_issue_summaries_by_states(self, state_names: Sequence[str]) -> list[Issue]:
        """The poll's read (``IssueSummaries``). Its first page is read whole: a board that fits
        on one page (most do) then needs no read by id before a dispatch, which saves each
        dispatch a round trip to Linear. Later pages leave out description, branch name and
        updatedAt, which keeps a big board's pages small and its memory bounded. A cursor marks
        a place in the one ``issues`` connection whatever fields a page selected, so the walk
        goes on from a whole page with summaries."""
        return await self._walk(state_names, whole_pages=SUMMARY_WHOLE_PAGES)

    async def fetch_issues_by_ids(self, issue_ids: Sequence[str]) -> list[Issue]:
        return await self._by_ids(issue_ids, with_comments=False)

    async def fetch_issues_with_comments(self, issue_ids: Sequence[str]) -> list[Issue]:
        """``ConversationReads``: the whole issues and the prompt's comments, 50 issues a
        request (the comments' complexity)."""
        return await self._by_ids(issue_ids, with_comments=True)

    async def _by_ids(self, issue_ids: Sequence[str], *, with_comments: bool) -> list[Issue]:
        ids = list(dict.fromkeys(str(i) for i in issue_ids))
        if not ids:
            return []
        routing = await self._routing()
        if with_comments:
            query, op = queries.WITH_COMMENTS_QUERY, queries.WITH_COMMENTS_OPERATION
            size = queries.WITH_COMMENTS_PAGE_SIZE
            extra = {"commentFirst": MAX_PROMPT_COMMENTS}
        else:
            query, op, size, extra = (
                queries.BY_IDS_QUERY,
                queries.BY_IDS_OPERATION,
                queries.PAGE_SIZE,
                {},
            )
        found: dict[str, Issue] = {}
        conversations: dict[str, list[IssueComment]] = {}

        def read(body: dict[str, Any]) -> _Page:
            if with_comments:
                conversations.update(_conversations(body, op))
            return self._read_page(body, op, routing, partial_ok=False)

        for start in range(0, len(ids), size):
            batch = ids[start : start + size]
            page = await self._client.graphql_read(
                query,
                {
                    "ids": batch,
                    "projectSlug": self.settings.project_slug,
                    "first": len(batch),
                    "labelFirst": queries.LABEL_PAGE_SIZE,
                    "relationFirst": queries.RELATION_PAGE_SIZE,
                    **extra,
                },
                operation=op,
                read=read,
            )
            _refuse_malformed(page)
            issues = await self._complete(page, routing, partial_ok=False)
            _refuse_malformed(page)
            wanted = set(batch)
            for issue in issues:
                if issue.id in wanted:
                    said = conversations.get(issue.id)
                    found[issue.id] = (
                        issue if said is None else replace(issue, comments=tuple(said))
                    )
        return [found[i] for i in ids if i in found]

    # -- secrets and agent tools -----------------------------------------------------------

    def secret_environment_names(self) -> frozenset[str]:
        return self.settings.secret_environment_names

    def secret_values(self) -> frozenset[str]:
        return self.settings.secret_values

    def agent_tool_specs(self) -> list[ToolSpec]:
        return [TOOL_SPEC]

    async def execute_agent_tool(
        self, name: str, arguments: Any, context: ToolContext
    ) -> ToolResult:
        if name != TOOL_NAME:
            return unsupported_tool(name, [TOOL_NAME])
        return await run_linear_graphql(self._client, arguments, context)

    async def post_comment(self, issue_id: str, identifier: str, body: str) -> None:
        """``IssueComments``: a comment by the API key's user."""
        op = queries.COMMENT_OPERATION
        variables = {"issueId": issue_id, "body": body}
        response = await self._client.graphql(queries.COMMENT_MUTATION, variables, operation=op)
        raise_graphql_errors(self._client, response, op)
        data = response.get("data")
        created = data.get("commentCreate") if isinstance(data, dict) else None
        if not isinstance(created, dict) or created.get("success") is not True:
            raise TrackerError(
                TRACKER_RESPONSE, f"Linear did not create the comment on {identifier}"
            )

    async def move_issue(self, issue_id: str, identifier: str, state: str) -> str:
        """``IssueWrites``: ``stateId`` resolved by name among the issue's team's states."""
        return await writes.move_issue(self._client, issue_id, identifier, state)

    async def upsert_own_comment(self, issue_id: str, identifier: str, key: str, body: str) -> bool:
        """``IssueWrites``: found by reading the issue's comments for the marker line."""
        return await writes.upsert_own_comment(self._client, issue_id, identifier, key, body)

    async def fetch_issue_comments(self, issue_id: str, identifier: str) -> list[IssueComment]:
        """``IssueConversation``: one request, on the prompt's side only."""
        return await writes.prompt_comments(self._client, issue_id, identifier)

    async def aclose(self) -> None:
        await self._client.aclose()

    # -- webhooks (``WebhookSource``, see webhook.py) ---------------------------------------

    def webhook_problem(self) -> str | None:
        return self._webhooks.problem()

    def verify_webhook(self, delivery: WebhookDelivery, now_ms: float) -> WebhookNotice:
        return self._webhooks.verify(delivery, now_ms)

    async def webhook_scope(self, notice: WebhookNotice) -> WebhookScope:
        return await self._webhooks.scope(notice)

    # -- internals -------------------------------------------------------------------------

    async def _walk(self, state_names: Sequence[str], *, whole_pages: int | None) -> list[Issue]:
        """Every issue in ``state_names``: the first ``whole_pages`` pages (all when None) whole,
        the rest as summaries."""
        # Linear's `in` filter is case-sensitive: names go out exactly as configured.
        states = list(dict.fromkeys(str(s) for s in state_names))
        if not states:
            return []
        routing = await self._routing()
        issues: dict[str, Issue] = {}
        dropped: list[MalformedIssue] = []
        cursors: set[str] = set()
        after: str | None = None
        # No page cap: a big board must still dispatch. A cursor that repeats is a paging fault
        # (``next_cursor``), and the runtime bounds the whole read by its tracker timeout. Each
        # page is normalized as it is decoded, so no raw page outlives its turn.
        number = 0
        while True:
            number += 1
            if whole_pages is None or number <= whole_pages:
                query, op = queries.CANDIDATES_QUERY, queries.CANDIDATES_OPERATION
            else:
                query, op = queries.SUMMARIES_QUERY, queries.SUMMARIES_OPERATION
            page = await self._client.graphql_read(
                query,
                {
                    "projectSlug": self.settings.project_slug,
                    "stateNames": states,
                    "first": queries.PAGE_SIZE,
                    "after": after,
                    "labelFirst": queries.LABEL_PAGE_SIZE,
                    "relationFirst": queries.RELATION_PAGE_SIZE,
                },
                operation=op,
                read=functools.partial(self._read_page, op=op, routing=routing, partial_ok=True),
            )
            for issue in await self._complete(page, routing, partial_ok=True):
                # An issue that moved while we paged can show up twice; the first copy wins.
                issues.setdefault(issue.id, issue)
            dropped.extend(page.malformed)
            after = next_cursor(page.page_info, f"Linear {op} page {number}", cursors)
            if after is None:
                break
        if dropped:
            # SPEC §11.1: a record we cannot normalize was never safe to dispatch.
            log.warning(
                "dropping malformed linear issue records",
                count=len(dropped),
                records=",".join(f"{d.ref}({d.problem})" for d in dropped[:10]),
            )
        return list(issues.values())

    def _read_page(
        self, body: dict[str, Any], op: str, routing: Routing, *, partial_ok: bool
    ) -> _Page:
        """Normalize a page while its JSON is at hand (``graphql_read``); a node with a cut-off
        list is kept as it is, for ``_complete`` to finish."""
        connection = self._issues_connection(body, op, partial_ok=partial_ok)
        entries: list[Issue | dict[str, Any]] = []
        malformed: list[MalformedIssue] = []
        for node in connection["nodes"]:
            try:
                issue = normalize_whole(node, routing)
            except MalformedIssue as exc:
                malformed.append(exc)
                continue
            entries.append(node if issue is None else issue)
        return _Page(entries, malformed, connection.get("pageInfo"))

    async def _complete(self, page: _Page, routing: Routing, *, partial_ok: bool) -> list[Issue]:
        """The page's issues in page order, cut-off lists read in full first."""
        issues: list[Issue] = []
        for entry in page.entries:
            if isinstance(entry, Issue):
                issues.append(entry)
                continue
            await complete_lists(self._client, entry, partial_ok=partial_ok)
            try:
                issues.append(normalize_issue(entry, routing))
            except MalformedIssue as exc:
                page.malformed.append(exc)
        return issues

    async def _routing(self) -> Routing:
        assignee = self.settings.assignee
        if assignee == ASSIGNEE_ME:
            assignee = await self._viewer()
        return Routing.build(self.settings.terminal_states, assignee)

    async def _viewer(self) -> str:
        """The key owner's user id, asked once per adapter (the key cannot change under it)."""
        async with self._viewer_lock:
            if self._viewer_id is not None:
                return self._viewer_id
            op = queries.VIEWER_OPERATION
            body = await self._client.graphql(queries.VIEWER_QUERY, {}, operation=op)
            raise_graphql_errors(self._client, body, op)
            data = body.get("data")
            viewer = data.get("viewer") if isinstance(data, dict) else None
            viewer_id = viewer.get("id") if isinstance(viewer, dict) else None
            if not isinstance(viewer_id, str) or not viewer_id.strip():
                raise TrackerError(
                    TRACKER_RESPONSE,
                    "Linear returned no viewer id, which tracker.provider.assignee: me needs; "
                    "use a personal API key or set assignee to a user id",
                )
            self._viewer_id = viewer_id.strip()
            log.info("linear assignee resolved", assignee="me", user_id=self._viewer_id)
            return self._viewer_id

    def _issues_connection(
        self, body: dict[str, Any], op: str, *, partial_ok: bool
    ) -> dict[str, Any]:
        """``data.issues`` with a ``nodes`` list, or a ``tracker_response`` failure.

        State-list reads may use nodes that arrived next to GraphQL errors (Linear nulls only the
        failing nested fields); an id refresh must not, since a gap there means "gone".
        """
        if not partial_ok:
            raise_graphql_errors(self._client, body, op)
        data = body.get("data")
        connection = data.get("issues") if isinstance(data, dict) else None
        if isinstance(connection, dict) and isinstance(connection.get("nodes"), list):
            errors = error_messages(body)
            if errors:
                log.warning(
                    "linear returned partial data",
                    operation=op,
                    errors=self._client.scrub("; ".join(errors)),
                )
            return connection
        raise_graphql_errors(self._client, body, op)
        raise TrackerError(
            TRACKER_RESPONSE, f"Linear answered {op} without a data.issues.nodes list"
        )
