"""How late the lane loop is: poll-to-step lag of input changes and the lateness of its timer.

A barrier decision is only as fast as the loop that makes it: these figures show, in production (metrics)
and in `benchmarks/bench_lane_lag.py`, that nothing else in the process delays it.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import deque
from collections.abc import Callable

KEEP = 20_000  # samples per series: minutes of polling, bounded memory


class LagRecorder:
    """Samples written by the lane loop, summarised by anyone (a lock guards the copy)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._polled: deque[float] = deque(maxlen=KEEP)
        self.step_lag_s: deque[float] = deque(maxlen=KEEP)
        self.tick_late_s: deque[float] = deque(maxlen=KEEP)

    def polled(self, at: float) -> None:
        """An input change was read from the controller at `at`; its lane step follows in order."""
        with self._lock:
            self._polled.append(at)

    def stepped(self) -> None:
        """The lane stepped the oldest input change not yet stepped."""
        now = self._clock()
        with self._lock:
            if self._polled:
                self.step_lag_s.append(now - self._polled.popleft())

    def ticked(self, late_s: float) -> None:
        with self._lock:
            self.tick_late_s.append(max(0.0, late_s))

    def reset(self) -> None:
        with self._lock:
            self._polled.clear()
            self.step_lag_s.clear()
            self.tick_late_s.clear()

    def summary(self) -> dict[str, dict[str, float]]:
        """p50, p99 and max in milliseconds of each series, with the sample count."""
        with self._lock:
            series = {"step_lag": list(self.step_lag_s), "tick_late": list(self.tick_late_s)}
        return {name: _quantiles(values) for name, values in series.items()}


def _quantiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0, "p50_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return {
        "n": len(ordered),
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": p99 * 1000,
        "max_ms": ordered[-1] * 1000,
    }
