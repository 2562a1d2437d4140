"""Reading Linear's answers: GraphQL errors and page cursors, shared by every read."""

from __future__ import annotations

from typing import Any

from symphony.trackers.base import TRACKER_PAGINATION, TRACKER_RESPONSE, TrackerError
from symphony.trackers.linear.client import LinearClient

# Reads name no more than this many GraphQL error messages; the rest are counted.
MAX_ERRORS_SHOWN = 3


def error_messages(body: dict[str, Any]) -> list[str]:
    errors = body.get("errors")
    if not isinstance(errors, list):
        return []
    messages: list[str] = []
    for error in errors:
        message = error.get("message") if isinstance(error, dict) else None
        messages.append(message if isinstance(message, str) and message else repr(error)[:200])
    return messages


def raise_graphql_errors(client: LinearClient, body: dict[str, Any], op: str) -> None:
    messages = error_messages(body)
    if not messages:
        return
    shown = "; ".join(messages[:MAX_ERRORS_SHOWN])
    more = len(messages) - MAX_ERRORS_SHOWN
    if more > 0:
        shown += f" (+{more} more)"
    raise TrackerError(
        TRACKER_RESPONSE,
        f"Linear returned GraphQL errors for {op}: {client.scrub(shown)}",
    )


def next_cursor(page_info: Any, where: str, seen: set[str]) -> str | None:
    """The cursor for the next page, None when done, or a ``tracker_pagination`` failure.

    ``where`` names the page for the message (``Linear SymphonyIssueSummaries page 2``).
    """
    if not isinstance(page_info, dict) or not isinstance(page_info.get("hasNextPage"), bool):
        raise TrackerError(TRACKER_PAGINATION, f"{where} has no usable pageInfo.hasNextPage")
    if not page_info["hasNextPage"]:
        return None
    cursor = page_info.get("endCursor")
    if not isinstance(cursor, str) or not cursor:
        raise TrackerError(TRACKER_PAGINATION, f"{where} says hasNextPage but gives no endCursor")
    if cursor in seen:
        raise TrackerError(
            TRACKER_PAGINATION,
            f"{where} repeats an earlier endCursor; stopping instead of looping",
        )
    seen.add(cursor)
    return cursor
