"""Every agent tool of the local board: success and structured failure (SPEC §10.5)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from symphony.agents.codex.tools import tool_call_result
from symphony.tools import ToolContext, ToolResult
from symphony.trackers.local import BoardSettings, BoardStore, LocalAdapter
from symphony.trackers.local.db import BoardDatabase
from symphony.trackers.local.records import NewIssue


def error(result: ToolResult) -> dict[str, Any]:
    assert result.success is False
    err = result.output["error"]
    assert isinstance(err["message"], str) and err["message"]
    return dict(err)


@pytest.fixture
def current(add: Callable[..., str], context_for: Callable[[str], ToolContext]) -> ToolContext:
    add("Other issue")
    return context_for(add("Current issue", description="Do the thing", labels=("bug",)))


# ---- board_get_issue ----------------------------------------------------------------------


async def test_get_issue_defaults_to_the_current_issue_with_comments(
    adapter: LocalAdapter, store: BoardStore, current: ToolContext
) -> None:
    store.comment(current.issue.identifier, "Please also update the docs", author="alice")
    store.upsert_workpad(current.issue.identifier, "## Codex Workpad\n- [ ] plan", author="agent")
    result = await adapter.execute_agent_tool("board_get_issue", {}, current)
    assert result.success and not result.wrote
    issue = result.output["issue"]
    assert issue["identifier"] == current.issue.identifier == "SYM-2"
    assert issue["description"] == "Do the thing" and issue["labels"] == ["bug"]
    assert issue["comments"][0]["body"] == "Please also update the docs"
    assert issue["workpad"]["body"].startswith("## Codex Workpad")
    assert issue["history"][0]["to"] == "Todo"
    assert result.output["boardStates"][0] == "Backlog"
    assert "Human Review" not in result.output["activeStates"]
    # What reaches codex is the same payload as JSON text.
    protocol = tool_call_result(result)
    assert protocol["success"] is True
    assert json.loads(protocol["contentItems"][0]["text"])["issue"]["id"] == current.issue.id
    none_args = await adapter.execute_agent_tool("board_get_issue", None, current)
    assert none_args.success


async def test_get_issue_reads_another_issue_by_identifier(
    adapter: LocalAdapter, current: ToolContext
) -> None:
    result = await adapter.execute_agent_tool("board_get_issue", {"identifier": "sym-1"}, current)
    assert result.success and result.output["issue"]["title"] == "Other issue"


@pytest.mark.parametrize(
    ("arguments", "code", "fragment"),
    [
        ({"identifier": "SYM-404"}, "issue_not_found", "SYM-404"),
        ({"identifier": 3}, "invalid_arguments", "identifier"),
        ({"id": "SYM-1"}, "invalid_arguments", "id"),
        ("SYM-1", "invalid_arguments", "JSON object"),
    ],
)
async def test_get_issue_failures(
    adapter: LocalAdapter, current: ToolContext, arguments: Any, code: str, fragment: str
) -> None:
    err = error(await adapter.execute_agent_tool("board_get_issue", arguments, current))
    assert err["code"] == code and fragment in err["message"]


# ---- board_move_issue ---------------------------------------------------------------------


async def test_move_changes_only_the_current_issue(
    adapter: LocalAdapter, store: BoardStore, current: ToolContext
) -> None:
    result = await adapter.execute_agent_tool(
        "board_move_issue", {"state": "human review"}, current
    )
    assert result.success and result.wrote
    assert result.output == {
        "identifier": "SYM-2",
        "from": "Todo",
        "state": "Human Review",
        "changed": True,
        "stillActive": False,
    }
    assert store.get("SYM-2").state == "Human Review"
    assert store.get("SYM-1").state == "Todo"
    assert store.detail("SYM-2").history[-1].actor == "agent"
    # The service sees the move on its next refresh.
    [issue] = await adapter.fetch_issues_by_ids([current.issue.id])
    assert issue.state == "Human Review"
    again = await adapter.execute_agent_tool("board_move_issue", {"state": "Human Review"}, current)
    assert again.success and again.output["changed"] is False and not again.wrote


async def test_move_to_an_unknown_state_lists_valid_states(
    adapter: LocalAdapter, store: BoardStore, current: ToolContext
) -> None:
    err = error(await adapter.execute_agent_tool("board_move_issue", {"state": "Shipped"}, current))
    assert err["code"] == "invalid_state"
    assert err["validStates"] == list(store.settings.states)
    assert "Shipped" in err["message"]
    assert store.get(current.issue.id).state == "Todo"


@pytest.mark.parametrize(
    "arguments", [{}, {"state": None}, {"state": ["Done"]}, {"state": "Done", "force": True}]
)
async def test_move_rejects_malformed_arguments(
    adapter: LocalAdapter, current: ToolContext, arguments: Any
) -> None:
    err = error(await adapter.execute_agent_tool("board_move_issue", arguments, current))
    assert err["code"] == "invalid_arguments"
    assert err["problems"]


async def test_move_fails_when_the_current_issue_was_deleted(
    adapter: LocalAdapter, store: BoardStore, current: ToolContext
) -> None:
    store.delete(current.issue.id)
    err = error(await adapter.execute_agent_tool("board_move_issue", {"state": "Done"}, current))
    assert err["code"] == "issue_not_found"
    assert "SYM-2 (your current issue)" in err["message"]


# ---- board_upsert_workpad / board_add_comment -----------------------------------------------


async def test_workpad_is_created_then_replaced(
    adapter: LocalAdapter, store: BoardStore, current: ToolContext
) -> None:
    first = await adapter.execute_agent_tool(
        "board_upsert_workpad", {"body": "## Codex Workpad\nv1"}, current
    )
    second = await adapter.execute_agent_tool(
        "board_upsert_workpad", {"body": "## Codex Workpad\nv2"}, current
    )
    assert first.success and second.success
    assert first.output["created"] is True and second.output["created"] is False
    assert first.output["commentId"] == second.output["commentId"]
    comments = store.detail(current.issue.id).comments
    assert [(c.is_workpad, c.body) for c in comments] == [(True, "## Codex Workpad\nv2")]


async def test_add_comment_appends(
    adapter: LocalAdapter, store: BoardStore, current: ToolContext
) -> None:
    for text in ("blocked: no network", "second"):
        result = await adapter.execute_agent_tool("board_add_comment", {"body": text}, current)
        assert result.success and result.output["identifier"] == "SYM-2"
    assert [c.body for c in store.detail(current.issue.id).comments] == [
        "blocked: no network",
        "second",
    ]
    assert store.detail("SYM-1").comments == ()


@pytest.mark.parametrize("tool", ["board_upsert_workpad", "board_add_comment"])
@pytest.mark.parametrize(
    ("arguments", "code"),
    [
        ({"body": "   "}, "invalid_input"),
        ({}, "invalid_arguments"),
        ({"body": 5}, "invalid_arguments"),
    ],
)
async def test_comment_tools_reject_bad_bodies(
    adapter: LocalAdapter,
    store: BoardStore,
    current: ToolContext,
    tool: str,
    arguments: Any,
    code: str,
) -> None:
    err = error(await adapter.execute_agent_tool(tool, arguments, current))
    assert err["code"] == code
    assert store.detail(current.issue.id).comments == ()


# ---- board_create_issue -------------------------------------------------------------------


async def test_create_follow_up_lands_in_backlog(
    adapter: LocalAdapter, store: BoardStore, current: ToolContext
) -> None:
    result = await adapter.execute_agent_tool(
        "board_create_issue",
        {
            "title": "Refactor the parser",
            "description": "Acceptance: tests pass",
            "priority": 3,
            "labels": ["Tech-Debt"],
            "depends_on_current": True,
        },
        current,
    )
    assert result.success
    created = result.output["issue"]
    assert created["identifier"] == "SYM-3" and created["state"] == "Backlog"
    assert created["labels"] == ["tech-debt"] and created["priority"] == 3
    assert [b["identifier"] for b in created["blocked_by"]] == ["SYM-2"]
    assert created["created_by"] == "agent (SYM-2)"
    # Backlog is not active: no agent starts on it until a human moves it.
    assert await adapter.fetch_issues_by_states(["Todo"]) != []
    assert "SYM-3" not in [i.identifier for i in await adapter.fetch_issues_by_states(["Todo"])]
    plain = await adapter.execute_agent_tool(
        "board_create_issue", {"title": "Docs", "state": "human review"}, current
    )
    assert plain.success and plain.output["issue"]["state"] == "Human Review"
    assert plain.output["issue"]["blocked_by"] == []
    assert store.get("SYM-4").title == "Docs"


@pytest.mark.parametrize(
    ("arguments", "code", "fragment"),
    [
        ({"title": "x", "state": "Todo"}, "invalid_state", "is an active state"),
        ({"title": "x", "state": "Someday"}, "invalid_state", "Someday"),
        ({"title": "  "}, "invalid_input", "title"),
        ({"title": "x", "priority": 9}, "invalid_input", "priority"),
        ({"title": "x", "labels": "bug"}, "invalid_arguments", "labels"),
        ({"description": "no title"}, "invalid_arguments", "title"),
        (["x"], "invalid_arguments", "JSON object"),
    ],
)
async def test_create_issue_failures_create_nothing(
    adapter: LocalAdapter,
    store: BoardStore,
    current: ToolContext,
    arguments: Any,
    code: str,
    fragment: str,
) -> None:
    err = error(await adapter.execute_agent_tool("board_create_issue", arguments, current))
    assert err["code"] == code and fragment in err["message"]
    assert len(store.list_issues(include_terminal=True)) == 2


async def test_create_issue_fails_on_a_board_without_an_idle_state(
    settings: BoardSettings,
) -> None:
    tight = replace(
        settings,
        states=("Open", "Closed"),
        default_state="Open",
        active_states=("Open",),
        terminal_states=("Closed",),
    )
    local = LocalAdapter(tight)
    local.store.create(NewIssue(title="x"), actor="t")
    [issue] = await local.fetch_issues_by_states(["Open"])
    err = error(
        await local.execute_agent_tool("board_create_issue", {"title": "y"}, ToolContext(issue))
    )
    assert err["code"] == "invalid_state" and "no non-active state" in err["message"]
    assert err["validStates"] == ["Open", "Closed"]
    await local.aclose()


async def test_busy_board_is_a_retryable_tool_failure(
    settings: BoardSettings, store: BoardStore, current: ToolContext
) -> None:
    holder = sqlite3.connect(settings.db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        busy = LocalAdapter(
            settings,
            BoardStore(
                settings, BoardDatabase(settings.db_path, busy_timeout_s=0.02, retry_deadline_s=0.2)
            ),
        )
        err = error(await busy.execute_agent_tool("board_move_issue", {"state": "Done"}, current))
        assert err["code"] == "tracker_request" and err["retryable"] is True
        await busy.aclose()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert store.get(current.issue.id).state == "Todo"
