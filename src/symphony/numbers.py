"""Lenient numbers: values from JSON payloads that may arrive as ints, floats or strings.

Pure (standard library only).
"""

from __future__ import annotations

import math
from typing import Any


def as_int(value: Any) -> int | None:
    """Lenient integer: ints, integral floats and digit strings (token counts arrive as any)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def as_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    if isinstance(value, str):
        try:
            parsed = float(value)
        except ValueError:
            return None
        return parsed if math.isfinite(parsed) else None
    return None
