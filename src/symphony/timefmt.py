"""RFC 3339 instants as text (``2026-01-02T03:04:05Z``): the one formatter and parser.

Pure (standard library only), so the scheduling core, trackers, logs and the surfaces all write
timestamps the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal, overload

TimeSpec = Literal["auto", "seconds", "milliseconds"]


@overload
def format_timestamp(value: datetime, *, timespec: TimeSpec = "auto") -> str: ...


@overload
def format_timestamp(value: None, *, timespec: TimeSpec = "auto") -> None: ...


@overload
def format_timestamp(value: datetime | None, *, timespec: TimeSpec = "auto") -> str | None: ...


def format_timestamp(value: datetime | None, *, timespec: TimeSpec = "auto") -> str | None:
    """UTC with a ``Z`` suffix; a naive value is taken as UTC. ``timespec`` as in ``isoformat``
    (``auto`` shows microseconds only when there are some)."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        # Views and the core make UTC instants; others (and naive ones, taken as UTC) convert.
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    text = value.isoformat() if timespec == "auto" else value.isoformat(timespec=timespec)
    return text[:-6] + "Z"  # "+00:00"


class EpochStamps:
    """``format_timestamp(..., timespec="milliseconds")`` for ``time.time()`` values, with the
    date and time of day formatted once a second: transcripts stamp every protocol line."""

    _MILLIS = tuple(f".{n:03d}Z" for n in range(1000))

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""
        self._millis = -1
        self._text = ""

    def format(self, epoch_s: float) -> str:
        millis = int(epoch_s * 1000)
        if millis == self._millis:
            return self._text  # lines read together share their millisecond
        second, fraction = divmod(millis, 1000)
        if second != self._second:
            moment = datetime.fromtimestamp(second, UTC)
            self._prefix = moment.isoformat(timespec="seconds").removesuffix("+00:00")
            self._second = second
        self._millis = millis
        self._text = self._prefix + self._MILLIS[fraction]
        return self._text


def parse_timestamp(value: object) -> datetime | None:
    """RFC 3339 instant or None; unusable values normalize to None (SPEC §11.3)."""
    if isinstance(value, str) and value.endswith("Z"):
        # Trackers send UTC instants like 2026-01-02T03:04:05.678Z: this is every issue of every
        # poll, so they skip the general path (Python 3.11 reads the Z itself).
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(UTC)
