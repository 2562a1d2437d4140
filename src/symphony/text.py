"""Text clipping: the one way a long text is cut to a budget, with a mark where it was cut.

Pure (standard library only); the scheduling core uses it too.
"""

from __future__ import annotations

ELLIPSIS = "…"


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
