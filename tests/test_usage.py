"""``TokenUsage`` arithmetic covers every field (it is spelled out field by field for speed)."""

from __future__ import annotations

from dataclasses import fields

from symphony.usage import TokenUsage

NAMES = [f.name for f in fields(TokenUsage)]


def usage(base: int) -> TokenUsage:
    """Distinct values per field, so a field mixed up with another shows."""
    return TokenUsage(*(base + 10 * i for i in range(len(NAMES))))


def test_every_field_is_added_compared_subtracted_and_rendered() -> None:
    low, high = usage(1), usage(5)
    for i, name in enumerate(NAMES):
        assert getattr(low + high, name) == 6 + 20 * i, name
        assert getattr(low.high_water(high), name) == getattr(high, name), name
        assert getattr(high.high_water(low), name) == getattr(high, name), name
        assert getattr(high.minus(low), name) == 4, name
        assert getattr(low.minus(high), name) == 0, name
    assert low.to_dict() == {name: getattr(low, name) for name in NAMES}
    assert list(low.to_dict()) == NAMES


def test_is_zero_looks_at_every_field() -> None:
    assert TokenUsage().is_zero
    for name in NAMES:
        assert not TokenUsage(**{name: 1}).is_zero, name
