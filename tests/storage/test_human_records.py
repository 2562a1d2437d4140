"""Human requests and steers in the store: kept through their statuses, read back at the next
start (the newest ones, oldest first), and a secret answer never written (real SQLite)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from symphony.human import (
    HIDDEN_ANSWER,
    HumanAnswer,
    HumanRequest,
    Question,
    RequestRecord,
    SteerRecord,
)
from symphony.storage import StateStore
from symphony.storage import store as store_module
from symphony.storage.human import RequestSaved, SteerSaved

T0 = datetime(2026, 3, 1, 12, 0, 0, 250_000, tzinfo=UTC)
QUESTION = HumanRequest(
    kind="question",
    summary="two questions",
    questions=(
        Question(id="db", question="Which database?", header="DB", options=("pg", "sqlite")),
        Question(id="pw", question="The staging password?", secret=True),
    ),
)
APPROVAL = HumanRequest(
    kind="file_change_approval",
    summary="edit README.md",
    cwd="/ws/MT-1",
    reason="docs",
    diff="--- a/README.md\n+++ b/README.md\n@@ -1 +1 @@\n-old\n+new ✓\n",
)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state.sqlite"


@pytest.fixture
def store(path: Path) -> Iterator[StateStore]:
    opened = StateStore.open(path)
    opened.start()
    try:
        yield opened
    finally:
        opened.close()


def record(request_id: str, request: HumanRequest, at: datetime = T0) -> RequestRecord:
    return RequestRecord(
        id=request_id,
        issue_id="id-1",
        issue_identifier="MT-1",
        run_id=7,
        attempt=2,
        request=request,
        created_at=at,
    )


def reopen(path: Path) -> tuple[tuple[RequestRecord, ...], tuple[SteerRecord, ...]]:
    again = StateStore.open(path)
    try:
        state = again.load()
    finally:
        again.close()
    return state.requests, state.steers


def test_a_request_is_kept_through_its_statuses_and_read_back_whole(
    path: Path, store: StateStore
) -> None:
    pending = record("r-1", APPROVAL)
    store.submit(RequestSaved(pending))
    answered = replace(
        pending,
        status="answered",
        answer=HumanAnswer(decision="approve_for_session"),
        answered_at=T0 + timedelta(seconds=30),
    )
    store.submit(RequestSaved(answered))
    store.close()

    (back,), steers = reopen(path)

    assert back == answered and steers == ()


def test_a_secret_answer_never_reaches_the_disk(path: Path, store: StateStore) -> None:
    answer = HumanAnswer(answers={"db": "pg", "pw": "hunter2-staging"})
    asked = record("r-2", QUESTION)
    store.submit(RequestSaved(replace(asked, status="answered", answer=answer, answered_at=T0)))
    store.close()

    (back,), _ = reopen(path)
    raw = b"".join(p.read_bytes() for p in path.parent.glob(f"{path.name}*"))

    assert back.answer == HumanAnswer(answers={"db": "pg", "pw": HIDDEN_ANSWER})
    assert back.request == QUESTION
    assert b"hunter2-staging" not in raw


def test_steers_come_back_oldest_first(path: Path, store: StateStore) -> None:
    for n in range(3):
        store.submit(
            SteerSaved(
                SteerRecord(
                    id=f"s-{n}",
                    issue_id="id-1",
                    issue_identifier="MT-1",
                    run_id=7,
                    message=f"hint {n}",
                    at=T0 + timedelta(seconds=10 - n),  # written newest first
                    delivery="running_turn" if n else "next_turn",
                )
            )
        )
    store.close()

    _, steers = reopen(path)

    assert [s.id for s in steers] == ["s-2", "s-1", "s-0"]
    assert steers[2].delivery == "next_turn" and steers[2].message == "hint 0"


def test_only_the_newest_requests_are_read_back(
    path: Path, store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(5):
        store.submit(RequestSaved(record(f"r-{n}", APPROVAL, T0 + timedelta(minutes=n))))
    store.close()
    monkeypatch.setattr(store_module, "HUMAN_RECORDS_LOADED", 3)

    requests, _ = reopen(path)

    assert [r.id for r in requests] == ["r-2", "r-3", "r-4"]


def test_a_store_of_the_first_version_gains_the_human_tables(path: Path) -> None:
    db = sqlite3.connect(path)
    try:
        db.executescript(f"BEGIN; {store_module.MIGRATIONS[0]}; PRAGMA user_version = 1; COMMIT;")
    finally:
        db.close()

    opened = StateStore.open(path)
    opened.start()
    opened.submit(RequestSaved(record("r-9", APPROVAL)))
    opened.close()

    (back,), _ = reopen(path)
    assert back.id == "r-9"


def test_requests_made_in_the_same_millisecond_come_back_in_the_order_they_were_made(
    path: Path, store: StateStore
) -> None:
    # "z" sorts after "a": the order must come from when they were made, not from the ids.
    first, second, third = (record(i, APPROVAL) for i in ("z-first", "a-second", "m-third"))
    for made in (first, second, third):
        store.submit(RequestSaved(made))
    store.submit(RequestSaved(replace(second, status="answered", answered_at=T0)))  # an update
    store.close()

    requests, _ = reopen(path)

    assert [(r.id, r.status) for r in requests] == [
        ("z-first", "pending"),
        ("a-second", "answered"),
        ("m-third", "pending"),
    ]
