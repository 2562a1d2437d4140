"""The adapter contract (SPEC §11.1, §11.3, §17.3) against a real SQLite board."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from symphony.agents.codex.tools import dynamic_tool
from symphony.issue import Issue
from symphony.trackers.base import (
    MAX_PROMPT_COMMENTS,
    TRACKER_ISSUE_NOT_FOUND,
    TRACKER_REQUEST,
    TRACKER_RESPONSE,
    IssueComments,
    IssueWrites,
    TrackerError,
)
from symphony.trackers.local import BoardSettings, BoardStore, LocalAdapter
from tests.support.waiting import wait_until


def raw_sql(path: Path, sql: str, params: tuple[Any, ...] = ()) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA ignore_check_constraints = ON")
        conn.execute(sql, params)
    finally:
        conn.close()


async def test_empty_requests_touch_nothing(
    adapter: LocalAdapter, settings: BoardSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[bool] = []
    real_run = adapter.store.db.run

    def spy(fn: Any, *, write: bool) -> Any:
        calls.append(write)
        return real_run(fn, write=write)

    monkeypatch.setattr(adapter.store.db, "run", spy)
    assert await adapter.fetch_issues_by_states([]) == []
    assert await adapter.fetch_issues_by_ids([]) == []
    assert calls == []
    assert not settings.db_path.exists()
    # A real request does reach the database.
    assert await adapter.fetch_issues_by_states(["Todo"]) == []
    assert calls and settings.db_path.exists()


async def test_normalized_issue_has_every_field(
    adapter: LocalAdapter, store: BoardStore, add: Callable[..., str]
) -> None:
    blocker = add("blocker", state="Done")
    ref = add(
        "Full",
        description="desc",
        priority=1,
        labels=("Backend", "UI"),
        assignee_id="alice",
        blocked_by=(blocker,),
    )
    record = store.get(ref)
    [issue] = await adapter.fetch_issues_by_states(["Todo"])
    assert issue == Issue(
        id=record.id,
        identifier="SYM-2",
        title="Full",
        state="Todo",
        dispatchable=True,
        description="desc",
        priority=1,
        branch_name="sym-2-full",
        url=None,
        assignee_id="alice",
        labels=("backend", "ui"),
        blocked_by=issue.blocked_by,
        created_at=record.created_at,
        updated_at=record.updated_at,
        native_ref=None,
    )
    [ref_blocker] = issue.blocked_by
    assert (ref_blocker.identifier, ref_blocker.state) == ("SYM-1", "Done")
    assert ref_blocker.id == store.get(blocker).id
    as_dict = issue.to_dict()
    assert set(as_dict) >= {"id", "identifier", "labels", "blocked_by", "dispatchable", "url"}
    assert as_dict["created_at"].endswith("Z")


async def test_url_template_fills_the_url(settings: BoardSettings, add: Callable[..., str]) -> None:
    add()
    local = LocalAdapter(replace(settings, url_template="http://127.0.0.1:4000/i/{identifier}"))
    [issue] = await local.fetch_issues_by_states(["Todo"])
    assert issue.url == "http://127.0.0.1:4000/i/SYM-1"
    await local.aclose()


async def test_refresh_by_ids_returns_full_snapshots_and_omits_missing(
    adapter: LocalAdapter, store: BoardStore, add: Callable[..., str]
) -> None:
    a, b = store.get(add("a")), store.get(add("b"))
    store.move(b.identifier, "Human Review", actor="t")
    store.relabel(b.identifier, add=["Ready"], remove=[])
    issues = await adapter.fetch_issues_by_ids([b.id, a.id, b.id, "no-such-id"])
    by_id = {i.id: i for i in issues}
    assert len(issues) == 2 and set(by_id) == {a.id, b.id}
    assert by_id[b.id].state == "Human Review"
    assert by_id[b.id].labels == ("ready",)
    store.delete(a.identifier)
    assert [i.id for i in await adapter.fetch_issues_by_ids([a.id, b.id])] == [b.id]


@pytest.mark.parametrize(
    ("state", "blocker_state", "dispatchable"),
    [
        ("Todo", "In Progress", False),
        ("Todo", "Backlog", False),
        ("Todo", "Done", True),
        ("Todo", "cancelled", True),
        ("In Progress", "Todo", True),  # already running: blockers no longer gate it
        ("Rework", "Todo", True),
    ],
)
async def test_blockers_gate_todo_issues(
    adapter: LocalAdapter,
    store: BoardStore,
    add: Callable[..., str],
    state: str,
    blocker_state: str,
    dispatchable: bool,
) -> None:
    blocker = add("blocker")
    raw_sql(
        store.settings.db_path,
        "UPDATE issues SET state = ? WHERE identifier = ?",
        (blocker_state, blocker),
    )
    ref = add("blocked", state=state, blocked_by=(blocker,))
    [issue] = await adapter.fetch_issues_by_ids([store.get(ref).id])
    assert issue.dispatchable is dispatchable


async def test_assignee_filter_makes_other_issues_not_dispatchable(
    settings: BoardSettings, add: Callable[..., str]
) -> None:
    add("mine", assignee_id="me")
    add("theirs", assignee_id="them")
    add("nobody's")
    local = LocalAdapter(replace(settings, assignee="me"))
    issues = {i.title: i.dispatchable for i in await local.fetch_issues_by_states(["Todo"])}
    assert issues == {"mine": True, "theirs": False, "nobody's": False}
    await local.aclose()


async def test_unusable_optional_values_become_null(
    adapter: LocalAdapter, store: BoardStore, add: Callable[..., str]
) -> None:
    ref = add("x", priority=2)
    raw_sql(
        store.settings.db_path,
        "UPDATE issues SET priority = 99, created_at = 'yesterday', updated_at = '',"
        " branch_name = '  ' WHERE identifier = ?",
        (ref,),
    )
    [issue] = await adapter.fetch_issues_by_states(["Todo"])
    assert issue.identifier == ref and issue.title == "x"
    assert (issue.priority, issue.created_at, issue.updated_at, issue.branch_name) == (
        None,
        None,
        None,
        None,
    )


async def test_malformed_rows_are_dropped_from_state_reads_but_fail_refresh(
    adapter: LocalAdapter,
    store: BoardStore,
    add: Callable[..., str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    good, bad = add("good"), add("bad")
    bad_id = store.get(bad).id
    raw_sql(store.settings.db_path, "UPDATE issues SET title = '  ' WHERE identifier = ?", (bad,))
    with caplog.at_level(logging.WARNING, logger="symphony.trackers.local"):
        issues = await adapter.fetch_issues_by_states(["Todo"])
    assert [i.identifier for i in issues] == [good]
    assert "dropping malformed local board issues" in caplog.text and "count=1" in caplog.text
    with pytest.raises(TrackerError) as info:
        await adapter.fetch_issues_by_ids([bad_id])
    assert info.value.category == TRACKER_RESPONSE
    assert "has no title" in info.value.message


async def test_storage_failures_map_to_tracker_request(
    tmp_path: Path,
) -> None:
    path = tmp_path / "garbage.sqlite"
    path.write_bytes(b"\x00garbage" * 512)
    local = LocalAdapter(BoardSettings(db_path=path))
    with pytest.raises(TrackerError) as info:
        await local.fetch_issues_by_states(["Todo"])
    assert info.value.category == TRACKER_REQUEST and str(path) in info.value.message
    with pytest.raises(TrackerError):
        await local.fetch_issues_by_ids(["x"])
    await local.aclose()


async def test_reads_run_off_the_event_loop(
    adapter: LocalAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    entered, release = threading.Event(), threading.Event()

    def slow_by_states(states: Any) -> list[Any]:
        entered.set()
        assert release.wait(5)
        return []

    monkeypatch.setattr(adapter.store, "by_states", slow_by_states)
    fetch = asyncio.create_task(adapter.fetch_issues_by_states(["Todo"]))
    # The loop keeps serving other work while the read is stuck in its thread.
    await wait_until(entered.is_set, "the read to enter its thread")
    for _ in range(3):
        await asyncio.sleep(0)
    assert not fetch.done()
    release.set()
    assert await asyncio.wait_for(fetch, 5) == []


async def test_first_read_records_the_board_settings(
    settings: BoardSettings, add: Callable[..., str]
) -> None:
    custom = replace(settings, prefix="WEB")
    local = LocalAdapter(custom)
    await local.fetch_issues_by_states(["Todo"])
    assert local.store.stored_settings() == custom.to_meta()
    await local.aclose()


def test_tool_specs_are_well_formed(adapter: LocalAdapter) -> None:
    specs = adapter.agent_tool_specs()
    names = [s.name for s in specs]
    assert names == [
        "board_get_issue",
        "board_move_issue",
        "board_upsert_workpad",
        "board_add_comment",
        "board_create_issue",
    ]
    for spec in specs:
        schema = spec.input_schema
        assert schema["type"] == "object" and schema["additionalProperties"] is False
        assert set(schema.get("required", [])) <= set(schema["properties"])
        assert dynamic_tool(spec)["inputSchema"] == dict(schema)
    move = specs[1].input_schema["properties"]["state"]
    assert move["enum"] == list(adapter.settings.states)
    create_state = specs[4].input_schema["properties"]["state"]["enum"]
    assert "Todo" not in create_state and "Backlog" in create_state


async def test_symphony_comments_on_a_board_issue(
    adapter: LocalAdapter, store: BoardStore, add: Callable[..., str]
) -> None:
    issue = store.get(add())
    assert isinstance(adapter, IssueComments)
    await adapter.post_comment(issue.id, issue.identifier, "The agent waits for you.")
    (comment,) = store.detail(issue.identifier).comments
    assert (comment.author, comment.body) == ("symphony", "The agent waits for you.")


async def test_symphony_moves_are_in_the_issue_history(
    adapter: LocalAdapter, store: BoardStore, add: Callable[..., str]
) -> None:
    issue = store.get(add())
    assert isinstance(adapter, IssueWrites)
    assert await adapter.move_issue(issue.id, issue.identifier, "human review") == "Human Review"
    last = store.detail(issue.identifier).history[-1]
    assert (last.from_state, last.to_state, last.actor) == (issue.state, "Human Review", "symphony")


async def test_own_comment_leaves_the_workpad_and_other_comments_alone(
    adapter: LocalAdapter, store: BoardStore, add: Callable[..., str]
) -> None:
    issue = store.get(add())
    store.upsert_workpad(issue.identifier, "agent notes", author="agent")
    await adapter.upsert_own_comment(issue.id, issue.identifier, "proof", "one")
    await adapter.upsert_own_comment(issue.id, issue.identifier, "proof", "two")
    workpad, proof = store.detail(issue.identifier).comments
    assert (workpad.is_workpad, workpad.body) == (True, "agent notes")
    assert (proof.is_workpad, proof.author, proof.body) == (
        False,
        "symphony",
        "<!-- symphony:proof -->\ntwo",
    )


async def test_prompt_comments_are_the_newest_fifty(
    adapter: LocalAdapter, store: BoardStore, add: Callable[..., str]
) -> None:
    issue = store.get(add())
    for n in range(MAX_PROMPT_COMMENTS + 3):
        store.comment(issue.identifier, f"note {n}", author="alice")
    comments = await adapter.fetch_issue_comments(issue.id, issue.identifier)
    assert [c.body for c in comments] == [f"note {n}" for n in range(3, MAX_PROMPT_COMMENTS + 3)]
    assert {c.author for c in comments} == {"alice"}


async def test_a_board_issue_deleted_under_a_write_is_not_found(
    adapter: LocalAdapter, store: BoardStore, add: Callable[..., str]
) -> None:
    issue = store.get(add())
    store.delete(issue.identifier)
    with pytest.raises(TrackerError) as info:
        await adapter.post_comment(issue.id, issue.identifier, "hello?")
    assert info.value.code == TRACKER_ISSUE_NOT_FOUND
    assert issue.identifier in info.value.message
