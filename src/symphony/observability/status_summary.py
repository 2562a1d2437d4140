"""The terminal status view's one-line summary (when the console is not a terminal).

Kept apart from the live frame's renderer so that a service whose console is a file or a pipe
never imports ``rich``.
"""

from __future__ import annotations

from datetime import datetime

from symphony.observability.formatting import live_runtime_seconds
from symphony.view import Snapshot


def summary_line(snapshot: Snapshot, now: datetime, tps: float) -> str:
    """The one-line status used when the console is not a terminal."""
    totals = snapshot.codex_totals
    parts = [
        f"agents={snapshot.counts.running}/{snapshot.limits.max_concurrent_agents or '?'}",
        f"retrying={snapshot.counts.retrying}",
        f"tokens_in={totals.input_tokens} tokens_out={totals.output_tokens} "
        f"tokens_total={totals.total_tokens}",
        f"tps={round(tps)}",
        f"runtime_s={int(live_runtime_seconds(snapshot, now))}",
    ]
    blocked = blocked_total(snapshot)
    if blocked:
        parts.insert(2, f"blocked={blocked}")
    problems = (("workflow", snapshot.workflow.error), ("tracker", snapshot.tracker.error))
    for key, problem in problems:
        if problem is not None:
            parts.append(f"{key}_error={problem.code}")
    return " ".join(parts)


def blocked_total(snapshot: Snapshot) -> int:
    """The runtime lists a bounded number of rows; ``counts.blocked`` has them all."""
    return max(snapshot.counts.blocked, len(snapshot.blocked))
