"""Parked issues: released with their workspace kept, watched until the tracker closes them.

SPEC §8.5/§8.6 remove a workspace when a *running* issue turns terminal, when a retry sees a
terminal issue, and at startup. The common hand-off (the agent moves its issue to a review state,
the service lets go and keeps the workspace, later a human closes the issue) would then leave the
workspace until the next restart. This extension remembers such issues and refreshes them by id
with the running ones, so closing one removes its workspace while the service runs.

The cost is bounded: at most ``PARKED_BATCH`` parked ids ride along on each tick's reconciliation
refresh (round-robin), at most ``PARKED_LIMIT`` are remembered, and one that sits unchanged for
``PARKED_MAX_IDLE_MS`` is forgotten. No tracker call is added when nothing is parked.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import islice

from symphony.core import policy
from symphony.core.effects import Effect, Log, RemoveWorkspaces
from symphony.core.state import (
    PARKED_BATCH,
    PARKED_LIMIT,
    PARKED_MAX_IDLE_MS,
    OrchestratorState,
    ParkedIssue,
)
from symphony.issue import Issue


def park(
    state: OrchestratorState,
    issue: Issue,
    workspace_path: str | None,
    now: float,
    out: list[Effect],
) -> None:
    """Remember an issue just released with its workspace kept (it is not terminal)."""
    state.parked.pop(issue.id, None)
    state.parked[issue.id] = ParkedIssue(
        issue_id=issue.id,
        identifier=issue.identifier,
        workspace_path=workspace_path,
        tracker_state=issue.state,
        since_ms=now,
    )
    if len(state.parked) > PARKED_LIMIT:
        oldest = min(state.parked.values(), key=lambda p: p.since_ms)
        _forget(state, oldest, f"more than {PARKED_LIMIT} parked issues", out)


def recorded_path(state: OrchestratorState, identifier: str) -> str | None:
    """Where the issue's last worker put its workspace, if it reported one."""
    record = state.history.get(identifier)
    return record.workspace_path if record is not None else None


def unpark(state: OrchestratorState, issue_id: str) -> None:
    """A dispatched issue's workspace belongs to its new run."""
    state.parked.pop(issue_id, None)


def due_for_refresh(state: OrchestratorState, now: float, out: list[Effect]) -> tuple[str, ...]:
    """The parked ids this tick's refresh asks about; expired ones are forgotten instead."""
    if not state.parked:
        return ()
    asked: list[str] = []
    for parked in list(islice(state.parked.values(), PARKED_BATCH)):
        if now - parked.since_ms > PARKED_MAX_IDLE_MS:
            days = PARKED_MAX_IDLE_MS // (24 * 3_600_000)
            _forget(state, parked, f"unchanged for more than {days} days", out)
        else:
            asked.append(parked.issue_id)
            state.parked.move_to_end(parked.issue_id)
    return tuple(asked)


def apply_refresh(
    state: OrchestratorState,
    asked: tuple[str, ...],
    fresh: Mapping[str, Issue],
    now: float,
    out: list[Effect],
) -> None:
    """Act on a successful refresh of parked issues (a failed one changes nothing)."""
    config = state.config
    removals: list[tuple[str, str]] = []
    paths: list[tuple[str, str]] = []
    for issue_id in asked:
        parked = state.parked.get(issue_id)
        if parked is None:
            continue  # dispatched or forgotten while the refresh was in flight
        if state.is_claimed(issue_id):
            # Its run owns the workspace now; never remove it from under a claim.
            del state.parked[issue_id]
            continue
        issue = fresh.get(issue_id)
        if issue is None:
            _forget(state, parked, "issue no longer visible", out)
        elif policy.is_terminal(issue, config):
            del state.parked[issue_id]
            removals.append((issue_id, parked.identifier))
            if parked.workspace_path is not None:
                paths.append((issue_id, parked.workspace_path))
            out.append(
                Log.info(
                    "released issue is terminal, removing its workspace",
                    issue_id=issue_id,
                    issue_identifier=parked.identifier,
                    state=issue.state,
                    workspace=parked.workspace_path,
                )
            )
        elif issue.state != parked.tracker_state:
            # Still not terminal. An active one stays parked until it is dispatched, so closing
            # it while it waits for a slot still removes its workspace.
            parked.tracker_state = issue.state
            parked.since_ms = now
    if removals:
        out.append(RemoveWorkspaces(tuple(removals), tuple(paths)))


def _forget(state: OrchestratorState, parked: ParkedIssue, reason: str, out: list[Effect]) -> None:
    del state.parked[parked.issue_id]
    out.append(
        Log.info(
            "stopped watching released issue, its workspace stays",
            issue_id=parked.issue_id,
            issue_identifier=parked.identifier,
            reason=reason,
            workspace=parked.workspace_path,
        )
    )
