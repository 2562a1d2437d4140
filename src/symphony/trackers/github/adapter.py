"""The GitHub adapter: issues of one repository, their state read from a Projects (v2) board or
from labels (SPEC §11.1), and the review loop's writes.

Both reads page through everything in scope (the board, or the repository's open issues) and
filter by state here: ``ProjectV2.items`` has no server-side filter in the public schema, and a
label-less issue is in ``Backlog``, which no label filter can ask for.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from symphony.httpx_lean import httpx
from symphony.issue import Issue, IssueComment, normalize_state
from symphony.logs import get_logger, register_secrets
from symphony.tools import ToolContext, ToolResult, ToolSpec, unsupported_tool
from symphony.trackers.base import (
    MAX_PROMPT_COMMENTS,
    TRACKER_RATE_LIMITED,
    TRACKER_RESPONSE,
    LinkedPullRequest,
    TrackerError,
)
from symphony.trackers.github import pulls, queries, writes
from symphony.trackers.github.client import GitHubClient, error_types
from symphony.trackers.github.normalize import (
    MalformedIssue,
    board_state,
    in_repository,
    label_names,
    label_state,
    labels_cut_off,
    normalize_issue,
    priority_of,
)
from symphony.trackers.github.project import ProjectInfo, load_project
from symphony.trackers.github.settings import CLOSED_STATE, KIND, GitHubSettings
from symphony.trackers.github.tool import TOOL_NAME, TOOL_SPEC, run_github_graphql
from symphony.trackers.github.webhook import PROVIDER, GitHubWebhooks
from symphony.trackers.graphql_http import error_messages, next_cursor
from symphony.webhooks import WebhookDelivery, WebhookNotice, WebhookScope

log = get_logger("symphony.trackers.github")

# Distinct state sets whose last read is remembered for poll spacing; a workflow has a few.
_MAX_POLL_KINDS = 32


@dataclass(frozen=True, slots=True)
class RateLimitState:
    """What the adapter knows of its points budget, for logs and status views."""

    limit: int | None
    remaining: int | None
    reset_at: float | None  # epoch seconds
    poll_cost: int  # points the last poll spent
    min_poll_interval_s: float  # 0 when polls are not being spaced out
    cooldown_ms: int | None  # a rate limit GitHub signalled is still in effect

    @property
    def slowed(self) -> bool:
        return self.min_poll_interval_s > 0


@dataclass(slots=True)
class _Candidate:
    node: dict[str, Any]
    state: str
    priority: int | None
    labels: list[str] | None = None  # replaces the node's (cut-off or state-bearing) labels


class GitHubAdapter:
    kind = KIND
    webhook_provider = PROVIDER

    def __init__(
        self,
        settings: GitHubSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._client = GitHubClient(
            settings, transport=transport, clock=clock, wall_clock=wall_clock
        )
        self._project: ProjectInfo | None = None
        self._project_lock = asyncio.Lock()
        # By requested state set: the poll, the startup cleanup and the review view each read
        # their own states, and one must not use up another's turn.
        self._last_poll: dict[frozenset[str], float] = {}
        self._poll_cost = 0
        self._slowed_logged = False
        self._webhooks = GitHubWebhooks(settings, self._board_id if settings.uses_project else None)
        register_secrets(settings.secret_values)

    # -- SPEC §11.1 reads ------------------------------------------------------------------

    async def fetch_issues_by_states(self, state_names: Sequence[str]) -> list[Issue]:
        wanted = {normalize_state(str(s)) for s in state_names}
        if not wanted:
            return []
        key = frozenset(wanted)
        self._check_poll_budget(key)
        if len(self._last_poll) >= _MAX_POLL_KINDS:
            self._last_poll.clear()
        self._last_poll[key] = self._clock()
        if self.settings.uses_project:
            candidates, cost = await self._walk_board()
        else:
            candidates, cost = await self._walk_repository(wanted)
        self._poll_cost = cost
        issues: dict[str, Issue] = {}
        dropped: list[MalformedIssue] = []
        for candidate in candidates:
            if normalize_state(candidate.state) not in wanted:
                continue
            try:
                issue = await self._normalize(candidate)
            except MalformedIssue as exc:
                dropped.append(exc)
                continue
            # An item that moved while we paged can show up twice; the first copy wins.
            issues.setdefault(issue.id, issue)
        if dropped:
            log.warning(
                "dropping malformed github issue records",
                count=len(dropped),
                records=",".join(f"{d.ref}({d.problem})" for d in dropped[:10]),
            )
        return list(issues.values())

    async def fetch_issues_by_ids(self, issue_ids: Sequence[str]) -> list[Issue]:
        return await self._by_ids(issue_ids, with_comments=False)

    async def fetch_issues_with_comments(self, issue_ids: Sequence[str]) -> list[Issue]:
        """``ConversationReads``: the whole issues and the prompt's comments, 50 issues a
        request (``queries.WITH_COMMENTS_QUERY`` says why)."""
        return await self._by_ids(issue_ids, with_comments=True)

    async def _by_ids(self, issue_ids: Sequence[str], *, with_comments: bool) -> list[Issue]:
        ids = list(dict.fromkeys(str(i) for i in issue_ids))
        if not ids:
            return []
        project = await self._project_info() if self.settings.uses_project else None
        size = queries.WITH_COMMENTS_PAGE_SIZE if with_comments else queries.PAGE_SIZE
        found: dict[str, Issue] = {}
        for start in range(0, len(ids), size):
            batch = ids[start : start + size]
            for candidate in await self._read_ids(batch, project, with_comments=with_comments):
                try:
                    issue = await self._normalize(candidate)
                except MalformedIssue as exc:
                    # SPEC §11.1: omission means "no longer visible", so never omit silently.
                    raise TrackerError(
                        TRACKER_RESPONSE,
                        f"GitHub returned a malformed record for requested issue {exc.ref}: "
                        f"{exc.problem}",
                    ) from None
                if with_comments:
                    said = writes.conversation(
                        candidate.node, queries.WITH_COMMENTS_OPERATION, issue.identifier
                    )
                    issue = replace(issue, comments=tuple(said))
                found[issue.id] = issue
        return [found[i] for i in ids if i in found]

    # -- rate limits ------------------------------------------------------------------------

    def rate_limit_state(self) -> RateLimitState:
        report = self._client.budget.latest
        return RateLimitState(
            limit=report.limit if report else None,
            remaining=report.remaining if report else None,
            reset_at=report.reset_at if report else None,
            poll_cost=self._poll_cost,
            min_poll_interval_s=self._client.budget.min_poll_interval_s(self._poll_cost),
            cooldown_ms=self._client.cooldown_remaining_ms(),
        )

    def _check_poll_budget(self, key: frozenset[str]) -> None:
        """Space polls out so the points left last until the reset; a poll that comes too soon
        is refused without a request, as a rate limit, so the log and the status views say so."""
        state = self.rate_limit_state()
        if not state.slowed:
            self._slowed_logged = False
            return
        if not self._slowed_logged:
            self._slowed_logged = True
            log.warning(
                "github polling slowed to keep within the points budget",
                remaining=state.remaining,
                limit=state.limit,
                poll_cost=state.poll_cost,
                min_interval_s=round(state.min_poll_interval_s, 1),
            )
        last = self._last_poll.get(key)
        if last is None:
            return
        wait_s = last + state.min_poll_interval_s - self._clock()
        if wait_s <= 0:
            return
        raise TrackerError(
            TRACKER_RATE_LIMITED,
            f"GitHub points budget low ({state.remaining} of {state.limit} left until the "
            f"reset): polls slowed to one every {state.min_poll_interval_s:.0f} s, next in "
            f"{wait_s:.0f} s; no request sent",
            retryable=True,
            retry_after_ms=max(1, round(wait_s * 1000)),
        )

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
        return await run_github_graphql(self._client, arguments, context)

    # -- writes (``IssueWrites``, ``IssueConversation``) ----------------------------------

    async def post_comment(self, issue_id: str, identifier: str, body: str) -> None:
        await writes.add_comment(self._client, issue_id, identifier, body)

    async def move_issue(self, issue_id: str, identifier: str, state: str) -> str:
        if self.settings.uses_project:
            project = await self._project_info()
            return await writes.move_on_board(
                self._client, project, self.settings, issue_id, identifier, state
            )
        return await writes.move_by_labels(self._client, self.settings, issue_id, identifier, state)

    async def upsert_own_comment(self, issue_id: str, identifier: str, key: str, body: str) -> bool:
        return await writes.upsert_own_comment(self._client, issue_id, identifier, key, body)

    async def fetch_issue_comments(self, issue_id: str, identifier: str) -> list[IssueComment]:
        return await writes.prompt_comments(self._client, issue_id, identifier)

    async def linked_pull_requests(
        self, issue: Issue, *, branch: str | None = None
    ) -> list[LinkedPullRequest]:
        """``LinkedChanges``: for the proof of work (pulls.py)."""
        return await pulls.linked_pull_requests(self._client, self.settings, issue, branch)

    async def aclose(self) -> None:
        await self._client.aclose()

    # -- webhooks (``WebhookSource``, see webhook.py) ---------------------------------------

    def webhook_problem(self) -> str | None:
        return self._webhooks.problem()

    def verify_webhook(self, delivery: WebhookDelivery, now_ms: float) -> WebhookNotice:
        # GitHub's deliveries carry no timestamp; replays are refused by their id and body.
        return self._webhooks.verify(delivery)

    async def webhook_scope(self, notice: WebhookNotice) -> WebhookScope:
        return await self._webhooks.scope(notice)

    # -- internals -------------------------------------------------------------------------

    async def _project_info(self) -> ProjectInfo:
        """The board's id and fields, asked once per adapter."""
        async with self._project_lock:
            if self._project is None:
                self._project = await load_project(self._client, self.settings)
            return self._project

    async def _board_id(self) -> str:
        return (await self._project_info()).id

    def _common_variables(self) -> dict[str, Any]:
        return {
            "labelFirst": queries.LABEL_PAGE_SIZE,
            "assigneeFirst": queries.ASSIGNEE_PAGE_SIZE,
        }

    def _field_variables(self) -> dict[str, Any]:
        priority = self.settings.priority_field
        return {
            "statusField": self.settings.status_field,
            "priorityField": priority or "",
            "withPriority": priority is not None,
        }

    async def _walk_board(self) -> tuple[list[_Candidate], int]:
        project = await self._project_info()
        settings = self.settings
        op = queries.BOARD_OPERATION
        candidates: list[_Candidate] = []
        cost, number, after = 0, 0, None
        cursors: set[str] = set()
        while True:
            number += 1
            body = await self._client.graphql(
                queries.BOARD_QUERY,
                {
                    "owner": settings.project_owner,
                    "number": settings.project_number,
                    "first": queries.PAGE_SIZE,
                    "after": after,
                    **self._field_variables(),
                    **self._common_variables(),
                },
                operation=op,
            )
            cost += _cost(body)
            connection = self._board_items(body, op)
            for item in connection["nodes"]:
                candidate = self._board_candidate(item, project)
                if candidate is not None:
                    candidates.append(candidate)
            after = next_cursor(connection.get("pageInfo"), f"GitHub {op} page {number}", cursors)
            if after is None:
                return candidates, cost

    def _board_candidate(self, item: Any, project: ProjectInfo) -> _Candidate | None:
        """The item's issue with its state on this board; None for what is not in scope (pull
        requests, draft issues, redacted items, archived items, other repositories)."""
        if not isinstance(item, dict) or item.get("isArchived") is True:
            return None
        content = item.get("content")
        if not isinstance(content, dict) or content.get("__typename") != "Issue":
            return None
        if not in_repository(content, self.settings.repository):
            return None
        return _Candidate(
            content,
            board_state(content, item.get("status")),
            priority_of(item.get("priority"), project.priority_option_ids),
        )

    def _board_items(self, body: dict[str, Any], op: str) -> dict[str, Any]:
        data = body.get("data")
        owner = data.get("repositoryOwner") if isinstance(data, dict) else None
        board = owner.get("projectV2") if isinstance(owner, dict) else None
        items = board.get("items") if isinstance(board, dict) else None
        if isinstance(items, dict) and isinstance(items.get("nodes"), list):
            if error_messages(body):
                log.warning(
                    "github returned partial data",
                    operation=op,
                    errors=self._client.scrub("; ".join(error_messages(body))),
                )
            return items
        self._client.raise_errors(body, op)
        raise TrackerError(
            TRACKER_RESPONSE,
            f"GitHub answered {op} without the items of board "
            f"{self.settings.project_owner}/{self.settings.project_number}",
        )

    async def _walk_repository(self, wanted: set[str]) -> tuple[list[_Candidate], int]:
        settings = self.settings
        states = ["OPEN"]
        if normalize_state(CLOSED_STATE) in wanted:
            states.append("CLOSED")
            if wanted == {normalize_state(CLOSED_STATE)}:
                states = ["CLOSED"]
        op = queries.REPOSITORY_OPERATION
        candidates: list[_Candidate] = []
        cost, number, after = 0, 0, None
        cursors: set[str] = set()
        while True:
            number += 1
            body = await self._client.graphql(
                queries.REPOSITORY_QUERY,
                {
                    "owner": settings.owner,
                    "name": settings.repo,
                    "states": states,
                    "first": queries.PAGE_SIZE,
                    "after": after,
                    **self._common_variables(),
                },
                operation=op,
            )
            cost += _cost(body)
            data = body.get("data")
            repo = data.get("repository") if isinstance(data, dict) else None
            connection = repo.get("issues") if isinstance(repo, dict) else None
            if not isinstance(connection, dict) or not isinstance(connection.get("nodes"), list):
                self._client.raise_errors(body, op)
                raise TrackerError(
                    TRACKER_RESPONSE,
                    f"GitHub answered {op} without the issues of {settings.repository}",
                )
            for node in connection["nodes"]:
                if isinstance(node, dict):
                    candidates.append(await self._label_candidate(node))
            after = next_cursor(connection.get("pageInfo"), f"GitHub {op} page {number}", cursors)
            if after is None:
                return candidates, cost

    async def _label_candidate(self, node: dict[str, Any]) -> _Candidate:
        """The issue with its state from its labels; the state labels say the state, so they
        are not among the issue's labels."""
        names = await self._all_labels(node) if labels_cut_off(node) else label_names(node)
        prefix = self.settings.state_label_prefix
        others = [n for n in names if not n.lower().startswith(prefix.lower())]
        return _Candidate(node, label_state(node, names, prefix), None, others)

    async def _read_ids(
        self, batch: list[str], project: ProjectInfo | None, *, with_comments: bool
    ) -> list[_Candidate]:
        variables: dict[str, Any] = {
            "ids": batch,
            "withItems": project is not None,
            "itemFirst": queries.ITEM_PAGE_SIZE,
            **self._field_variables(),
            **self._common_variables(),
        }
        if with_comments:
            query, op = queries.WITH_COMMENTS_QUERY, queries.WITH_COMMENTS_OPERATION
            variables["commentLast"] = MAX_PROMPT_COMMENTS
        else:
            query, op = queries.BY_IDS_QUERY, queries.BY_IDS_OPERATION
        body = await self._client.graphql(query, variables, operation=op)
        # An id GitHub cannot resolve is null with a NOT_FOUND error: it is simply gone. Any
        # other error (or one without a type) fails the read: a gap would mean "gone".
        kinds = error_types(body)
        if len(kinds) != len(error_messages(body)) or any(k != "NOT_FOUND" for k in kinds):
            self._client.raise_errors(body, op)
        data = body.get("data")
        nodes = data.get("nodes") if isinstance(data, dict) else None
        if not isinstance(nodes, list):
            self._client.raise_errors(body, op)
            raise TrackerError(TRACKER_RESPONSE, f"GitHub answered {op} without data.nodes")
        candidates: list[_Candidate] = []
        for node in nodes:
            if not isinstance(node, dict) or node.get("__typename") != "Issue":
                continue
            if not in_repository(node, self.settings.repository):
                continue
            if project is None:
                candidates.append(await self._label_candidate(node))
                continue
            item = _item_on(node, project.id)
            if item is None:
                continue  # not on this board: out of scope
            candidates.append(
                _Candidate(
                    node,
                    board_state(node, item.get("status")),
                    priority_of(item.get("priority"), project.priority_option_ids),
                )
            )
        return candidates

    async def _normalize(self, candidate: _Candidate) -> Issue:
        node = candidate.node
        labels = candidate.labels
        if labels is None and labels_cut_off(node):
            labels = await self._all_labels(node)
        return normalize_issue(
            node, state=candidate.state, priority=candidate.priority, labels=labels
        )

    async def _all_labels(self, node: dict[str, Any]) -> list[str]:
        """Every label of an issue whose first page of labels was not all of them."""
        op = queries.LABELS_OPERATION
        names: list[str] = []
        cursors: set[str] = set()
        after: str | None = None
        while True:
            body = await self._client.graphql(
                queries.LABELS_QUERY,
                {"id": node.get("id"), "first": queries.MAX_PAGE_SIZE, "after": after},
                operation=op,
            )
            self._client.raise_errors(body, op)
            data = body.get("data")
            issue = data.get("node") if isinstance(data, dict) else None
            labels = issue.get("labels") if isinstance(issue, dict) else None
            if not isinstance(labels, dict):
                raise TrackerError(TRACKER_RESPONSE, f"GitHub answered {op} without labels")
            names.extend(label_names({"labels": labels}))
            after = next_cursor(labels.get("pageInfo"), f"GitHub {op}", cursors)
            if after is None:
                return names


def _item_on(node: dict[str, Any], project_id: str) -> dict[str, Any] | None:
    items = node.get("projectItems")
    nodes = items.get("nodes") if isinstance(items, dict) else None
    for item in nodes if isinstance(nodes, list) else ():
        if not isinstance(item, dict) or item.get("isArchived") is True:
            continue
        project = item.get("project")
        if isinstance(project, dict) and project.get("id") == project_id:
            return item
    return None


def _cost(body: dict[str, Any]) -> int:
    data = body.get("data")
    limit = data.get("rateLimit") if isinstance(data, dict) else None
    cost = limit.get("cost") if isinstance(limit, dict) else None
    return cost if isinstance(cost, int) and not isinstance(cost, bool) else 0
