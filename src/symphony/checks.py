"""One finding of ``symphony doctor``: what was checked, what was found, and the one-line fix.

Agent backends and tracker profiles return these from their optional ``doctor`` methods, so the
command can show every check of a first run in one list (docs/getting-started.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

CheckStatus = Literal["ok", "warn", "fail"]


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: CheckStatus
    detail: str
    # What to do, in one line; None when there is nothing to do.
    fix: str | None = None

    @classmethod
    def ok(cls, name: str, detail: str) -> Check:
        return cls(name, "ok", detail)

    @classmethod
    def warn(cls, name: str, detail: str, fix: str) -> Check:
        return cls(name, "warn", detail, fix)

    @classmethod
    def fail(cls, name: str, detail: str, fix: str) -> Check:
        return cls(name, "fail", detail, fix)
