"""The board's storage: schema versioning, numbering, labels, blockers, workpad, history."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from symphony.trackers.base import TRACKER_REQUEST, TrackerError
from symphony.trackers.local import BoardSettings, BoardStore
from symphony.trackers.local.db import BoardDatabase
from symphony.trackers.local.errors import (
    BoardUnavailable,
    InvalidInput,
    InvalidState,
    IssueNotFound,
)
from symphony.trackers.local.records import NewIssue
from symphony.trackers.local.schema import SCHEMA_VERSION


def pragma(path: Path, name: str) -> object:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        conn.close()


def test_new_board_is_created_in_wal_mode_at_the_current_schema(
    store: BoardStore, settings: BoardSettings, add: Callable[..., str]
) -> None:
    assert not settings.db_path.exists()
    add()
    assert pragma(settings.db_path, "user_version") == SCHEMA_VERSION
    assert pragma(settings.db_path, "journal_mode") == "wal"


def test_board_from_a_newer_symphony_is_refused(settings: BoardSettings) -> None:
    settings.db_path.parent.mkdir(parents=True)
    conn = sqlite3.connect(settings.db_path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    board = BoardStore(settings)
    with pytest.raises(BoardUnavailable) as info:
        board.list_issues(include_terminal=True)
    assert info.value.code == TRACKER_REQUEST
    assert f"schema version {SCHEMA_VERSION + 1}" in info.value.message
    assert str(settings.db_path) in info.value.message


def test_a_file_that_is_not_a_database_is_a_tracker_error(settings: BoardSettings) -> None:
    settings.db_path.parent.mkdir(parents=True)
    settings.db_path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(TrackerError) as info:
        BoardStore(settings).get("SYM-1")
    assert info.value.category == TRACKER_REQUEST
    assert "not a database" in info.value.message


def test_a_directory_in_place_of_the_file_is_explained(settings: BoardSettings) -> None:
    settings.db_path.mkdir(parents=True)
    with pytest.raises(BoardUnavailable, match="is a directory"):
        BoardStore(settings).get("SYM-1")


def test_two_stores_migrate_the_same_new_file_once(settings: BoardSettings) -> None:
    first, second = BoardStore(settings), BoardStore(settings)
    a = first.create(NewIssue(title="a"), actor="t")
    b = second.create(NewIssue(title="b"), actor="t")
    assert (a.identifier, b.identifier) == ("SYM-1", "SYM-2")
    first.close()
    second.close()


def test_identifiers_are_never_reused_and_follow_the_prefix(
    store: BoardStore, settings: BoardSettings, add: Callable[..., str]
) -> None:
    assert [add(), add(), add()] == ["SYM-1", "SYM-2", "SYM-3"]
    store.delete("SYM-3")
    assert add() == "SYM-4"
    renamed = BoardStore(replace(settings, prefix="WEB"), db=store.db)
    assert renamed.create(NewIssue(title="x"), actor="t").identifier == "WEB-5"
    # Old identifiers keep working after a prefix change; numbers work for both.
    assert renamed.get("sym-1").number == 1
    assert renamed.get("#5").identifier == "WEB-5"
    assert renamed.get("4").identifier == "SYM-4"


def test_lookup_by_identifier_number_or_id(store: BoardStore, add: Callable[..., str]) -> None:
    record = store.get(add())
    assert store.get(record.id) == record
    assert store.get(" sym-1 ") == record
    assert store.get("1") == record
    with pytest.raises(IssueNotFound) as info:
        store.get("SYM-99")
    assert "SYM-99" in info.value.message and info.value.code == "issue_not_found"
    with pytest.raises(IssueNotFound):
        store.get("")


def test_create_fills_every_field(store: BoardStore, add: Callable[..., str]) -> None:
    blocker = add("First")
    record = store.create(
        NewIssue(
            title="  Fix   the login   bug ",
            description="Steps:\n1. open",
            priority=2,
            state="in progress",
            labels=("Bug", " bug", "UI", ""),
            assignee_id=" alice ",
            blocked_by=(blocker,),
        ),
        actor="tester",
    )
    assert record.title == "Fix the login bug"
    assert record.state == "In Progress"  # the board's spelling
    assert record.priority == 2
    assert record.labels == ("bug", "ui")
    assert record.assignee_id == "alice"
    assert record.branch_name == "sym-2-fix-the-login-bug"
    assert record.created_by == "tester"
    assert [b.identifier for b in record.blocked_by] == ["SYM-1"]
    assert record.created_at is not None and record.created_at == record.updated_at
    history = store.detail(record.identifier).history
    assert [(h.from_state, h.to_state, h.actor) for h in history] == [
        (None, "In Progress", "tester")
    ]


@pytest.mark.parametrize(
    ("new", "error", "fragment"),
    [
        (NewIssue(title="  "), InvalidInput, "title must not be empty"),
        (NewIssue(title="x" * 501), InvalidInput, "keep it under 500"),
        (NewIssue(title="x", priority=7), InvalidInput, "priority must be"),
        (NewIssue(title="x", priority=True), InvalidInput, "priority must be"),
        (NewIssue(title="x", state="Doing"), InvalidState, "valid states: Backlog, Todo"),
        (NewIssue(title="x", blocked_by=("SYM-9",)), IssueNotFound, "SYM-9"),
    ],
)
def test_create_rejects_bad_input_without_writing(
    store: BoardStore, new: NewIssue, error: type[Exception], fragment: str
) -> None:
    with pytest.raises(error) as info:
        store.create(new, actor="t")
    assert fragment in str(info.value)
    assert store.list_issues(include_terminal=True) == []


def test_move_records_history_and_is_idempotent(store: BoardStore, add: Callable[..., str]) -> None:
    ref = add()
    before = store.get(ref)
    moved, previous = store.move(ref, " human review ", actor="alice")
    assert (previous, moved.state) == ("Todo", "Human Review")
    assert moved.updated_at is not None and before.updated_at is not None
    assert moved.updated_at >= before.updated_at
    again, previous = store.move(ref, "Human Review", actor="alice")
    assert previous == again.state == "Human Review"
    assert [h.to_state for h in store.detail(ref).history] == ["Todo", "Human Review"]
    with pytest.raises(InvalidState) as info:
        store.move(ref, "Shipped", actor="alice")
    assert info.value.valid[0] == "Backlog" and "Shipped" in info.value.message


def test_labels_add_remove_keep_order(store: BoardStore, add: Callable[..., str]) -> None:
    ref = add(labels=("b",))
    assert store.relabel(ref, add=["A", "c", "a"], remove=[]).labels == ("b", "a", "c")
    assert store.relabel(ref, add=["d"], remove=["B", "zz"]).labels == ("a", "c", "d")
    with pytest.raises(InvalidInput):
        store.relabel(ref, add=[" "], remove=[])


def test_blockers_reject_self_and_cycles(store: BoardStore, add: Callable[..., str]) -> None:
    a, b, c = add("a"), add("b"), add("c")
    store.block(b, by=[a])
    store.block(c, by=[b])
    with pytest.raises(InvalidInput, match="cycle"):
        store.block(a, by=[c])
    with pytest.raises(InvalidInput, match="cannot block itself"):
        store.block(a, by=[a])
    store.block(c, by=[a, a])  # repeated blocker is one relation
    assert [x.identifier for x in store.get(c).blocked_by] == [a, b]
    assert [x.identifier for x in store.detail(a).blocks] == [b, c]
    store.unblock(c, by=[b])
    with pytest.raises(InvalidInput, match="is not blocked by"):
        store.unblock(c, by=[b])
    # Deleting a blocker removes the relation; the blocked issue stays.
    store.delete(a)
    assert store.get(c).blocked_by == ()


def test_one_workpad_per_issue_replaced_in_place(
    store: BoardStore, add: Callable[..., str]
) -> None:
    ref = add()
    store.comment(ref, "human note", author="alice")
    first, created = store.upsert_workpad(ref, "## Codex Workpad\nv1", author="agent")
    second, created_again = store.upsert_workpad(ref, "## Codex Workpad\nv2", author="agent")
    assert created and not created_again
    assert first.id == second.id and second.body.endswith("v2")
    comments = store.detail(ref).comments
    assert [(c.kind, c.body.splitlines()[-1]) for c in comments] == [
        ("comment", "human note"),
        ("workpad", "v2"),
    ]
    with pytest.raises(InvalidInput, match="must not be empty"):
        store.comment(ref, "  \n", author="alice")


def test_edit_changes_only_named_fields(store: BoardStore, add: Callable[..., str]) -> None:
    ref = add("Old", description="keep", priority=3)
    record = store.edit(ref, {"title": "New", "priority": 0, "assignee_id": "bob"})
    assert (record.title, record.priority, record.assignee_id) == ("New", None, "bob")
    assert record.description == "keep"
    cleared = store.edit(ref, {"description": "", "assignee_id": ""})
    assert cleared.description is None and cleared.assignee_id is None
    for bad in ({}, {"state": "Done"}, {"title": ""}):
        with pytest.raises(InvalidInput):
            store.edit(ref, bad)


def test_delete_removes_comments_and_history(store: BoardStore, add: Callable[..., str]) -> None:
    ref = add()
    store.comment(ref, "x", author="a")
    deleted = store.delete(ref)
    conn = sqlite3.connect(store.settings.db_path)
    try:
        for table in ("comments", "state_changes", "issue_labels"):
            count = conn.execute(
                f"SELECT count(*) FROM {table} WHERE issue_id = ?",  # noqa: S608
                (deleted.id,),
            ).fetchone()[0]
            assert count == 0, table
    finally:
        conn.close()
    with pytest.raises(IssueNotFound):
        store.get(ref)


def test_list_orders_by_board_state_then_priority(
    store: BoardStore, add: Callable[..., str]
) -> None:
    add("done", state="Done")
    add("todo low", priority=4)
    add("backlog", state="Backlog")
    add("todo urgent", priority=1)
    add("todo none")
    titles = [r.title for r in store.list_issues(include_terminal=False)]
    assert titles == ["backlog", "todo urgent", "todo low", "todo none"]
    assert [r.title for r in store.list_issues(states=["done"], include_terminal=False)] == ["done"]
    assert len(store.list_issues(include_terminal=True)) == 5


def test_settings_are_remembered_for_db_only_use(settings: BoardSettings) -> None:
    custom = replace(
        settings,
        prefix="ABC",
        states=("Open", "Closed"),
        default_state="Open",
        active_states=("Open",),
        terminal_states=("Closed",),
    )
    board = BoardStore(custom)
    board.remember_settings()
    assert board.stored_settings() == custom.to_meta()
    board.close()


def test_busy_database_is_retried_until_the_lock_is_released(settings: BoardSettings) -> None:
    """A writer holding the lock past busy_timeout makes us retry, not crash."""
    BoardStore(settings).create(NewIssue(title="seed"), actor="t")
    holder = sqlite3.connect(settings.db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    db = BoardDatabase(settings.db_path, busy_timeout_s=0.05, retry_deadline_s=10)
    board = BoardStore(settings, db=db)
    result: list[str] = []
    worker = threading.Thread(
        target=lambda: result.append(board.create(NewIssue(title="x"), actor="t").identifier)
    )
    worker.start()
    deadline = time.monotonic() + 5
    while db.busy_retries == 0 and time.monotonic() < deadline:
        worker.join(0.01)
    assert db.busy_retries > 0
    holder.execute("COMMIT")
    holder.close()
    worker.join(10)
    assert result == ["SYM-2"]


def test_busy_past_the_deadline_is_a_retryable_tracker_error(settings: BoardSettings) -> None:
    BoardStore(settings).create(NewIssue(title="seed"), actor="t")
    holder = sqlite3.connect(settings.db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        db = BoardDatabase(settings.db_path, busy_timeout_s=0.02, retry_deadline_s=0.2)
        with pytest.raises(BoardUnavailable) as info:
            BoardStore(settings, db=db).create(NewIssue(title="x"), actor="t")
        assert info.value.retryable
        assert "stayed busy" in info.value.message
    finally:
        holder.execute("ROLLBACK")
        holder.close()
