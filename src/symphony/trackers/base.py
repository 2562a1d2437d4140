"""The tracker adapter contract (SPEC §11) and provider-native agent tools (SPEC §10.5).

The orchestrator sees only ``TrackerAdapter``'s two reads; adapters own endpoints, auth, paging,
normalization, ``dispatchable`` and their agent tools. A ``TrackerProfile`` is the static side of an
adapter: defaults, config validation and construction from the effective config.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from symphony.errors import SymphonyError
from symphony.issue import Issue, IssueComment
from symphony.tools import ToolContext, ToolResult, ToolSpec
from symphony.webhooks import WebhookDelivery, WebhookNotice, WebhookScope

if TYPE_CHECKING:
    # Only named in annotations: importing the configuration models would make every command
    # that touches a tracker (``symphony board``) pay for their validation library.
    from symphony.workflow.config import TrackerConfig

# Portable error categories (SPEC §11.4).
UNSUPPORTED_TRACKER_KIND = "unsupported_tracker_kind"
INVALID_TRACKER_CONFIG = "invalid_tracker_config"
MISSING_TRACKER_SECRET = "missing_tracker_secret"  # noqa: S105 (a category name)
TRACKER_REQUEST = "tracker_request"
TRACKER_STATUS = "tracker_status"
TRACKER_RESPONSE = "tracker_response"
TRACKER_PAGINATION = "tracker_pagination"
TRACKER_RATE_LIMITED = "tracker_rate_limited"
# A write named a state the issue's workflow does not have.
TRACKER_UNKNOWN_STATE = "tracker_unknown_state"
# A write named an issue the tracker does not have (or no longer shows).
TRACKER_ISSUE_NOT_FOUND = "tracker_issue_not_found"


class TrackerError(SymphonyError):
    """An adapter failure: ``code`` is the portable category, ``message`` is for humans."""

    code = TRACKER_REQUEST

    def __init__(
        self,
        category: str,
        message: str,
        *,
        retryable: bool = False,
        retry_after_ms: int | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message, code=category)
        self.category = category
        self.retryable = retryable
        self.retry_after_ms = retry_after_ms
        self.status = status


class UnknownState(TrackerError):
    """``IssueWrites.move_issue`` named a state the issue cannot move to."""

    def __init__(self, identifier: str, state: str, available: Sequence[str]) -> None:
        shown = ", ".join(available) if available else "(none)"
        super().__init__(
            TRACKER_UNKNOWN_STATE,
            f"cannot move {identifier} to {state!r}: no such state; available states: {shown}",
        )
        self.state = state
        self.available = tuple(available)


class TrackerConfigError(SymphonyError):
    """The selected adapter rejects ``tracker.*``; ``key`` is the dotted path it objects to."""

    code = INVALID_TRACKER_CONFIG

    def __init__(self, key: str, message: str, *, category: str = INVALID_TRACKER_CONFIG) -> None:
        super().__init__(f"{key}: {message}", code=category)
        self.key = key


@runtime_checkable
class TrackerAdapter(Protocol):
    """A configured adapter bound to one effective tracker config."""

    kind: str

    async def fetch_issues_by_states(self, state_names: Sequence[str]) -> list[Issue]:
        """Issues in scope with those states; ``[]`` makes no provider request."""
        ...

    async def fetch_issues_by_ids(self, issue_ids: Sequence[str]) -> list[Issue]:
        """Current snapshots; ids no longer visible are omitted; ``[]`` makes no request."""
        ...

    def secret_environment_names(self) -> frozenset[str]:
        """Environment names removed from every child (agent and hooks)."""
        ...

    def secret_values(self) -> frozenset[str]:
        """Resolved secret values, so logs can redact them wherever they appear."""
        ...

    def agent_tool_specs(self) -> list[ToolSpec]: ...

    async def execute_agent_tool(
        self, name: str, arguments: Any, context: ToolContext
    ) -> ToolResult: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class ChangeFeed(Protocol):
    """Optional adapter capability: notices that the tracker may have changed.

    Each item means "something may have changed, poll now". The runtime turns it into an
    immediate poll (or one right after the poll in flight), so new work starts without waiting
    for ``polling.interval_ms``; polling stays the safety net. The iterator runs until cancelled;
    if it ends or raises, polling alone carries on.
    """

    def watch_changes(self) -> AsyncIterator[None]: ...


@runtime_checkable
class IssueComments(Protocol):
    """Optional adapter capability: Symphony itself posts a comment on an issue.

    Used to tell people an agent waits for them (``agent.notify_tracker_on_request``,
    docs/human-requests.md). Raises ``TrackerError`` when the tracker refuses.
    """

    async def post_comment(self, issue_id: str, identifier: str, body: str) -> None: ...


# A marker key: lowercase letters, digits, ``-`` and ``_``, so the marker is a plain HTML comment.
_MARKER_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def own_comment_marker(key: str) -> str:
    """The hidden first line of Symphony's own comment of kind ``key`` (e.g. ``proof``).

    Markdown renderers hide HTML comments, so people see the body while Symphony finds the
    comment again by this line. Raises ``ValueError`` for a key that would not make one.
    """
    if not isinstance(key, str) or not _MARKER_KEY.match(key):
        raise ValueError(
            f"own comment key {key!r} is not valid: use 1-64 lowercase letters, digits, "
            "'-' or '_', starting with a letter or digit"
        )
    return f"<!-- symphony:{key} -->"


def with_marker(key: str, body: str) -> str:
    """``body`` as stored in the tracker: the marker line, then the Markdown."""
    return f"{own_comment_marker(key)}\n{body}"


def has_marker(key: str, stored_body: str) -> bool:
    """Whether a comment's stored body is Symphony's own comment of kind ``key``."""
    first_line = stored_body.lstrip().split("\n", 1)[0].strip()
    return first_line == own_comment_marker(key)


@runtime_checkable
class IssueWrites(IssueComments, Protocol):
    """Optional adapter capability: the writes the review loop makes (docs/extending).

    Every method raises ``TrackerError``: ``UnknownState`` for a state the issue cannot move
    to, category ``tracker_issue_not_found`` for an issue the tracker does not have, and the
    usual request categories when the tracker refuses or cannot be reached.
    """

    async def move_issue(self, issue_id: str, identifier: str, state: str) -> str:
        """Move the issue to ``state`` (matched like every state name: trimmed, any case) and
        return the state's name as the tracker spells it. Moving to the current state is a
        no-op that succeeds."""
        ...

    async def upsert_own_comment(self, issue_id: str, identifier: str, key: str, body: str) -> bool:
        """Create Symphony's own comment of kind ``key`` on the issue, or replace the body of the
        one already there (found by ``own_comment_marker(key)`` on its first line). The stored
        body is ``with_marker(key, body)``. Returns True when it created the comment."""
        ...


@runtime_checkable
class IssueConversation(Protocol):
    """Optional adapter capability: the comments on an issue, for the prompt (``issue.comments``).

    Read once when a worker builds an agent's prompt, never on a poll: a comment read per issue
    per poll would cost a big board a request per issue.
    """

    async def fetch_issue_comments(self, issue_id: str, identifier: str) -> list[IssueComment]:
        """At most ``MAX_PROMPT_COMMENTS`` comments, the newest ones, oldest first. Raises
        ``TrackerError``."""
        ...


# How many comments the prompt gets: enough for a review conversation, bounded so a long
# thread cannot crowd the issue itself out of the agent's context.
MAX_PROMPT_COMMENTS = 50


@runtime_checkable
class ConversationReads(Protocol):
    """Optional adapter capability, beside ``IssueConversation``: whole issues and their comments
    for many issues in one request.

    A worker that starts from a polled summary reads its issue whole, then its comments for the
    prompt. With this capability the two are one read, shared by every dispatch that starts in
    the same loop iteration: a burst of a hundred dispatches costs a few requests instead of a
    hundred and one, and a single dispatch waits one tracker round trip less.
    """

    async def fetch_issues_with_comments(self, issue_ids: Sequence[str]) -> list[Issue]:
        """``fetch_issues_by_ids``, each issue with ``comments`` as ``fetch_issue_comments``
        gives them. Raises ``TrackerError``."""
        ...


@runtime_checkable
class WebhookSource(Protocol):
    """Optional adapter capability: signed change notices the tracker pushes (webhooks).

    ``POST /api/v1/webhooks/<webhook_provider>`` reaches the current adapter when it has this
    capability. The runtime refuses replays and turns the issues in scope into a targeted
    refresh; polling stays the safety net.
    """

    webhook_provider: str

    def webhook_problem(self) -> str | None:
        """Why deliveries cannot be checked (for example, no secret is configured), or None."""
        ...

    def verify_webhook(self, delivery: WebhookDelivery, now_ms: float) -> WebhookNotice:
        """Check the signature and the timestamp (``now_ms``: wall clock, ms since the epoch)
        and read which issues the event is about. Raises ``WebhookRejected``. No IO."""
        ...

    async def webhook_scope(self, notice: WebhookNotice) -> WebhookScope:
        """The notice's issues inside the configured scope. May ask the tracker (once, then
        cached); raises ``TrackerError`` when it cannot tell."""
        ...


@runtime_checkable
class IssueSummaries(Protocol):
    """Optional adapter capability: a cheaper read by states for big boards.

    ``fetch_issue_summaries_by_states`` returns what ``fetch_issues_by_states`` returns, except
    that ``description``, ``branch_name`` and ``updated_at`` may be null: no scheduling decision
    reads them, and leaving them out keeps the pages small and the memory of a board of tens of
    thousands of issues bounded. Every other field, ``labels`` and ``blocked_by`` included, is
    complete, and each such issue says ``summary=True``. An adapter may return some issues whole
    (``summary=False``, as ``fetch_issues_by_states`` has them) where that costs little: Linear
    reads its first page whole. The runtime polls with it, and a worker reads a summary by id
    before using it; a whole issue it uses as is.
    """

    async def fetch_issue_summaries_by_states(self, state_names: Sequence[str]) -> list[Issue]: ...


@dataclass(frozen=True, slots=True)
class LinkedPullRequest:
    """A pull request that closes an issue or was pushed from its branch, for the proof of work.

    ``state`` is the tracker's (GitHub: ``OPEN``, ``CLOSED``, ``MERGED``); ``review_decision``
    is ``APPROVED``, ``CHANGES_REQUESTED``, ``REVIEW_REQUIRED`` or None (no review required);
    ``checks_state`` is the CI rollup of its head commit (``SUCCESS``, ``FAILURE``, ``PENDING``,
    ``ERROR``, ``EXPECTED``) or None without checks; ``failing`` names the failing checks.
    """

    url: str
    state: str
    review_decision: str | None = None
    checks_state: str | None = None
    failing: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "state": self.state,
            "review_decision": self.review_decision,
            "checks": {"state": self.checks_state, "failing": list(self.failing)},
        }


@runtime_checkable
class LinkedChanges(Protocol):
    """Optional adapter capability: the pull requests linked to an issue (docs/review.md).

    The hand-off adds them to the proof of work. ``branch`` is the workspace's current branch,
    when it has one: pull requests pushed from it count as well as those that close the issue.
    """

    async def linked_pull_requests(
        self, issue: Issue, *, branch: str | None = None
    ) -> list[LinkedPullRequest]: ...


async def read_by_states(adapter: TrackerAdapter, state_names: Sequence[str]) -> list[Issue]:
    """The issues in ``state_names``, as summaries when the adapter offers them."""
    if isinstance(adapter, IssueSummaries):
        return await adapter.fetch_issue_summaries_by_states(state_names)
    return await adapter.fetch_issues_by_states(state_names)


class TrackerProfile(Protocol):
    """Static facts and factory for one ``tracker.kind``."""

    kind: str
    default_active_states: tuple[str, ...] | None
    default_terminal_states: tuple[str, ...] | None

    def validate(
        self,
        tracker: TrackerConfig,
        *,
        workflow_dir: Path,
        environ: Mapping[str, str],
        require_secrets: bool = True,
    ) -> None:
        """Raise TrackerConfigError naming the offending ``tracker.provider.<key>``.

        With ``require_secrets=False`` a missing secret is not an error (``symphony validate``).
        """
        ...

    def create(
        self, tracker: TrackerConfig, *, workflow_dir: Path, environ: Mapping[str, str]
    ) -> TrackerAdapter: ...
