"""Reading Linear's answers: GraphQL errors and page cursors, shared by every read."""

from __future__ import annotations

from typing import Any

from symphony.trackers.base import TRACKER_RESPONSE, TrackerError
from symphony.trackers.graphql_http import error_messages, next_cursor
from symphony.trackers.linear.client import LinearClient

__all__ = ["error_messages", "next_cursor", "raise_graphql_errors"]

# Reads name no more than this many GraphQL error messages; the rest are counted.
MAX_ERRORS_SHOWN = 3


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
