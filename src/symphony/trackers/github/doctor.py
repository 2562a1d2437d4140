"""``symphony doctor`` for GitHub: the token (or App), the repository, the board and its status
options for the workflow's states."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from symphony.checks import Check
from symphony.httpx_lean import httpx
from symphony.issue import normalize_state
from symphony.trackers.base import TrackerConfigError, TrackerError
from symphony.trackers.doctor_rules import WorkflowStates, state_check
from symphony.trackers.github.client import GitHubClient
from symphony.trackers.github.project import load_project
from symphony.trackers.github.settings import CLOSED_STATE, parse_settings
from symphony.trackers.graphql_http import error_messages
from symphony.workflow.config import TrackerConfig

REPOSITORY_OPERATION = "SymphonyDoctorRepository"
REPOSITORY_QUERY = """
query SymphonyDoctorRepository($owner: String!, $name: String!) {
  repository(owner: $owner, name: $name) { nameWithOwner hasIssuesEnabled }
}
"""
ACCESS_FIX = (
    "export GITHUB_TOKEN with a token that has the repo and project scopes (or configure a "
    "GitHub App: tracker.provider.app_id, private_key_path, installation_id)"
)


async def github_checks(
    tracker: TrackerConfig,
    *,
    workflow_dir: Path,
    environ: Mapping[str, str],
    states: WorkflowStates,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[Check]:
    try:
        settings = parse_settings(tracker, environ, workflow_dir=workflow_dir, require_secrets=True)
    except TrackerConfigError as exc:
        return [Check.fail("github token", exc.message, ACCESS_FIX)]
    checks = [Check.ok("github token", "found")]
    client = GitHubClient(settings, transport=transport)
    try:
        checks.append(await _repository(client, settings.owner, settings.repo))
        if not settings.uses_project:
            return checks
        try:
            project = await load_project(client, settings)
        except TrackerError as exc:
            checks.append(Check.fail("github board", exc.message, ACCESS_FIX))
            return checks
    finally:
        await client.aclose()
    where = f"board {settings.project_owner}/{settings.project_number}"
    options = [name for _, name in project.status_options]
    checks.append(Check.ok("github board", f"{where} ({len(options)} status options)"))
    # Closed comes from the issue itself, not from the board.
    needed = WorkflowStates(
        tuple(s for s in states.required if normalize_state(s) != normalize_state(CLOSED_STATE)),
        states.review,
    )
    checks.append(
        state_check(
            "github states",
            f"{where}'s {settings.status_field} field",
            options,
            needed,
            fix=f"add the options to the board's {settings.status_field} field, or rename the "
            "states in WORKFLOW.md",
        )
    )
    return checks


async def _repository(client: GitHubClient, owner: str, name: str) -> Check:
    try:
        body = await client.graphql(
            REPOSITORY_QUERY, {"owner": owner, "name": name}, operation=REPOSITORY_OPERATION
        )
    except TrackerError as exc:
        return Check.fail("github repository", exc.message, ACCESS_FIX)
    data = body.get("data")
    repository = data.get("repository") if isinstance(data, dict) else None
    if not isinstance(repository, dict):
        errors = "; ".join(error_messages(body)) or "not found"
        return Check.fail(
            "github repository",
            f"{owner}/{name} cannot be read with this token ({client.scrub(errors)})",
            "fix tracker.provider.repository, or give the token access to it",
        )
    if repository.get("hasIssuesEnabled") is False:
        return Check.fail(
            "github repository",
            f"{owner}/{name} has issues turned off",
            "turn issues on (repository Settings, Features, Issues)",
        )
    return Check.ok("github repository", f"{repository.get('nameWithOwner')}")
