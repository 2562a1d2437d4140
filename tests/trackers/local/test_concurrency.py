"""CLI writers in threads and separate processes while the service's adapter polls.

Nothing may be lost (every add, comment and label lands exactly once) and nobody may crash with
"database is locked": the board is one SQLite file shared by the service and `symphony board`.
"""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from symphony.trackers.local import BoardStore, LocalAdapter
from symphony.trackers.local.cli import board_main
from symphony.trackers.local.locate import settings_for_workflow

THREADS = 4
PROCESSES = 2
ROUNDS = 12
ACTIVE = ["Todo", "In Progress", "Merging", "Rework"]

WRITER = """
import io, sys
from symphony.trackers.local.cli import board_main
workflow, tag, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
failures = 0
for i in range(rounds):
    for argv in (
        ["add", f"{tag}-{i}"],
        ["comment", "SYM-1", f"{tag}-c{i}"],
        ["label", "SYM-1", "--add", f"{tag}l{i}"],
    ):
        err = io.StringIO()
        if board_main([*argv, "--workflow", workflow], stdout=io.StringIO(), stderr=err) != 0:
            failures += 1
            sys.stderr.write(err.getvalue())
sys.exit(1 if failures else 0)
"""


def thread_writer(workflow: Path, tag: str, errors: list[str]) -> None:
    def cli(*argv: str) -> str:
        out, err = io.StringIO(), io.StringIO()
        code = board_main([*argv, "--workflow", str(workflow)], stdout=out, stderr=err)
        if code != 0:
            errors.append(f"{argv}: {err.getvalue()}")
        return out.getvalue()

    for i in range(ROUNDS):
        created = cli("add", f"{tag}-{i}", "--json")
        cli("comment", "SYM-1", f"{tag}-c{i}")
        cli("label", "SYM-1", "--add", f"{tag}l{i}")
        if '"identifier"' in created:
            identifier = created.split('"identifier": "')[1].split('"')[0]
            cli("move", identifier, "In Progress")
            cli("move", identifier, "Human Review")


async def test_cli_writers_and_a_polling_service_lose_nothing(
    tmp_path: Path, local_workflow: Callable[..., Path]
) -> None:
    workflow = local_workflow()
    assert board_main(["add", "shared", "--workflow", str(workflow)], stdout=io.StringIO()) == 0
    settings = settings_for_workflow(workflow)
    adapter = LocalAdapter(settings)
    errors: list[str] = []
    threads = [
        threading.Thread(target=thread_writer, args=(workflow, f"t{n}", errors))
        for n in range(THREADS)
    ]
    logs = [tmp_path / f"writer{n}.log" for n in range(PROCESSES)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(workflow), f"p{n}", str(ROUNDS)],
            stdout=subprocess.DEVNULL,
            stderr=logs[n].open("w"),
        )
        for n in range(PROCESSES)
    ]
    for thread in threads:
        thread.start()

    polls = 0
    seen_ids: set[str] = set()
    deadline = time.monotonic() + 90
    try:
        while any(t.is_alive() for t in threads) or any(p.poll() is None for p in processes):
            assert time.monotonic() < deadline, "writers did not finish in time"
            issues = await adapter.fetch_issues_by_states(ACTIVE)
            seen_ids.update(i.id for i in issues)
            refreshed = await adapter.fetch_issues_by_ids(sorted(seen_ids))
            assert {i.id for i in refreshed} == seen_ids  # nothing is deleted here
            polls += 1
            await asyncio.sleep(0)
    finally:
        for thread in threads:
            thread.join(30)
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        await adapter.aclose()

    assert errors == []
    for process, log in zip(processes, logs, strict=True):
        assert process.returncode == 0, log.read_text()
    assert polls >= 3

    store = BoardStore(settings)
    try:
        records = store.list_issues(include_terminal=True)
        tags = [f"t{n}" for n in range(THREADS)] + [f"p{n}" for n in range(PROCESSES)]
        expected_titles = {"shared"} | {f"{tag}-{i}" for tag in tags for i in range(ROUNDS)}
        assert sorted(r.title for r in records) == sorted(expected_titles)
        numbers = sorted(r.number for r in records)
        assert numbers == list(range(1, len(expected_titles) + 1))
        shared = store.detail("SYM-1")
        bodies = sorted(c.body for c in shared.comments)
        assert bodies == sorted(f"{tag}-c{i}" for tag in tags for i in range(ROUNDS))
        assert set(shared.issue.labels) == {f"{tag}l{i}" for tag in tags for i in range(ROUNDS)}
        for record in records:
            if record.title.startswith("t"):
                assert record.state == "Human Review"
                history = [h.to_state for h in store.detail(record.id).history]
                assert history == ["Todo", "In Progress", "Human Review"]
    finally:
        store.close()
