"""Linear adapter (``tracker.kind: linear``); profile documented in docs/trackers/linear.md."""

from symphony.trackers.linear.adapter import LinearAdapter
from symphony.trackers.linear.profile import PROFILE, LinearProfile
from symphony.trackers.linear.settings import LinearSettings, parse_settings
from symphony.trackers.linear.tool import TOOL_NAME, TOOL_SPEC

__all__ = [
    "PROFILE",
    "TOOL_NAME",
    "TOOL_SPEC",
    "LinearAdapter",
    "LinearProfile",
    "LinearSettings",
    "parse_settings",
]
