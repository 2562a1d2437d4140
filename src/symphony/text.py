"""Text clipping (the one way a long text is cut to a budget, with a mark where it was cut)
and cleaning (one plain line out of terminal output).

Pure (standard library only); the scheduling core uses it too.
"""

from __future__ import annotations

import re

ELLIPSIS = "…"

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-_]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SPACES = re.compile(r"\s+")


def clean_text(text: str) -> str:
    """One line of plain text: ANSI sequences and control bytes gone, whitespace collapsed.

    Literal ``\\n`` sequences count as line breaks too (error strings often carry them escaped).
    """
    text = _ANSI.sub("", text.replace("\\n", "\n").replace("\\r", "\n"))
    text = _CONTROL.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def clip(text: str, limit: int, *, marker: str = ELLIPSIS, within: bool = True) -> str:
    """``text`` when it has at most ``limit`` characters, else its start followed by ``marker``.

    The marker counts toward ``limit`` (a limit no longer than the marker cuts without one),
    unless ``within`` is false: then the first ``limit`` characters are kept and the marker
    follows them.
    """
    if len(text) <= limit:
        return text
    if not within:
        return text[: max(limit, 0)] + marker
    if limit <= len(marker):
        return text[: max(limit, 0)]
    return text[: limit - len(marker)] + marker
