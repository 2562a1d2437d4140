"""The one comment an issue gets when Symphony holds it (docs/holds.md, ``agent.comment_on_hold``).

Posted as Symphony's own comment (marker ``hold``) where the tracker can update one in place, so
a second hold of the same issue edits it instead of adding another; else as a plain comment. A
tracker error is logged and never affects the hold.
"""

from __future__ import annotations

import asyncio

from symphony.core.state import Hold
from symphony.errors import SymphonyError
from symphony.logs import get_logger
from symphony.trackers.base import IssueComments, IssueWrites, TrackerAdapter

log = get_logger("symphony.orchestrator")

HOLD_COMMENT_KEY = "hold"
RELEASE_HINT = (
    "It stays held until the limit is raised in `WORKFLOW.md`, the issue leaves the active "
    "states, or an operator releases it (`symphony release {identifier}`, or Release in the "
    "dashboard)."
)


def hold_comment(hold: Hold) -> str:
    return (
        f"## Symphony stopped the agent ({hold.reason.replace('_', ' ')})\n\n"
        f"{hold.message}\n\n" + RELEASE_HINT.format(identifier=hold.identifier)
    )


async def announce(adapter: TrackerAdapter, hold: Hold, *, timeout_s: float) -> None:
    text = hold_comment(hold)
    try:
        if isinstance(adapter, IssueWrites):
            await asyncio.wait_for(
                adapter.upsert_own_comment(hold.issue_id, hold.identifier, HOLD_COMMENT_KEY, text),
                timeout=timeout_s,
            )
        elif isinstance(adapter, IssueComments):
            await asyncio.wait_for(
                adapter.post_comment(hold.issue_id, hold.identifier, text), timeout=timeout_s
            )
        else:
            log.info("tracker cannot comment; hold not announced", tracker=adapter.kind)
    except (SymphonyError, TimeoutError) as exc:
        log.warning(
            "could not comment on the held issue",
            issue_id=hold.issue_id,
            issue_identifier=hold.identifier,
            error=getattr(exc, "message", None) or type(exc).__name__,
        )
