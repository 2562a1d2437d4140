"""``symphony validate``: load, validate and trial-render a workflow without starting anything."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from symphony.agents.registry import require_backend, resolve_agent
from symphony.agents.sandbox import probe as probe_sandbox
from symphony.errors import SymphonyError
from symphony.trackers.base import MISSING_TRACKER_SECRET
from symphony.trackers.resolve import resolve_tracker
from symphony.workflow.config import LoadedConfig, SandboxConfig
from symphony.workflow.loader import WorkflowDefinition, resolve_workflow_path
from symphony.workflow.store import Resolver, Workflow, load_workflow_file
from symphony.workflow.template import sample_issue

# `symphony validate` must not hang on a bwrap that does not come back.
SANDBOX_PROBE_TIMEOUT_S = 5.0


def _resolver(*, require_secrets: bool) -> Resolver:
    """The service's load-time checks (``tracker.*`` and ``agent.kind``)."""

    def resolve(
        loaded: LoadedConfig, definition: WorkflowDefinition, environ: Mapping[str, str]
    ) -> LoadedConfig:
        loaded = resolve_tracker(loaded, definition, environ, require_secrets=require_secrets)
        return resolve_agent(loaded, definition, environ)

    return resolve


def load_for_validation(path: Path) -> tuple[Workflow, list[str]]:
    """Load ``path`` with the service's checks, except that a missing tracker secret is a note
    (linting a workflow must not need production credentials; starting it will)."""
    try:
        return load_workflow_file(path, resolver=_resolver(require_secrets=True)), []
    except SymphonyError as exc:
        if exc.code != MISSING_TRACKER_SECRET:
            raise
        note = f"{exc.message.splitlines()[-1].strip(' -')} (required to start)"
        return load_workflow_file(path, resolver=_resolver(require_secrets=False)), [note]


def validate_command(
    workflow_arg: str | None, *, out: TextIO, err: TextIO, show_prompt: bool = False
) -> int:
    path = resolve_workflow_path(workflow_arg)
    try:
        workflow, notes = load_for_validation(path)
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
        ("sandbox", _describe_sandbox(cfg.sandbox)),
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


def _describe_sandbox(sandbox: SandboxConfig) -> str:
    if sandbox.kind == "none":
        return "none (the agent's own sandbox only)"
    network = "on" if sandbox.network else "off"
    parts = [f"{sandbox.kind}, network {network}"]
    if sandbox.writable:
        parts.append("also writable: " + ", ".join(map(str, sandbox.writable)))
    if sandbox.allowed_hosts and not sandbox.network:
        parts.append("allowed hosts: " + ", ".join(sandbox.allowed_hosts))
    return "; ".join(parts)


def _workers(workflow: Workflow) -> str:
    worker = workflow.config.worker
    if not worker.ssh_hosts:
        return "this machine"
    cap = worker.max_concurrent_agents_per_host
    per_host = f", up to {cap} per host" if cap is not None else ""
    return f"ssh: {', '.join(worker.ssh_hosts)}{per_host} (root {worker.remote_root} on each)"


def _agent_preflight(workflow: Workflow) -> list[str]:
    """The backend's launch-time checks (codex: credentials) and whether the sandbox can be
    built, against this environment."""
    if workflow.config.worker.ssh_hosts:
        # The agent runs on the worker hosts, with their credentials (docs/workers.md).
        return []
    backend = require_backend(workflow.config.agent.kind)

    async def checks() -> list[str]:
        warnings = list(await backend.preflight(workflow, env=os.environ))
        sandbox = workflow.config.sandbox
        if sandbox.kind == "bwrap":
            found = await probe_sandbox(sandbox, env=os.environ, timeout_s=SANDBOX_PROBE_TIMEOUT_S)
            if found.problem is not None:
                warnings.append(
                    f"sandbox: {found.problem} (until then every agent attempt fails: "
                    "sandbox_unavailable)"
                )
        return warnings

    return asyncio.run(checks())
