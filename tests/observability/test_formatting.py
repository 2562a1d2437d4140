"""Throughput window, durations and rate-limit text."""

from __future__ import annotations

from typing import Any

import pytest

from symphony.observability.formatting import (
    format_countdown,
    format_duration,
    rate_limit_parts,
    short_session,
)
from symphony.observability.throughput import ThroughputMeter
from symphony.text import clean_text
from tests.observability.fakes import NOW


def test_throughput_over_a_five_second_window() -> None:
    meter = ThroughputMeter(window_s=5.0)
    assert meter.rate() == 0.0
    meter.sample(0.0, 0)
    meter.sample(1.0, 100)
    meter.sample(2.0, 150)
    assert meter.rate() == pytest.approx(75.0)
    for second in range(3, 20):
        meter.sample(float(second), 150)  # quiet agents: the rate decays to zero
    assert meter.rate() == 0.0


def test_throughput_restarts_when_the_total_goes_backwards() -> None:
    meter = ThroughputMeter()
    meter.sample(0.0, 1_000)
    meter.sample(1.0, 2_000)
    meter.sample(2.0, 10)
    assert meter.rate() == 0.0
    meter.sample(4.0, 30)
    assert meter.rate() == pytest.approx(10.0)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0m 0s"), (65.9, "1m 5s"), (4321, "1h 12m"), (90_000, "1d 1h"), (None, "n/a")],
)
def test_durations(seconds: float | None, text: str) -> None:
    assert format_duration(seconds) == text


def test_countdowns() -> None:
    assert format_countdown(1.25) == "1.250s"
    assert format_countdown(-3) == "0.000s"
    assert format_countdown(185) == "3m 5s"


def test_short_session_and_clean_text() -> None:
    assert short_session("thread-1234567890-turn-567890") == "thre...567890"
    assert short_session("short") == "short"
    assert short_session(None) == "-"
    assert clean_text("a\\nb\n\tc\x1b[2Jd") == "a b cd"


@pytest.mark.parametrize(
    ("limits", "expected"),
    [
        (None, []),
        ({}, []),
        (
            {
                "limitId": "codex",
                "primary": {"usedPercent": 42, "windowDurationMins": 300, "resetsAt": 0},
                "credits": {"hasCredits": True, "unlimited": False, "balance": "3"},
            },
            [
                ("id", "codex"),
                ("bucket", "primary 42% used of 5h reset 0s"),
                ("credits", "credits 3.00"),
            ],
        ),
        (
            {
                "primary": {"remaining": 5, "reset_at": "2026-02-24T20:16:00Z"},
                "credits": {"unlimited": True},
            },
            [("bucket", "primary remaining 5 reset 30s"), ("credits", "credits unlimited")],
        ),
        (
            {"secondary": {"limit": 60}, "credits": {"hasCredits": True}},
            [("bucket", "secondary limit 60"), ("credits", "credits available")],
        ),
    ],
)
def test_rate_limit_parts(limits: Any, expected: list[tuple[str, str]]) -> None:
    assert rate_limit_parts(limits, NOW) == expected
