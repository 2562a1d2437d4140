"""Agent tools of the local board (SPEC §10.5): read, move, comment, workpad, follow-up issues.

Scope: writes touch only the session's current issue (``ToolContext.issue``), except
``board_create_issue`` which adds a new issue to the same board. Reads may name any issue on the
board. Every failure is a ``ToolResult.fail`` with ``code`` and a message the model can act on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from symphony.errors import SymphonyError
from symphony.logs import get_logger
from symphony.tools import ToolContext, ToolResult, ToolSpec, unsupported_tool
from symphony.trackers.base import TrackerError
from symphony.trackers.local.errors import InvalidState, IssueNotFound
from symphony.trackers.local.normalize import detail_dict, record_dict
from symphony.trackers.local.records import NewIssue
from symphony.trackers.local.settings import BoardSettings
from symphony.trackers.local.store import BoardStore

log = get_logger("symphony.trackers.local")

GET_ISSUE = "board_get_issue"
MOVE_ISSUE = "board_move_issue"
UPSERT_WORKPAD = "board_upsert_workpad"
ADD_COMMENT = "board_add_comment"
CREATE_ISSUE = "board_create_issue"
AGENT_ACTOR = "agent"


class _Args(BaseModel):
    # defer_build: the validators are built at the first tool call, not at import (about 1.7 MB
    # of resident memory for every service, board or not).
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, defer_build=True)


ArgsT = TypeVar("ArgsT", bound=_Args)


class GetIssueArgs(_Args):
    identifier: str | None = None


class MoveIssueArgs(_Args):
    state: str


class BodyArgs(_Args):
    body: str


class CreateIssueArgs(_Args):
    title: str
    description: str | None = None
    priority: int | None = None
    labels: list[str] = []
    state: str | None = None
    depends_on_current: bool = False


def tool_specs(settings: BoardSettings) -> list[ToolSpec]:
    idle_states = [s for s in settings.states if not settings.is_active(s)]
    follow_up = settings.follow_up_state() or "a non-active state"
    text = {"type": "string"}
    return [
        ToolSpec(
            name=GET_ISSUE,
            description=(
                "Read an issue on the local board with its comments (including the workpad), "
                "blockers and state history. Defaults to the issue you are working on."
            ),
            input_schema={
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "identifier": {
                        **text,
                        "description": "Issue to read, like SYM-3. Omit for your current issue.",
                    }
                },
            },
        ),
        ToolSpec(
            name=MOVE_ISSUE,
            description=(
                "Move your current issue to another state on the board. Symphony stops working "
                f"on it once it leaves the active states ({', '.join(settings.active_states)})."
            ),
            input_schema={
                "type": "object",
                "additionalProperties": False,
                "required": ["state"],
                "properties": {
                    "state": {
                        **text,
                        "enum": list(settings.states),
                        "description": "Target state name.",
                    }
                },
            },
        ),
        ToolSpec(
            name=UPSERT_WORKPAD,
            description=(
                "Create or replace the single workpad comment on your current issue (plan, "
                "progress, validation, handoff notes). Each call replaces the whole body."
            ),
            input_schema={
                "type": "object",
                "additionalProperties": False,
                "required": ["body"],
                "properties": {"body": {**text, "description": "Full Markdown workpad body."}},
            },
        ),
        ToolSpec(
            name=ADD_COMMENT,
            description="Add a separate comment to your current issue (prefer the workpad).",
            input_schema={
                "type": "object",
                "additionalProperties": False,
                "required": ["body"],
                "properties": {"body": {**text, "description": "Markdown comment text."}},
            },
        ),
        ToolSpec(
            name=CREATE_ISSUE,
            description=(
                "Create a follow-up issue on the same board for out-of-scope work. It lands in "
                f"{follow_up} unless you pick another non-active state; a human decides when it "
                "starts."
            ),
            input_schema={
                "type": "object",
                "additionalProperties": False,
                "required": ["title"],
                "properties": {
                    "title": {**text, "description": "Short, specific title."},
                    "description": {
                        "type": ["string", "null"],
                        "description": "Markdown: context and acceptance criteria.",
                    },
                    "priority": {
                        "type": ["integer", "null"],
                        "minimum": 0,
                        "maximum": 4,
                        "description": "1 urgent, 2 high, 3 normal, 4 low; 0 or null for none.",
                    },
                    "labels": {"type": "array", "items": text, "description": "Label names."},
                    "state": {
                        **text,
                        "enum": idle_states,
                        "description": "Initial state (default: the board's backlog state).",
                    },
                    "depends_on_current": {
                        "type": "boolean",
                        "description": "True when the follow-up must wait for your current issue.",
                    },
                },
            },
        ),
    ]


class LocalTools:
    """Executes the tools against one board store; every store call runs in a worker thread."""

    def __init__(self, store: BoardStore) -> None:
        self.store = store
        self.settings = store.settings
        self._handlers: dict[str, Callable[[Any, ToolContext], ToolResult]] = {
            GET_ISSUE: self._get_issue,
            MOVE_ISSUE: self._move_issue,
            UPSERT_WORKPAD: self._upsert_workpad,
            ADD_COMMENT: self._add_comment,
            CREATE_ISSUE: self._create_issue,
        }

    def names(self) -> list[str]:
        return list(self._handlers)

    async def execute(self, name: str, arguments: Any, context: ToolContext) -> ToolResult:
        handler = self._handlers.get(name)
        if handler is None:
            return unsupported_tool(name, self.names())
        result = await asyncio.to_thread(self._guarded, handler, arguments, context)
        log.info(
            "local board tool call",
            tool=name,
            success=result.success,
            issue_id=context.issue.id,
            issue_identifier=context.issue.identifier,
        )
        return result

    def _guarded(
        self,
        handler: Callable[[Any, ToolContext], ToolResult],
        arguments: Any,
        context: ToolContext,
    ) -> ToolResult:
        try:
            return handler(arguments, context)
        except InvalidState as exc:
            return ToolResult.fail(exc.message, code=exc.code, validStates=list(exc.valid))
        except TrackerError as exc:
            return ToolResult.fail(exc.message, code=exc.code, retryable=exc.retryable)
        except SymphonyError as exc:
            return ToolResult.fail(exc.message, code=exc.code)

    # ---- handlers (run in a worker thread) ------------------------------------------------

    def _get_issue(self, arguments: Any, context: ToolContext) -> ToolResult:
        args = _parse(GetIssueArgs, {} if arguments is None else arguments, GET_ISSUE)
        if isinstance(args, ToolResult):
            return args
        if args.identifier is None:
            detail = self.store.detail(self._current_id(context))
        else:
            detail = self.store.detail(args.identifier)
        return ToolResult.ok(
            {
                "issue": detail_dict(detail, self.settings),
                "boardStates": list(self.settings.states),
                "activeStates": list(self.settings.active_states),
                "terminalStates": list(self.settings.terminal_states),
            }
        )

    def _move_issue(self, arguments: Any, context: ToolContext) -> ToolResult:
        args = _parse(MoveIssueArgs, arguments, MOVE_ISSUE)
        if isinstance(args, ToolResult):
            return args
        record, previous = self.store.move(self._current_id(context), args.state, actor=AGENT_ACTOR)
        # Moving to the state it is in changes nothing: not progress.
        return ToolResult(
            True,
            {
                "identifier": record.identifier,
                "from": previous,
                "state": record.state,
                "changed": previous != record.state,
                "stillActive": self.settings.is_active(record.state),
            },
            wrote=previous != record.state,
        )

    def _upsert_workpad(self, arguments: Any, context: ToolContext) -> ToolResult:
        args = _parse(BodyArgs, arguments, UPSERT_WORKPAD)
        if isinstance(args, ToolResult):
            return args
        issue_id = self._current_id(context)
        comment, created = self.store.upsert_workpad(issue_id, args.body, author=AGENT_ACTOR)
        return ToolResult.written(
            {"identifier": context.issue.identifier, "commentId": comment.id, "created": created}
        )

    def _add_comment(self, arguments: Any, context: ToolContext) -> ToolResult:
        args = _parse(BodyArgs, arguments, ADD_COMMENT)
        if isinstance(args, ToolResult):
            return args
        comment = self.store.comment(self._current_id(context), args.body, author=AGENT_ACTOR)
        return ToolResult.written({"identifier": context.issue.identifier, "commentId": comment.id})

    def _create_issue(self, arguments: Any, context: ToolContext) -> ToolResult:
        args = _parse(CreateIssueArgs, arguments, CREATE_ISSUE)
        if isinstance(args, ToolResult):
            return args
        state = args.state or self.settings.follow_up_state()
        if state is None:
            return ToolResult.fail(
                "this board has no non-active state to put a follow-up issue in",
                code="invalid_state",
                validStates=list(self.settings.states),
            )
        canonical = self.store.require_state(state)
        if self.settings.is_active(canonical):
            # An agent must not start other agents; a human moves follow-ups into active states.
            raise InvalidState(
                canonical,
                [s for s in self.settings.states if not self.settings.is_active(s)],
                why="is an active state; follow-up issues start outside the active states",
            )
        current_id = self._current_id(context)
        record = self.store.create(
            NewIssue(
                title=args.title,
                description=args.description,
                priority=args.priority,
                state=canonical,
                labels=tuple(args.labels),
                blocked_by=(current_id,) if args.depends_on_current else (),
            ),
            actor=f"{AGENT_ACTOR} ({context.issue.identifier})",
        )
        return ToolResult.written({"issue": record_dict(record, self.settings)})

    def _current_id(self, context: ToolContext) -> str:
        """The session's issue, checked to still exist on this board."""
        try:
            return self.store.get(context.issue.id).id
        except IssueNotFound:
            raise IssueNotFound(
                f"{context.issue.identifier} (your current issue)", self.settings.db_path
            ) from None


def _parse(model: type[ArgsT], arguments: Any, tool: str) -> ArgsT | ToolResult:
    if not isinstance(arguments, Mapping):
        return ToolResult.fail(
            f"{tool} takes a JSON object of arguments (got {type(arguments).__name__})",
            code="invalid_arguments",
        )
    try:
        return model.model_validate(dict(arguments))
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in err['loc']) or '(arguments)'}: {err['msg']}"
            for err in exc.errors(include_url=False)
        ]
        return ToolResult.fail(
            f"invalid arguments for {tool}: {'; '.join(problems)}",
            code="invalid_arguments",
            problems=problems,
        )
