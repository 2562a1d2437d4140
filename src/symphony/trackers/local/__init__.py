"""The embedded local board: ``tracker.kind: local``, a SQLite file beside the workflow.

``PROFILE`` is what the tracker registry loads; ``symphony board`` lives in ``cli``. The names
below are imported on first use, so the board CLI does not load the adapter (asyncio, the file
watcher) just to add a card.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from symphony.trackers.local.adapter import LocalAdapter
    from symphony.trackers.local.profile import PROFILE, LocalProfile
    from symphony.trackers.local.settings import BoardSettings
    from symphony.trackers.local.store import BoardStore

__all__ = ["PROFILE", "BoardSettings", "BoardStore", "LocalAdapter", "LocalProfile"]

_HOMES = {
    "LocalAdapter": "adapter",
    "PROFILE": "profile",
    "LocalProfile": "profile",
    "BoardSettings": "settings",
    "BoardStore": "store",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
