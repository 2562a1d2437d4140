"""GitHub rate-limit points: what polling a board costs an hour (issue #17).

The GitHub adapter reads the schema-checked fake GitHub of the tests
(``tests/support/fake_github.py``), which prices every query the way GitHub's GraphQL API does
(its published rules: one point per 100 nodes a query may return, at least one). One poll is
what the orchestrator asks per tick: the candidates (the active states), and for the running
issues a read by id; the startup clean-up (the terminal states) is counted once. The figures
are extrapolated to one poll every ``--interval`` seconds.

Target (issue #17): under 600 points an hour for a 100-item board at a 30 s interval (a failing
port spent 5,280 on a 90-item board). Prints figures; not pass/fail.

Run: ``.venv/bin/python bench/github_points.py [--items 100] [--running 10] [--interval 30]``
(``--items 300`` shows how the cost grows with the board: one page of 100 items a poll).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.fake_github import FakeGitHub  # noqa: E402

from symphony.trackers.github import PROFILE  # noqa: E402
from symphony.workflow.config import TrackerConfig  # noqa: E402

TOKEN_VAR = "BENCH_GITHUB_TOKEN"
ACTIVE = ["Todo", "In Progress"]
TERMINAL = ["Done", "Closed"]


def seed(github: FakeGitHub, items: int) -> list[str]:
    """A board of ``items`` issues across the columns (some done, some closed; a third with
    labels, most assigned); returns the ids of the open ones, in progress first."""
    board = github.add_project(
        "acme",
        1,
        statuses=("Backlog", "Todo", "In Progress", "Human Review", "Done"),
        priority=["P0", "P1", "P2"],
    )
    columns = ("In Progress", "Todo", "Backlog", "Human Review", "Done")
    ids: list[str] = []
    for n in range(items):
        labels = [f"area-{n % 7}", "bug"] if n % 3 == 0 else []
        state = columns[n % len(columns)]
        issue = github.add_issue(
            f"Issue {n}", labels=labels, assignees=["ana"] if n % 5 else [], closed=state == "Done"
        )
        github.add_item(board, issue, status=state, priority=("P0", "P1", "P2")[n % 3])
        if state != "Done":
            ids.append(issue.id)
    return ids


async def measure(items: int, running: int, interval_s: float) -> None:
    with FakeGitHub() as github, tempfile.TemporaryDirectory() as tmp:
        ids = seed(github, items)
        config = TrackerConfig(
            kind="github",
            provider={
                "endpoint": github.url,
                "repository": github.repo.name_with_owner,
                "api_key": f"${TOKEN_VAR}",
                "project_owner": "acme",
                "project_number": 1,
                "priority_field": "Priority",
            },
            active_states=ACTIVE,
            terminal_states=TERMINAL,
        )
        adapter = PROFILE.create(
            config, workflow_dir=Path(tmp), environ={TOKEN_VAR: github.token or ""}
        )
        try:
            start = github.points_spent()
            await adapter.fetch_issues_by_states(TERMINAL)  # the startup clean-up, once
            startup = github.points_spent() - start
            await adapter.fetch_issues_by_states(
                ACTIVE
            )  # the first poll also reads the board's fields
            first = github.points_spent() - start - startup
            polls = 5
            before = github.points_spent()
            for _ in range(polls):
                await adapter.fetch_issues_by_states(ACTIVE)
            per_poll = (github.points_spent() - before) / polls
            before = github.points_spent()
            for _ in range(polls):
                await adapter.fetch_issues_by_ids(ids[:running])
            per_reconcile = (github.points_spent() - before) / polls
        finally:
            await adapter.aclose()
    per_hour = 3600 / interval_s
    idle = per_poll * per_hour
    busy = (per_poll + per_reconcile) * per_hour
    print(f"github points, a board of {items} items, one poll every {interval_s:g} s")
    print(f"  startup clean-up (terminal states, once)    {startup:8.0f} points")
    print(f"  first poll (reads the board's fields too)   {first:8.0f} points")
    print(f"  one poll (candidates)                       {per_poll:8.1f} points")
    print(f"  reconcile {running} running issues by id         {per_reconcile:8.1f} points")
    print(f"  per hour, no agent running                  {idle:8.0f} points   (target < 600)")
    print(f"  per hour, {running} agents running               {busy:8.0f} points   (target < 600)")
    print(f"  share of the 5,000-point hourly budget      {100 * busy / 5000:8.1f} %")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--running", type=int, default=10)
    parser.add_argument("--interval", type=float, default=30.0)
    args = parser.parse_args()
    asyncio.run(measure(args.items, args.running, args.interval))


if __name__ == "__main__":
    main()
