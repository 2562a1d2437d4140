"""``symphony doctor`` for Linear: the key, the project, and the workflow's states in its teams."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from symphony.checks import Check
from symphony.httpx_lean import httpx
from symphony.trackers.base import TrackerConfigError, TrackerError
from symphony.trackers.doctor_rules import WorkflowStates, state_check
from symphony.trackers.graphql_http import error_messages
from symphony.trackers.linear.client import LinearClient
from symphony.trackers.linear.settings import parse_settings
from symphony.workflow.config import TrackerConfig

PROJECT_OPERATION = "SymphonyDoctorProject"
PROJECT_QUERY = """
query SymphonyDoctorProject($slug: String!) {
  projects(filter: {slugId: {eq: $slug}}, first: 1) {
    nodes {
      name
      teams(first: 10) { nodes { key name states(first: 100) { nodes { name } } } }
    }
  }
}
"""
KEY_FIX = "create a personal API key (Linear: Settings, Security & access) and export it"


async def linear_checks(
    tracker: TrackerConfig,
    *,
    environ: Mapping[str, str],
    states: WorkflowStates,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[Check]:
    try:
        settings = parse_settings(tracker, environ, require_secrets=True)
    except TrackerConfigError as exc:
        return [Check.fail("linear key", exc.message, KEY_FIX)]
    checks = [Check.ok("linear key", f"from ${settings.api_key_env or 'LINEAR_API_KEY'}")]
    client = LinearClient(settings, transport=transport)
    try:
        body = await client.graphql(
            PROJECT_QUERY, {"slug": settings.project_slug}, operation=PROJECT_OPERATION
        )
    except TrackerError as exc:
        checks.append(
            Check.fail(
                "linear project",
                exc.message,
                "check the key and tracker.provider.endpoint (and this machine's network)",
            )
        )
        return checks
    finally:
        await client.aclose()
    project = _first_project(body)
    if project is None:
        errors = "; ".join(error_messages(body))
        checks.append(
            Check.fail(
                "linear project",
                f"Linear has no project with slug {settings.project_slug!r} that this key sees"
                + (f" ({client.scrub(errors)})" if errors else ""),
                "set tracker.provider.project_slug to the slug at the end of the project's URL",
            )
        )
        return checks
    teams = _teams(project)
    checks.append(
        Check.ok(
            "linear project",
            f"{project.get('name')!s} (teams: {', '.join(name for name, _ in teams) or 'none'})",
        )
    )
    found = [state for _, team_states in teams for state in team_states]
    where = f"the project's team{'s' if len(teams) != 1 else ''}"
    checks.append(
        state_check(
            "linear states",
            where,
            found,
            states,
            fix="add the states in Linear (team settings, Workflow) or rename them in WORKFLOW.md",
        )
    )
    return checks


def _first_project(body: dict[str, Any]) -> dict[str, Any] | None:
    data = body.get("data")
    projects = data.get("projects") if isinstance(data, dict) else None
    nodes = projects.get("nodes") if isinstance(projects, dict) else None
    if isinstance(nodes, list) and nodes and isinstance(nodes[0], dict):
        return nodes[0]
    return None


def _teams(project: dict[str, Any]) -> list[tuple[str, Sequence[str]]]:
    out: list[tuple[str, Sequence[str]]] = []
    for team in _nodes(project.get("teams")):
        names = [s["name"] for s in _nodes(team.get("states")) if isinstance(s.get("name"), str)]
        out.append((str(team.get("name") or team.get("key")), names))
    return out


def _nodes(connection: Any) -> list[dict[str, Any]]:
    nodes = connection.get("nodes") if isinstance(connection, dict) else None
    return [n for n in nodes if isinstance(n, dict)] if isinstance(nodes, list) else []
