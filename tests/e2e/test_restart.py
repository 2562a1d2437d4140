"""End to end: the real service killed (SIGKILL) or stopped (SIGTERM) and started again.

The service runs on the local board (its own SQLite, which outlives the service) with the fake
app-server as its agent (``tests/orchestrator/fake_app_server.py``: it logs every message it
receives and holds a writer lock per thread the way codex does). What a restart must keep
(docs/storage.md): a retry fires at its original due time with its attempt, the totals go on,
and a run the restart cut short continues its thread in a new agent once the old agent is dead.
"""

from __future__ import annotations

import json
import shlex
import signal
import sqlite3
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import (
    Project,
    is_idle,
    local_front_matter,
    process_start_time,
    retry_row,
    running_row,
)
from tests.support.waiting import wait_until_sync

FAKE = Path(__file__).resolve().parents[1] / "orchestrator" / "fake_app_server.py"
# The first failure's backoff: long enough to kill and restart the service inside it.
BACKOFF_MS = 9_000
STORE = Path(".symphony") / "state.sqlite"


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    # No model: the agent is the fake app-server.
    proj = Project(tmp_path / "project", model_base_url="http://127.0.0.1:9/v1")
    try:
        yield proj
    finally:
        proj.close()


def agent_command(tmp_path: Path, *flags: str) -> str:
    locks = tmp_path / "locks"
    locks.mkdir(exist_ok=True)
    argv = [sys.executable, "-S", str(FAKE), "--log", str(tmp_path / "agent.jsonl")]
    return shlex.join(["exec", *argv, "--locks", str(locks), *flags])


def received(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "agent.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def stored(project: Project, query: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Read the service's state store as another program would (WAL allows it while it runs)."""
    path = project.root / STORE
    if not path.exists():
        return []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return db.execute(query, args).fetchall()
    except sqlite3.OperationalError:
        return []  # not migrated yet
    finally:
        db.close()


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["sigkill", "sigterm"])
def test_a_run_cut_short_by_a_restart_resumes_its_thread_in_a_new_agent(
    project: Project, tmp_path: Path, sig: signal.Signals
) -> None:
    project.write_workflow(
        local_front_matter(
            codex={
                "command": agent_command(
                    tmp_path, "--turn-seconds", "600", "--rate", "20", "--linger"
                )
            }
        ),
        "Work on {{ issue.identifier }}",
    )
    project.board("add", "A long task")
    service = project.start()
    busy = service.wait_until(
        lambda s: (row := running_row(s, "SYM-1")) and row["thread_id"] and row["pid"],
        30,
        what="the agent to start its turn",
    )
    row = running_row(busy, "SYM-1")
    assert row is not None
    thread_id, old_pid = row["thread_id"], int(row["pid"])
    old_started = process_start_time(old_pid)
    assert old_started is not None
    wait_until_sync(
        lambda: stored(project, "SELECT thread_id, pgid FROM runs") == [(thread_id, old_pid)],
        "the store to know the agent's thread and process group",
        timeout=10,
    )
    tokens_before = busy["codex_totals"]["total_tokens"]
    # Totals reach the store every few seconds (docs/storage.md): a SIGKILL before that loses
    # the latest growth by design, so wait until what this test compares with is stored.
    wait_until_sync(
        lambda: stored(
            project, "SELECT total_tokens FROM totals WHERE total_tokens >= ?", (tokens_before,)
        ),
        "the store to hold the totals",
        timeout=15,
    )

    service.stop(sig)
    if sig is signal.SIGKILL:
        # A killed service cannot stop its agent: the restart must.
        assert process_start_time(old_pid) == old_started
    else:
        assert process_start_time(old_pid) != old_started

    again = project.start()
    resumed = again.wait_until(
        lambda s: (r := running_row(s, "SYM-1")) and r["pid"] and int(r["pid"]) != old_pid,
        30,
        what="the cut-short run to be dispatched again",
    )
    assert process_start_time(old_pid) != old_started, "the old agent outlived the restart"
    new_row = running_row(resumed, "SYM-1")
    assert new_row is not None and new_row["attempt"] is None  # the same (first) attempt
    new_pid = int(new_row["pid"])

    def thread_requests() -> list[dict[str, Any]]:
        return [
            m
            for m in received(tmp_path)
            if m["pid"] == new_pid and m.get("method") in ("thread/start", "thread/resume")
        ]

    asked = wait_until_sync(thread_requests, "the new agent to open a thread", timeout=20)
    assert [(m["method"], m["params"]["threadId"]) for m in asked] == [("thread/resume", thread_id)]
    continued = again.wait_until(
        lambda s: (
            (r := running_row(s, "SYM-1")) and r["thread_id"] == thread_id and r["turn_count"]
        ),
        20,
        what="the resumed thread's turn",
    )
    # Totals continue from before the restart.
    assert continued["codex_totals"]["total_tokens"] >= tokens_before
    # The thread has the task already: the resumed run carries on instead of starting over.
    [turn] = [
        m for m in received(tmp_path) if m["pid"] == new_pid and m.get("method") == "turn/start"
    ]
    text = turn["params"]["input"][0]["text"]
    assert "Continuation guidance" in text and "Work on SYM-1" not in text

    detail = again.issue("SYM-1")
    assert detail is not None and detail["status"] == "running"
    [cut] = detail["history"]
    assert cut["outcome"] == "interrupted" and cut["error"]
    assert cut["thread_id"] == thread_id and cut["attempt"] is None
    assert set(cut) >= {"attempt", "started_at", "ended_at", "outcome", "error", "thread_id"}
    assert set(cut) >= {"turns", "tokens"}
    code, output = again.stop()
    assert code == 0, output


def test_a_retry_pending_at_sigkill_fires_at_its_original_time_with_its_attempt(
    project: Project, tmp_path: Path
) -> None:
    stamps = tmp_path / "before_run.log"
    project.write_workflow(
        local_front_matter(
            codex={
                "command": agent_command(
                    tmp_path, "--fail", "--turn-seconds", "0.3", "--rate", "20"
                )
            },
            agent={"max_retry_backoff_ms": BACKOFF_MS},
            hooks={"before_run": f'echo "$(date +%s.%N) $SYMPHONY_ATTEMPT" >> {stamps}'},
        ),
        "Work on {{ issue.identifier }}",
    )
    project.board("add", "A flaky task")
    service = project.start()
    failed = service.wait_until(
        lambda s: retry_row(s, "SYM-1"), 30, what="the first failure's retry"
    )
    first = retry_row(failed, "SYM-1")
    assert first is not None and first["attempt"] == 1 and first["kind"] == "failure"
    due = parse_time(first["due_at"])
    wait_until_sync(
        lambda: (
            stored(project, "SELECT attempt FROM retries") == [(1,)]
            and stored(project, "SELECT total_tokens FROM totals WHERE total_tokens > 0")
        ),
        "the store to hold the retry and the totals",
        timeout=10,
    )
    totals = service.state()["codex_totals"]
    assert totals["total_tokens"] > 0
    assert (due - datetime.now(due.tzinfo)).total_seconds() > 4, "too late to test a restart"

    service.stop(signal.SIGKILL)
    again = project.start()
    waiting = again.state()
    row = retry_row(waiting, "SYM-1")
    assert row is not None, "the retry was lost or fired at once"
    assert row["attempt"] == 1 and row["kind"] == "failure"
    assert abs((parse_time(row["due_at"]) - due).total_seconds()) < 0.01
    assert waiting["codex_totals"]["total_tokens"] == totals["total_tokens"]
    assert waiting["codex_totals"]["seconds_running"] >= totals["seconds_running"]
    # Known from the store: the failed run is in the issue's history.
    detail = again.issue("SYM-1")
    assert detail is not None and detail["status"] == "retrying"
    [run] = detail["history"]
    assert run["outcome"] == "failed" and run["error"] and run["attempt"] is None

    def second_start() -> str | None:
        lines = stamps.read_text().splitlines() if stamps.exists() else []
        return lines[1] if len(lines) > 1 else None

    line = wait_until_sync(second_start, "the retry's before_run", timeout=BACKOFF_MS / 1000 + 10)
    started_at, attempt = line.split()
    assert attempt == "1"
    assert abs(float(started_at) - due.timestamp()) <= 1.0, (started_at, due.timestamp())

    # The next failure backs off from attempt 1: it is attempt 2.
    later = again.wait_until(
        lambda s: (r := retry_row(s, "SYM-1")) and r["attempt"] == 2,
        20,
        what="the second failure's retry",
    )
    assert later["codex_totals"]["total_tokens"] > totals["total_tokens"]

    # Handed to a human meanwhile: the retry lets go of it, and after another restart the
    # issue is known from its history only.
    project.board("move", "SYM-1", "Human Review")
    again.wait_until(is_idle, BACKOFF_MS / 1000 + 10, what="the retry to let go")
    code, output = again.stop()
    assert code == 0, output
    with project.start() as third:
        detail = third.issue("SYM-1")
        assert detail is not None and detail["status"] == "idle", detail
        assert [(h["attempt"], h["outcome"]) for h in detail["history"]] == [
            (None, "failed"),
            (1, "failed"),
        ]
        assert all(h["error"] and h["ended_at"] >= h["started_at"] for h in detail["history"])
        final = third.state()["codex_totals"]["total_tokens"]
        assert final == later["codex_totals"]["total_tokens"]
        code, output = third.stop()
    assert code == 0, output
