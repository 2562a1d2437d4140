"""Dispatch preflight for ``tracker.*`` (SPEC §6.3): kind supported, adapter accepts provider.

Runs inside every workflow load and reload, so an edit that breaks the tracker config is rejected
like a YAML error: the last known good workflow stays in effect and the error is shown.
"""

from __future__ import annotations

from collections.abc import Mapping

from symphony.issue import normalize_state
from symphony.trackers import get_profile, supported_kinds
from symphony.trackers.base import UNSUPPORTED_TRACKER_KIND, TrackerConfigError
from symphony.workflow.config import LoadedConfig
from symphony.workflow.errors import ConfigError
from symphony.workflow.loader import WorkflowDefinition


def resolve_tracker(
    loaded: LoadedConfig,
    definition: WorkflowDefinition,
    environ: Mapping[str, str],
    *,
    require_secrets: bool = True,
) -> LoadedConfig:
    tracker = loaded.config.tracker
    source = str(definition.path)
    kinds = ", ".join(supported_kinds()) or "none installed"
    if tracker.kind is None:
        raise ConfigError(
            [("tracker.kind", f"is required: no tracker configured (supported kinds: {kinds})")],
            source=source,
        )
    profile = get_profile(tracker.kind)
    if profile is None:
        error = ConfigError(
            [("tracker.kind", f"unsupported tracker kind {tracker.kind!r} (supported: {kinds})")],
            source=source,
        )
        error.code = UNSUPPORTED_TRACKER_KIND
        raise error
    updates: dict[str, object] = {}
    states = {
        "active_states": (tracker.active_states, profile.default_active_states),
        "terminal_states": (tracker.terminal_states, profile.default_terminal_states),
    }
    for key, (configured, default) in states.items():
        if configured is not None:
            continue
        if default is None:
            raise ConfigError(
                [(f"tracker.{key}", f"is required for tracker kind {tracker.kind!r}")],
                source=source,
            )
        updates[key] = default
    # A profile may name states that are terminal whatever the workflow says (GitHub's Closed:
    # a closed issue is finished); they join the configured list so the scheduler agrees.
    always = tuple(getattr(profile, "always_terminal_states", ()) or ())
    terminal = updates.get("terminal_states", tracker.terminal_states)
    if always and isinstance(terminal, tuple):
        known = {normalize_state(s) for s in terminal}
        missing = tuple(s for s in always if normalize_state(s) not in known)
        if missing:
            updates["terminal_states"] = (*terminal, *missing)
    if updates:
        tracker = tracker.model_copy(update=updates)
    try:
        profile.validate(
            tracker,
            workflow_dir=definition.path.parent,
            environ=environ,
            require_secrets=require_secrets,
        )
    except TrackerConfigError as exc:
        error = ConfigError([(exc.key, exc.message.removeprefix(f"{exc.key}: "))], source=source)
        error.code = exc.code
        raise error from None
    config = loaded.config.model_copy(update={"tracker": tracker})
    return loaded.model_copy(update={"config": config})
