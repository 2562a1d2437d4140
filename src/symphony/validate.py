"""``symphony validate``: load, validate and trial-render a workflow without starting anything."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from typing import TextIO

from symphony.agents.registry import require_backend, resolve_agent
from symphony.errors import SymphonyError
from symphony.trackers.base import MISSING_TRACKER_SECRET
from symphony.trackers.resolve import resolve_tracker
from symphony.workflow.config import LoadedConfig
from symphony.workflow.loader import WorkflowDefinition, resolve_workflow_path
from symphony.workflow.store import Resolver, Workflow, load_workflow_file
from symphony.workflow.template import sample_issue


def _resolver(*, require_secrets: bool) -> Resolver:
    """The service's load-time checks (``tracker.*`` and ``agent.kind``)."""

    def resolve(
        loaded: LoadedConfig, definition: WorkflowDefinition, environ: Mapping[str, str]
    ) -> LoadedConfig:
        loaded = resolve_tracker(loaded, definition, environ, require_secrets=require_secrets)
        return resolve_agent(loaded, definition, environ)

    return resolve


def validate_command(
    workflow_arg: str | None, *, out: TextIO, err: TextIO, show_prompt: bool = False
) -> int:
    path = resolve_workflow_path(workflow_arg)
    notes: list[str] = []
    try:
        try:
            workflow = load_workflow_file(path, resolver=_resolver(require_secrets=True))
        except SymphonyError as exc:
            if exc.code != MISSING_TRACKER_SECRET:
                raise
            # Linting a workflow must not need production credentials; starting it will.
            notes.append(f"{exc.message.splitlines()[-1].strip(' -')} (required to start)")
            workflow = load_workflow_file(path, resolver=_resolver(require_secrets=False))
        sample = sample_issue()
        first = workflow.render_prompt(sample, None)
        workflow.render_prompt(sample, 2)
    except SymphonyError as exc:
        print(f"✗ {path}: not valid [{exc.code}]", file=err)
        print(exc.message, file=err)
        return 1
    _print_summary(workflow, first, out)
    if show_prompt:
        print("\n" + first, file=out)
    warnings = list(workflow.warnings) + notes + _agent_preflight(workflow)
    if warnings:
        print("warnings:", file=out)
        for warning in warnings:
            print(f"  - {warning}", file=out)
    return 0


def _print_summary(workflow: Workflow, rendered: str, out: TextIO) -> None:
    cfg = workflow.config
    tracker = cfg.tracker
    hooks = [
        name
        for name in ("after_create", "before_run", "after_run", "before_remove")
        if getattr(cfg.hooks, name)
    ]
    rows = [
        ("tracker", f"{tracker.kind}"),
        ("active states", ", ".join(tracker.active_states or ())),
        ("terminal states", ", ".join(tracker.terminal_states or ())),
        ("workspaces", str(cfg.workspace.root)),
        ("state store", str(cfg.storage.path)),
        (
            "agents",
            f"up to {cfg.agent.max_concurrent_agents} at once, {cfg.agent.max_turns} turns each, "
            f"poll every {cfg.polling.interval_ms} ms",
        ),
        ("agent", require_backend(cfg.agent.kind).describe(workflow)),
        ("workers", _workers(workflow)),
        ("hooks", (", ".join(hooks) or "none") + f" (timeout {cfg.hooks.timeout_ms} ms)"),
        (
            "prompt",
            f"{len(workflow.template.source.splitlines())} template lines; renders "
            f"{len(rendered.splitlines())} lines for a sample issue",
        ),
    ]
    print(f"✓ {workflow.path} is valid", file=out)
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"  {name.ljust(width)}  {value}", file=out)


def _workers(workflow: Workflow) -> str:
    worker = workflow.config.worker
    if not worker.ssh_hosts:
        return "this machine"
    cap = worker.max_concurrent_agents_per_host
    per_host = f", up to {cap} per host" if cap is not None else ""
    return f"ssh: {', '.join(worker.ssh_hosts)}{per_host} (root {worker.remote_root} on each)"


def _agent_preflight(workflow: Workflow) -> list[str]:
    """The backend's launch-time checks (codex: credentials), against this environment."""
    if workflow.config.worker.ssh_hosts:
        # The agent runs on the worker hosts, with their credentials (docs/workers.md).
        return []
    backend = require_backend(workflow.config.agent.kind)
    return list(asyncio.run(backend.preflight(workflow, env=os.environ)))
