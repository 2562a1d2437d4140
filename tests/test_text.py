from __future__ import annotations

from symphony.text import clip


def test_short_text_is_kept() -> None:
    assert clip("abc", 3) == "abc"
    assert clip("", 0) == ""


def test_the_marker_counts_toward_the_limit() -> None:
    assert clip("abcdef", 4) == "abc…"
    assert clip("abcdef", 5, marker="...") == "ab..."
    assert len(clip("x" * 100, 10, marker="...")) == 10


def test_a_limit_no_longer_than_the_marker_cuts_without_one() -> None:
    assert clip("abcdef", 3, marker="...") == "abc"
    assert clip("abcdef", 1) == "a"
    assert clip("abcdef", 0) == ""
    assert clip("abcdef", -2) == ""


def test_outside_the_limit_the_marker_follows_the_kept_text() -> None:
    assert clip("abcdef", 4, marker="...<truncated>", within=False) == "abcd...<truncated>"
    assert clip("abcd", 4, marker="...<truncated>", within=False) == "abcd"
