"""The clock the runtime schedules with: its monotonic time and its timers.

``asyncio.AbstractEventLoop`` is one, and the runtime uses the running loop unless it is given
another. Tests give it a fake whose time moves only when they say, so a poll interval or a retry
delay costs no wall time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol


class LoopClock(Protocol):
    def time(self) -> float:
        """Monotonic seconds, as ``loop.time()``."""
        ...

    def call_later(
        self, delay: float, callback: Callable[..., object], *args: Any
    ) -> asyncio.TimerHandle:
        """Run ``callback(*args)`` on the loop ``delay`` seconds from now."""
        ...
