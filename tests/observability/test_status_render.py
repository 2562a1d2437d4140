"""Terminal status frames, compared with committed snapshots (like the reference's fixtures).

Regenerate after an intended change with ``UPDATE_SNAPSHOTS=1 pytest tests/observability`` and
review the diff of ``tests/observability/snapshots/``.
"""

from __future__ import annotations

import io
import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console
from rich.text import Text

from symphony.observability.status_render import render_offline, render_status
from symphony.observability.status_summary import summary_line
from symphony.view import DayBudget, HeldRow, Problem, Snapshot, WorkerHost
from tests.observability.fakes import NOW, blocked_row, retry_row, running_row, snapshot

SNAPSHOTS = Path(__file__).parent / "snapshots"
WIDTH = 115
RESET_AT = int(NOW.timestamp())


def ansi(frame: Text, width: int) -> str:
    console = Console(
        width=width,
        file=io.StringIO(),
        record=True,
        force_terminal=True,
        color_system="standard",
        no_color=False,
        legacy_windows=False,
        _environ={},
    )
    console.print(frame)
    return console.export_text(styles=True).replace("\x1b", "\\e")


def check_snapshot(name: str, frame: Text, width: int = WIDTH) -> None:
    for suffix, text in ((".txt", frame.plain + "\n"), (".ansi.txt", ansi(frame, width))):
        path = SNAPSHOTS / f"{name}{suffix}"
        if os.environ.get("UPDATE_SNAPSHOTS") == "1":
            path.parent.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
            continue
        assert path.exists(), f"missing {path}; run with UPDATE_SNAPSHOTS=1 to create it"
        assert text == path.read_text(encoding="utf-8"), f"{path} differs (UPDATE_SNAPSHOTS=1)"
    for line in frame.plain.splitlines():
        assert len(line) <= width, line


def busy_state() -> Snapshot:
    return snapshot(
        running=[
            running_row(
                "MT-101",
                started_ago_s=785,
                turn_count=11,
                total_tokens=120_450,
                last_event="turn_completed",
                last_message="turn completed (completed) in 41.2s",
            ),
            running_row(
                "MT-102",
                started_ago_s=412,
                turn_count=4,
                total_tokens=89_200,
                last_event="notification",
                last_message="$ pytest -q tests/observability",
                pid="5252",
            ),
            running_row(
                "MT-117",
                started_ago_s=35,
                turn_count=0,
                total_tokens=0,
                last_event=None,
                last_message=None,
                pid="6001",
                state="Todo",
            ),
        ],
        totals=(250_000, 18_500, 268_500),
        seconds_running=4321.0,
        rate_limits={
            "limitId": "codex",
            "primary": {"usedPercent": 42, "windowDurationMins": 300, "resetsAt": RESET_AT + 3700},
            "secondary": {"usedPercent": 5, "windowDurationMins": 10080, "resetsAt": RESET_AT + 30},
            "credits": {"hasCredits": True, "unlimited": False, "balance": "9876.5"},
        },
    )


def test_idle() -> None:
    check_snapshot("idle", render_status(snapshot(next_poll_in_s=None), NOW))


def test_idle_with_dashboard_url_and_checking() -> None:
    frame = render_status(
        snapshot(checking=True), NOW, dashboard_url="http://127.0.0.1:4000/", tps=0.4
    )
    check_snapshot("idle_with_dashboard_url", frame)


def test_busy() -> None:
    check_snapshot("busy", render_status(busy_state(), NOW, tps=1842.4))


def test_backoff_queue() -> None:
    state = snapshot(
        running=[
            running_row(
                "MT-638",
                started_ago_s=1225,
                turn_count=7,
                total_tokens=14_200,
                last_event="notification",
                last_message="agent typing: waiting on the CI run to finish before merging",
                state="Rework",
            )
        ],
        retrying=[
            retry_row(
                "MT-452", attempt=6, due_in_s=8.1, error="worker crashed\nrestarting cleanly"
            ),
            retry_row("MT-450", attempt=4, due_in_s=1.25, error="rate limit exhausted"),
            retry_row("MT-451", attempt=2, due_in_s=3.9, error="retrying after API timeout"),
            retry_row("MT-460", attempt=1, due_in_s=0.999, error=None, kind="continuation"),
            retry_row(
                "MT-453",
                attempt=1,
                due_in_s=185,
                error="a very long error " + "that keeps going " * 12 + "until it is cut",
            ),
        ],
        totals=(18_000, 2_200, 20_200),
        seconds_running=2700,
        rate_limits={
            "limit_id": "gpt-5",
            "primary": {"remaining": 0, "limit": 20_000, "reset_in_seconds": 95},
            "secondary": {"remaining": 0, "limit": 60, "reset_in_seconds": 45},
            "credits": {"has_credits": False},
        },
    )
    check_snapshot("backoff_queue", render_status(state, NOW, tps=15))


def test_credits_unlimited_and_health_problems() -> None:
    state = snapshot(
        running=[running_row("MT-777", last_event="token_usage_updated", last_message=None)],
        rate_limits={
            "limitId": "priority-tier",
            "primary": {"remaining": 100, "limit": 100, "reset_in_seconds": 1},
            "credits": {"unlimited": True},
        },
        workflow_error=Problem(
            code="workflow_parse_error",
            message="WORKFLOW.md: front matter line 3: mapping values are not allowed",
            at=datetime(2026, 2, 24, 20, 15, 0, tzinfo=UTC),
        ),
        tracker_error=Problem(
            code="linear_api_status",
            message="HTTP 502 from https://api.linear.app/graphql",
            at=datetime(2026, 2, 24, 20, 15, 20, tzinfo=UTC),
        ),
        warnings=["agent.max_turns is larger than 100"],
        blocked=[
            blocked_row(
                "MT-9",
                state="In Progress",
                reason="codex turn requires operator input",
                blocked_by=[],
            )
        ],
    )
    check_snapshot("health_problems", render_status(state, NOW, tps=42))


def blocked_state() -> Snapshot:
    return snapshot(
        running=[running_row("MT-101", started_ago_s=300, turn_count=3, total_tokens=20_000)],
        blocked=[
            blocked_row(
                "MT-204",
                reason="not dispatchable: blocked by MT-101 (In Progress), MT-99 (Todo)",
                blocked_by=[("MT-101", "In Progress"), ("MT-99", "Todo")],
            ),
            blocked_row(
                "MT-205",
                state="In Progress",
                reason="missing required labels: agent",
                blocked_by=[],
            ),
            blocked_row(
                "MT-310",
                reason="the tracker marks it not dispatchable (for example, assigned to someone "
                "else)",
                blocked_by=[],
            ),
        ],
    )


def test_blocked_issues_with_their_reasons() -> None:
    state = blocked_state()
    check_snapshot("blocked", render_status(state, NOW, tps=12))
    assert "blocked=3" in summary_line(state, NOW, 0.0).split()


def test_blocked_list_is_capped_and_counts_every_blocked_issue() -> None:
    rows = [blocked_row(f"MT-{n}", blocked_by=[]) for n in range(1, 13)]
    state = snapshot(blocked=rows, blocked_total=530)  # the runtime lists a bounded number of rows
    frame = render_status(state, NOW).plain.splitlines()
    assert "blocked 530" in frame[1]
    listed = [line for line in frame if "■" in line]
    assert [line.split()[2] for line in listed] == [f"MT-{n}" for n in range(1, 11)]
    assert frame[frame.index(listed[-1]) + 1].endswith(
        "… 520 more blocked (see the dashboard or /api/v1/state)"
    )
    assert "blocked=530" in summary_line(state, NOW, 0.0).split()


def test_narrow_terminal_keeps_every_line_within_width() -> None:
    check_snapshot("busy_80_columns", render_status(busy_state(), NOW, 80, tps=7), width=80)


def test_snapshot_unavailable_and_offline_frames() -> None:
    check_snapshot(
        "unavailable", render_status(None, NOW, error="RuntimeError('orchestrator busy')", tps=3)
    )
    assert render_offline().plain.splitlines() == ["╭─ SYMPHONY STATUS", "│ Status: offline", "╰─"]


def test_event_column_strips_control_bytes_and_ansi() -> None:
    row = running_row(
        "MT-5", last_event="notification", last_message="\x1b[31mred\x1b[0m\x07 ok\ttab"
    )
    frame = render_status(snapshot(running=[row]), NOW).plain
    line = next(line for line in frame.splitlines() if "MT-5" in line)
    assert line.endswith("red ok tab")
    assert "\x1b" not in frame and "\x07" not in frame


def test_an_agent_waiting_for_a_human_says_so() -> None:
    row = replace(
        running_row("MT-6", last_event="human_request", last_message="waiting: run make"),
        pending_request_count=2,
    )
    frame = render_status(snapshot(running=[row]), NOW, width=160).plain
    line = next(line for line in frame.splitlines() if "MT-6" in line)
    assert "WAITING FOR YOU (2)" in line


def test_runtime_ticks_from_the_snapshot_for_active_sessions() -> None:
    state = snapshot(running=[running_row("MT-1")], seconds_running=60)
    later = render_status(state, NOW + timedelta(seconds=30)).plain
    assert "│ Runtime: 1m 30s" in later


def test_retry_rows_are_sorted_by_due_time_and_errors_are_one_line() -> None:
    state = snapshot(
        retrying=[
            retry_row("B-2", due_in_s=5, error="first\\nsecond\nthird"),
            retry_row("A-1", due_in_s=1),
        ]
    )
    lines = [line for line in render_status(state, NOW).plain.splitlines() if "↻" in line]
    assert [line.split()[2] for line in lines] == ["A-1", "B-2"]
    assert lines[1].endswith("error=first second third")


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (snapshot(), "agents=0/10 retrying=0 tokens_in=0 tokens_out=0 tokens_total=0 tps=0"),
        (
            snapshot(running=[running_row("A-1")], totals=(1, 2, 3), seconds_running=10),
            "agents=1/10 retrying=0 tokens_in=1 tokens_out=2 tokens_total=3 tps=5 runtime_s=10",
        ),
    ],
)
def test_summary_line(state: Snapshot, expected: str) -> None:
    tps = 5.0 if state.running else 0.0
    assert summary_line(state, NOW, tps).startswith(expected)


def test_streaming_chatter_does_not_hide_the_last_informative_event() -> None:
    chatter = running_row("MT-3", last_event="notification", last_message=None)
    quiet = running_row("MT-4", last_event="notification", last_message=None)
    frame = render_status(
        snapshot(running=[chatter, quiet]), NOW, recent={"MT-3": "ran: make test (exit 0)"}
    ).plain
    rows = {line.split()[2]: line for line in frame.splitlines() if "●" in line}
    assert rows["MT-3"].endswith("ran: make test (exit 0)")
    assert rows["MT-4"].endswith("notification")


def test_held_issues_are_listed_with_their_reason() -> None:
    held = HeldRow("id-9", "MT-9", None, "no_progress", "3 turns in a row changed nothing", NOW)
    state = replace(snapshot(), held=(held,), counts=replace(snapshot().counts, held=1))
    frame = render_status(state, NOW).plain.splitlines()
    title = frame.index("├─ Held (stopped by Symphony; symphony release ID)")
    assert frame[title + 1].split()[1:4] == ["■", "MT-9", "no_progress"]
    assert "3 turns in a row changed nothing" in frame[title + 1]
    assert "held=1" in summary_line(state, NOW, 0.0).split()


def test_cost_and_a_reached_daily_limit_are_shown() -> None:
    plain = snapshot()
    assert not [line for line in render_status(plain, NOW).plain.splitlines() if "Cost" in line]
    state = replace(
        plain,
        codex_totals=replace(plain.codex_totals, cost_usd=12.5),
        budget=DayBudget("2026-03-01", 5.0, 5.0, dispatch_paused=True),
    )
    [line] = [line for line in render_status(state, NOW).plain.splitlines() if "Cost" in line]
    assert "$12.50 total" in line and "today $5.00 of $5.00" in line
    assert "DAILY LIMIT REACHED" in line


def test_worker_hosts_show_their_load_and_health() -> None:
    hosts = (
        WorkerHost("worker-a", 2, 4, "up", None, None),
        WorkerHost("worker-b", 0, 4, "down", "ssh lost", NOW),
        WorkerHost("[::1]:2200", 1, None, "up", None, None),
    )
    frame = render_status(replace(snapshot(), workers=hosts), NOW).plain.splitlines()
    (line,) = [line for line in frame if "Workers:" in line]
    assert line.endswith("Workers: worker-a 2/4 | worker-b 0/4 DOWN | [::1]:2200 1")
    assert not any("Workers:" in line for line in render_status(snapshot(), NOW).plain.splitlines())


def test_best_of_candidates_show_by_their_workspace_key() -> None:
    state = snapshot(
        running=[replace(running_row("MT-1"), candidate="b")],
        retrying=[replace(retry_row("MT-1"), candidate="a")],
    )
    plain = render_status(state, NOW).plain
    (retry,) = [line for line in plain.splitlines() if "↻" in line]
    assert retry.split()[2] == "MT-1.a"
    assert any(line.split()[2:3] == ["MT-1.b"] for line in plain.splitlines() if "●" in line)
