"""Rolling tokens-per-second over a short window of (time, cumulative total) samples."""

from __future__ import annotations

from collections import deque


class ThroughputMeter:
    """Rate of change of a cumulative token counter over the last ``window_s`` seconds.

    Feed it the aggregate total on every change *and* on a periodic tick, so the rate decays to
    zero when agents go quiet. A total that goes backwards (a restart) starts a fresh window.
    """

    def __init__(self, window_s: float = 5.0) -> None:
        self.window_s = window_s
        self._samples: deque[tuple[float, int]] = deque()

    def sample(self, now: float, total: int) -> None:
        if self._samples and total < self._samples[-1][1]:
            self._samples.clear()
        self._samples.append((now, total))
        horizon = now - self.window_s
        while len(self._samples) > 1 and self._samples[1][0] <= horizon:
            self._samples.popleft()

    def rate(self) -> float:
        if len(self._samples) < 2:
            return 0.0
        (t0, first), (t1, last) = self._samples[0], self._samples[-1]
        elapsed = t1 - t0
        if elapsed <= 0:
            return 0.0
        return max(0.0, (last - first) / elapsed)
