"""The rest of an issue's labels and inverse relations when a page cut them off.

A page of 250 issues can afford only a few labels and relations per issue (see ``queries``). An
issue with more comes back with ``pageInfo.hasNextPage`` on that list; ``complete_lists`` reads
that list for that issue alone, 250 entries a request, and puts the complete list into the node,
so normalization never sees a partial one. A partial label list could hide a required label and
stop a running agent; a partial blocker list could release a Todo issue that is still blocked.
"""

from __future__ import annotations

from typing import Any

from symphony.logs import get_logger
from symphony.trackers.base import TRACKER_RESPONSE, TrackerError
from symphony.trackers.linear import queries
from symphony.trackers.linear.client import LinearClient
from symphony.trackers.linear.normalize import list_cut_off
from symphony.trackers.linear.responses import error_messages, next_cursor, raise_graphql_errors

log = get_logger("symphony.trackers.linear")

# (field on Issue, follow-up document, operation name)
_LISTS = (
    ("labels", queries.LABELS_QUERY, queries.LABELS_OPERATION),
    ("inverseRelations", queries.RELATIONS_QUERY, queries.RELATIONS_OPERATION),
)


async def complete_lists(client: LinearClient, node: dict[str, Any], *, partial_ok: bool) -> None:
    """Replace each cut-off list in ``node`` with the whole list, or raise ``TrackerError``.

    ``partial_ok`` as for the page itself: a state read may use nodes that came with GraphQL
    errors (Linear nulls only what failed), an id refresh may not.
    """
    issue_id = node.get("id")
    if not isinstance(issue_id, str) or not issue_id.strip():
        return  # normalization rejects the record; nothing to ask Linear about
    identifier = node.get("identifier")
    ref = identifier if isinstance(identifier, str) and identifier else issue_id
    for field, query, op in _LISTS:
        if list_cut_off(node.get(field)):
            # The page carries no cursor per list (it would cost every issue), so the whole list
            # is read again from its start.
            nodes = await _read_list(client, issue_id, ref, field, query, op, partial_ok)
            node[field] = {"nodes": nodes, "pageInfo": {"hasNextPage": False}}


async def _read_list(
    client: LinearClient,
    issue_id: str,
    ref: str,
    field: str,
    query: str,
    op: str,
    partial_ok: bool,
) -> list[Any]:
    nodes: list[Any] = []
    seen: set[str] = set()
    after: str | None = None
    page = 0
    while True:
        page += 1
        body = await client.graphql(
            query,
            {"id": issue_id, "first": queries.FOLLOW_UP_PAGE_SIZE, "after": after},
            operation=op,
        )
        if not partial_ok:
            raise_graphql_errors(client, body, op)
        data = body.get("data")
        issue = data.get("issue") if isinstance(data, dict) else None
        connection = issue.get(field) if isinstance(issue, dict) else None
        if not isinstance(connection, dict) or not isinstance(connection.get("nodes"), list):
            raise_graphql_errors(client, body, op)
            # An issue deleted between its page and this request also lands here; the next
            # poll reads the board without it.
            raise TrackerError(
                TRACKER_RESPONSE,
                f"Linear answered {op} for {ref} without issue.{field}.nodes, so its "
                f"{field} could not be read in full",
            )
        errors = error_messages(body)
        if errors:
            log.warning(
                "linear returned partial data",
                operation=op,
                errors=client.scrub("; ".join(errors)),
            )
        nodes.extend(connection["nodes"])
        after = next_cursor(connection.get("pageInfo"), f"Linear {op} for {ref} page {page}", seen)
        if after is None:
            return nodes
