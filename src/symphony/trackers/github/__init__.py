"""GitHub adapter (``tracker.kind: github``); profile documented in docs/trackers/github.md."""

from symphony.trackers.github.adapter import GitHubAdapter, RateLimitState
from symphony.trackers.github.profile import PROFILE, GitHubProfile
from symphony.trackers.github.settings import GitHubSettings, parse_settings
from symphony.trackers.github.tool import TOOL_NAME

__all__ = [
    "PROFILE",
    "TOOL_NAME",
    "GitHubAdapter",
    "GitHubProfile",
    "GitHubSettings",
    "RateLimitState",
    "parse_settings",
]
