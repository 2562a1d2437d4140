"""The configured Projects (v2) board: its id, its status options and its priority field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from symphony.trackers.base import TRACKER_RESPONSE, TrackerError
from symphony.trackers.github import queries
from symphony.trackers.github.client import GitHubClient
from symphony.trackers.github.settings import GitHubSettings
from symphony.trackers.graphql_http import error_messages


@dataclass(frozen=True, slots=True)
class ProjectInfo:
    id: str
    status_field_id: str
    status_options: tuple[tuple[str, str], ...]  # (option id, name), in the board's order
    # The priority field's options, first = 1 (highest); empty for a number field or none.
    priority_option_ids: tuple[str, ...] = ()


async def load_project(client: GitHubClient, settings: GitHubSettings) -> ProjectInfo:
    op = queries.PROJECT_OPERATION
    priority = settings.priority_field
    body = await client.graphql(
        queries.PROJECT_QUERY,
        {
            "owner": settings.project_owner,
            "number": settings.project_number,
            "statusField": settings.status_field,
            "priorityField": priority or "",
            "withPriority": priority is not None,
        },
        operation=op,
    )
    where = f"board {settings.project_owner}/{settings.project_number}"
    data = body.get("data")
    owner = data.get("repositoryOwner") if isinstance(data, dict) else None
    board = owner.get("projectV2") if isinstance(owner, dict) else None
    if not isinstance(board, dict) or not isinstance(board.get("id"), str):
        detail = "; ".join(error_messages(body)) or "no such owner or board"
        raise TrackerError(
            TRACKER_RESPONSE,
            f"GitHub has no {where} that this token can see ({client.scrub(detail)}): check "
            "tracker.provider.project_owner and project_number, and that the token has the "
            "project scope",
        )
    status = board.get("status")
    options = _options(status)
    if not isinstance(status, dict) or status.get("__typename") != "ProjectV2SingleSelectField":
        raise TrackerError(
            TRACKER_RESPONSE,
            f"{where} has no single-select field named {settings.status_field!r}: set "
            "tracker.provider.status_field to the name of the board's status column field",
        )
    priority_ids: tuple[str, ...] = ()
    if priority is not None:
        field = board.get("priority")
        kind = field.get("__typename") if isinstance(field, dict) else None
        if kind == "ProjectV2SingleSelectField":
            priority_ids = tuple(option_id for option_id, _ in _options(field))
        elif not (
            kind == "ProjectV2Field"
            and isinstance(field, dict)
            and field.get("dataType") == "NUMBER"
        ):
            raise TrackerError(
                TRACKER_RESPONSE,
                f"{where} has no number or single-select field named {priority!r}: fix or "
                "remove tracker.provider.priority_field",
            )
    return ProjectInfo(str(board["id"]), str(status["id"]), options, priority_ids)


def _options(field: Any) -> tuple[tuple[str, str], ...]:
    options = field.get("options") if isinstance(field, dict) else None
    return tuple(
        (o["id"], o["name"])
        for o in (options if isinstance(options, list) else ())
        if isinstance(o, dict) and isinstance(o.get("id"), str) and isinstance(o.get("name"), str)
    )
