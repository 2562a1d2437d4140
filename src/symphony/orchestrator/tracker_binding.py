"""Which tracker adapter the runtime reads with, across workflow reloads (SPEC §6.2, §10.5).

A reload that changes ``tracker.*`` builds a new adapter for later reads and sessions; sessions
already running keep the adapter they were started with, so replaced adapters are closed only at
shutdown. If the new adapter cannot be built, the old one stays and ``error`` says why.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from symphony.logs import get_logger
from symphony.trackers.base import TrackerAdapter
from symphony.workflow.store import Workflow

log = get_logger("symphony.orchestrator")

AdapterFactory = Callable[[Workflow], TrackerAdapter]
CLOSE_TIMEOUT_S = 5.0


class TrackerBinding:
    def __init__(self, factory: AdapterFactory) -> None:
        self._factory = factory
        self._current: TrackerAdapter | None = None
        self._retired: list[TrackerAdapter] = []
        self.error: str | None = None

    @property
    def current(self) -> TrackerAdapter:
        if self._current is None:
            raise RuntimeError("the tracker adapter is not open yet")
        return self._current

    @property
    def kind(self) -> str | None:
        return self._current.kind if self._current is not None else None

    def secret_environment_names(self) -> frozenset[str]:
        return self._current.secret_environment_names() if self._current else frozenset()

    def open(self, workflow: Workflow) -> TrackerAdapter:
        """The first adapter; a failure here fails startup."""
        self._current = self._factory(workflow)
        return self._current

    def rebind(self, old: Workflow, new: Workflow) -> bool:
        """Follow a reload; False (and ``error`` set) when the new adapter cannot be built."""
        if new.config.tracker == old.config.tracker and self._current is not None:
            self.error = None
            return True
        try:
            adapter = self._factory(new)
        except Exception as exc:
            self.error = f"tracker adapter for the reloaded workflow failed: {exc}"
            log.error("tracker adapter not replaced", error=self.error)
            return False
        if self._current is not None:
            self._retired.append(self._current)
        self._current = adapter
        self.error = None
        log.info("tracker adapter replaced", tracker=adapter.kind)
        return True

    async def close_all(self) -> None:
        adapters = [a for a in (self._current, *self._retired) if a is not None]
        self._retired.clear()
        for adapter in adapters:
            try:
                await asyncio.wait_for(adapter.aclose(), timeout=CLOSE_TIMEOUT_S)
            except Exception as exc:
                log.warning("tracker adapter close failed", tracker=adapter.kind, error=exc)
