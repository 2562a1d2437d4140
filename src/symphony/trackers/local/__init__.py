"""The embedded local board: ``tracker.kind: local``, a SQLite file beside the workflow.

``PROFILE`` is what the tracker registry loads; ``symphony board`` lives in ``cli``.
"""

from symphony.trackers.local.adapter import LocalAdapter
from symphony.trackers.local.profile import PROFILE, LocalProfile
from symphony.trackers.local.settings import BoardSettings
from symphony.trackers.local.store import BoardStore

__all__ = ["PROFILE", "BoardSettings", "BoardStore", "LocalAdapter", "LocalProfile"]
