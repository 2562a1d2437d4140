"""Durable state (docs/storage.md): the retry queue, every run's history and the totals, kept
in SQLite so a restart loses nothing and starts nothing twice.

The scheduling core stays pure: the runtime turns the core's store effects into ``Write``
values for ``StateStore`` and, at startup, turns the ``StoredState`` back into the core's
``Restored`` event. Beside agents, trackers and workspaces in the layers: it may use the core and
the workflow, never the orchestrator or the surfaces.
"""

from symphony.storage.errors import StorageError
from symphony.storage.records import StoredRetry, StoredRun, StoredState, StoredTotals
from symphony.storage.store import StateStore, reset_storage

__all__ = [
    "StateStore",
    "StorageError",
    "StoredRetry",
    "StoredRun",
    "StoredState",
    "StoredTotals",
    "reset_storage",
]
