"""Tracker adapters (Integration layer) and the registry that maps ``tracker.kind`` to one."""

from __future__ import annotations

import importlib

from symphony.trackers.base import TrackerProfile

# Built-in adapters, imported only when selected so one adapter's deps never load another's.
_BUILTIN_MODULES: dict[str, str] = {
    "local": "symphony.trackers.local",
    "linear": "symphony.trackers.linear",
}
_registered: dict[str, TrackerProfile] = {}


def register_profile(profile: TrackerProfile) -> None:
    """Add or replace an adapter (tests use this for in-memory trackers)."""
    _registered[profile.kind] = profile


def unregister_profile(kind: str) -> None:
    _registered.pop(kind, None)


def get_profile(kind: str) -> TrackerProfile | None:
    if kind in _registered:
        return _registered[kind]
    module_name = _BUILTIN_MODULES.get(kind)
    if module_name is None:
        return None
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return None
        raise
    profile: TrackerProfile = module.PROFILE
    _registered[kind] = profile
    return profile


def supported_kinds() -> list[str]:
    # Listing must not import adapters: one adapter's import failure must not hide the others.
    return sorted(set(_registered) | set(_BUILTIN_MODULES))
