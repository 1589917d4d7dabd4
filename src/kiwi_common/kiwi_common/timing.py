"""Tick timing of a node's control timer, as its diagnostics report it."""

from __future__ import annotations

import time
from collections import deque

import numpy as np

LATE = 1.5  # a tick is late when its period exceeds this many nominal periods


class TickTimer:
    """Wall-clock periods between ticks (the last `window` of them) and late ticks since start."""

    def __init__(self, period: float, window: int = 300):
        self.period = period
        self.periods: deque[float] = deque(maxlen=window)
        self.late_total = 0
        self._last: float | None = None

    def tick(self, now: float | None = None) -> float | None:
        """Record a tick at `now` (monotonic s); returns the period since the last one (None at first)."""
        now = time.monotonic() if now is None else now
        elapsed = None if self._last is None else now - self._last
        if elapsed is not None:
            self.periods.append(elapsed)
            self.late_total += elapsed > LATE * self.period
        self._last = now
        return elapsed

    def late_in_window(self) -> int:
        return int(np.sum(np.array(self.periods) > LATE * self.period))

    def percentile_ms(self, q: float) -> float:
        return float(np.percentile(self.periods, q)) * 1e3 if self.periods else float("nan")
