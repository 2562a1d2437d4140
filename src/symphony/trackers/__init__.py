"""Tracker adapters (Integration layer) and the registry that maps ``tracker.kind`` to one.

Adapters are found through the ``symphony.trackers`` entry-point group: each entry point is named
after its kind and points at a ``TrackerProfile`` (``local = "symphony.trackers.local:PROFILE"``),
so a separately installed package can add a tracker. docs/extending/trackers.md shows how.
"""

from __future__ import annotations

from symphony.plugins import PluginRegistry, require_attributes
from symphony.trackers.base import UNSUPPORTED_TRACKER_KIND, TrackerProfile

ENTRY_POINT_GROUP = "symphony.trackers"

# Adapters are imported only when selected: one adapter's deps (or breakage) never affect another.
TRACKERS: PluginRegistry[TrackerProfile] = PluginRegistry(
    ENTRY_POINT_GROUP,
    noun="tracker",
    setting="tracker.kind",
    check=require_attributes(
        "kind", "default_active_states", "default_terminal_states", "validate", "create"
    ),
    error_code=UNSUPPORTED_TRACKER_KIND,
)


def register_profile(profile: TrackerProfile) -> None:
    """Add or replace an adapter (tests use this for in-memory trackers)."""
    TRACKERS.register(profile.kind, profile)


def unregister_profile(kind: str) -> None:
    TRACKERS.unregister(kind)


def get_profile(kind: str) -> TrackerProfile | None:
    """The profile for ``kind``; None if nothing provides it.

    Raises ``PluginError`` (a SymphonyError) when an installed package declares ``kind`` but its
    adapter cannot be imported or is not a TrackerProfile; the message names the package.
    """
    return TRACKERS.get(kind)


def supported_kinds() -> list[str]:
    # Listing must not import adapters: one adapter's import failure must not hide the others.
    return TRACKERS.kinds()
