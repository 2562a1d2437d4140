"""A fake loop clock for ``OrchestratorRuntime(clock=...)``: time moves only when a test says.

Timers due now (a delay of zero: the first poll, a refresh) go to the real event loop, which
runs them on its next turn, as it would anyway. Every later timer waits in this clock until
``advance``/``jump`` moves its time past the timer's due time, and then runs in due order, on
the loop thread (the caller's). Installed with ``tests.support.waiting.advancing(clock.jump)``,
the clock follows the test's waits: each wait that polled in vain moves it to the next timer.
``jump`` does not move while any of ``holds`` says so: a runtime's poll in flight has no poll
timer set, and a jump then would skip past the next poll to a far timer (a retry, a human
request's timeout) that the test expects not to fire yet.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(order=True)
class _Timer:
    when: float
    seq: int
    handle: asyncio.TimerHandle = field(compare=False)
    callback: Callable[..., object] = field(compare=False)
    args: tuple[Any, ...] = field(compare=False)


class FakeLoopClock:
    """Implements ``symphony.orchestrator.clock.LoopClock``."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start
        self.holds: list[Callable[[], bool]] = []
        self._timers: list[_Timer] = []
        self._seq = itertools.count()

    def time(self) -> float:
        return self.now

    def call_later(
        self, delay: float, callback: Callable[..., object], *args: Any
    ) -> asyncio.TimerHandle:
        loop = asyncio.get_running_loop()
        if delay <= 0:
            return loop.call_later(0, callback, *args)
        when = self.now + delay
        # A real handle, never scheduled on the loop: the caller may cancel it as usual.
        handle = asyncio.TimerHandle(when, callback, args, loop)
        heapq.heappush(self._timers, _Timer(when, next(self._seq), handle, callback, args))
        return handle

    def pending(self) -> list[float]:
        """Seconds from now to each timer still to run, soonest first."""
        return sorted(t.when - self.now for t in self._timers if not t.handle.cancelled())

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, running every timer that falls due on the way."""
        self._run_until(self.now + seconds)

    def jump(self) -> bool:
        """Move time to the next pending timer and run it (and any due with it).

        False, and time stays, when no timer is pending or one of ``holds`` holds.
        """
        self._drop_cancelled()
        if not self._timers or any(hold() for hold in self.holds):
            return False
        self._run_until(self._timers[0].when)
        return True

    def _run_until(self, target: float) -> None:
        while True:
            self._drop_cancelled()
            if not self._timers or self._timers[0].when > target:
                break
            timer = heapq.heappop(self._timers)
            self.now = max(self.now, timer.when)
            timer.callback(*timer.args)
        self.now = max(self.now, target)

    def _drop_cancelled(self) -> None:
        while self._timers and self._timers[0].handle.cancelled():
            heapq.heappop(self._timers)
