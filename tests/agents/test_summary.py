"""The Codex backend's message summaries: short event lines and dashboard lines (SPEC §13.6)."""

from __future__ import annotations

from typing import Any

import pytest

from symphony.agents.codex.summary import (
    MAX_SUMMARY,
    describe_message,
    rate_limit_summary,
    summarize,
)


def command(**fields: Any) -> dict[str, Any]:
    return {"item": {"type": "commandExecution", **fields}}


@pytest.mark.parametrize(
    ("method", "params", "expected"),
    [
        ("item/started", command(command="git status"), "running: git status"),
        ("item/completed", command(command="git status", exitCode=0), "ran: git status (exit 0)"),
        (
            "item/completed",
            command(
                command="/bin/bash -lc 'git status'",
                commandActions=[{"type": "unknown", "command": "git status"}],
                exitCode=0,
            ),
            "ran: git status (exit 0)",
        ),
        ("item/completed", command(command=["bash", "-lc", "make"]), "ran: make (None)"),
        ("item/completed", command(status="declined"), "ran: ? (declined)"),
        (
            "item/completed",
            {"item": {"type": "reasoning", "summary": ["Read the parser.", "Fix the bug."]}},
            "reasoning: Read the parser. Fix the bug.",
        ),
        ("item/completed", {"item": {"type": "reasoning", "summary": []}}, None),
        (
            "item/completed",
            {"item": {"type": "fileChange", "status": "completed", "changes": [{"path": "a.py"}]}},
            "file change (completed): a.py",
        ),
        ("item/agentMessage/delta", {"delta": "x"}, None),
        ("error", {"error": {"message": "boom"}, "willRetry": True}, "error (retrying): boom"),
        ("error", {}, "error: unknown"),
        ("configWarning", {"summary": "no sandbox"}, "configWarning: no sandbox"),
        ("warning", {}, "warning"),
    ],
)
def test_short_lines(method: str, params: dict[str, Any], expected: str | None) -> None:
    assert summarize(method, params) == expected


def test_short_lines_are_one_clipped_line() -> None:
    text = summarize("item/completed", {"item": {"type": "agentMessage", "text": "a\n" * 500}})
    assert text is not None and "\n" not in text and len(text) == MAX_SUMMARY


def test_rate_limits() -> None:
    limits = {"primary": {"usedPercent": 42}, "secondary": {"used_percent": 3.5}}
    assert rate_limit_summary(limits) == "rate limits: primary 42%, secondary 3.5%"
    assert rate_limit_summary({}) == "rate limits: updated"


def test_dashboard_lines_read_the_same_command() -> None:
    item = {
        "type": "commandExecution",
        "command": "/bin/bash -lc 'pytest -q'",
        "commandActions": [{"type": "unknown", "command": "pytest -q"}],
        "exitCode": 1,
        "durationMs": 2300,
    }
    message = {"method": "item/completed", "params": {"item": item}}
    assert describe_message(message) == "$ pytest -q → exit 1 in 2.3s"
    assert describe_message({"params": {}}) is None
