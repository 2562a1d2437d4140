"""``symphony validate``: load, validate and trial-render a workflow without starting anything."""

from __future__ import annotations

import asyncio
import functools
import os
from typing import TextIO

from symphony.errors import SymphonyError
from symphony.trackers.base import MISSING_TRACKER_SECRET
from symphony.trackers.resolve import resolve_tracker
from symphony.workflow.loader import resolve_workflow_path
from symphony.workflow.store import Workflow, load_workflow_file
from symphony.workflow.template import sample_issue

VALIDATE_PROBE_TIMEOUT_S = 5.0


def validate_command(
    workflow_arg: str | None, *, out: TextIO, err: TextIO, show_prompt: bool = False
) -> int:
    path = resolve_workflow_path(workflow_arg)
    notes: list[str] = []
    try:
        try:
            workflow = load_workflow_file(path, resolver=resolve_tracker)
        except SymphonyError as exc:
            if exc.code != MISSING_TRACKER_SECRET:
                raise
            # Linting a workflow must not need production credentials; starting it will.
            notes.append(f"{exc.message.splitlines()[-1].strip(' -')} (required to start)")
            workflow = load_workflow_file(
                path, resolver=functools.partial(resolve_tracker, require_secrets=False)
            )
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
    warnings = (
        list(workflow.warnings) + notes + _codex_credentials(workflow) + _codex_sandbox(workflow)
    )
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
        (
            "agents",
            f"up to {cfg.agent.max_concurrent_agents} at once, {cfg.agent.max_turns} turns each, "
            f"poll every {cfg.polling.interval_ms} ms",
        ),
        ("codex", cfg.codex.command),
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


def _codex_credentials(workflow: Workflow) -> list[str]:
    """The launch-time credentials rule, applied to the environment running ``validate``."""
    from symphony.agents.codex.preflight import assess_credentials

    check = asyncio.run(
        assess_credentials(
            workflow.config.codex.command,
            env=os.environ,
            cwd=workflow.path.parent,
            strip_env=frozenset(workflow.loaded.secret_env_names),
            probe_timeout_s=VALIDATE_PROBE_TIMEOUT_S,
        )
    )
    if not check.missing:
        return []
    return [f"{check.message} (until then every agent attempt fails: codex_not_authenticated)"]


def _codex_sandbox(workflow: Workflow) -> list[str]:
    """A system bwrap that codex's sandbox cannot use, because no helper can be put on PATH."""
    from symphony.agents.codex import linux_sandbox

    codex = workflow.config.codex
    policy = codex.turn_sandbox_policy
    if not linux_sandbox.applies() or (policy or {}).get("type") == "dangerFullAccess":
        return []
    setup = asyncio.run(
        linux_sandbox.inspect_sandbox(
            codex.command,
            env=os.environ,
            cwd=workflow.path.parent,
            strip_env=frozenset(workflow.loaded.secret_env_names),
            probe_login_shell=True,
            probe_timeout_s=VALIDATE_PROBE_TIMEOUT_S,
        )
    )
    return [setup.warning(codex.command)] if setup.broken else []
