"""When is a weight stable enough to record: a pure rule over readings, time taken from ``reading.at``.

The indicator's own motion flag is necessary but not sufficient (its motion band and window are set for
trade, not for a truck whose driver is still rolling), so the lane asks for its own settle rule on top.
"""

from __future__ import annotations

from collections import deque

from devices.scale.reading import StableWeight, WeightReading


class StabilityDetector:
    """Reports a settled weight once per settle.

    Settled: the readings of the last ``window_ms`` (at least one reading at or before the window's
    start) spread no more than ``divisions * division_kg`` (max - min), and none reported motion or
    overload. It stays settled until a reading reports motion or overload, or the spread since the window
    began leaves the band (anchored, so a slow creep is caught too); the next settle reports again. A
    reading older than the previous one restarts the window.
    """

    def __init__(self, division_kg: float, divisions: int, window_ms: int) -> None:
        if division_kg <= 0 or divisions < 0 or window_ms <= 0:
            raise ValueError("division_kg and window_ms must be positive, divisions non-negative")
        # Readings are quantised to the division: allow float noise, never a whole extra division.
        self._band = divisions * division_kg + division_kg * 1e-6
        self._window_s = window_ms / 1000.0
        self._readings: deque[tuple[float, float]] = deque()
        self._stable_kg: float | None = None
        self._low = 0.0
        self._high = 0.0

    @property
    def stable(self) -> bool:
        return self._stable_kg is not None

    @property
    def stable_kg(self) -> float | None:
        """The weight reported at the last settle, while still settled."""
        return self._stable_kg

    def reset(self) -> None:
        """Forget everything (the scale was unreadable for a while)."""
        self._readings.clear()
        self._stable_kg = None

    def update(self, reading: WeightReading) -> StableWeight | None:
        """Take the next reading; return the settled weight when it has just settled."""
        readings = self._readings
        if reading.motion or reading.overload or (readings and reading.at < readings[-1][0]):
            self.reset()
            if not (reading.motion or reading.overload):
                readings.append((reading.at, reading.gross_kg))
            return None
        kg = reading.gross_kg
        if self._stable_kg is not None:
            low, high = min(self._low, kg), max(self._high, kg)
            if high - low <= self._band:
                self._low, self._high = low, high
                return None
            self._stable_kg = None
            readings.clear()
        readings.append((reading.at, kg))
        while len(readings) > 1 and _spread(readings) > self._band:
            readings.popleft()
        window_start = reading.at - self._window_s
        while len(readings) > 1 and readings[1][0] <= window_start:
            readings.popleft()
        if readings[0][0] > window_start:
            return None
        self._stable_kg = _settled_value(readings)
        self._low = min(r[1] for r in readings)
        self._high = max(r[1] for r in readings)
        return StableWeight(kg=self._stable_kg, at=reading.at)


def _spread(readings: deque[tuple[float, float]]) -> float:
    values = [kg for _, kg in readings]
    return max(values) - min(values)


def _settled_value(readings: deque[tuple[float, float]]) -> float:
    """The value shown most often in the window (latest on a tie): one the indicator actually displayed."""
    counts: dict[float, int] = {}
    for _, kg in readings:
        counts[kg] = counts.get(kg, 0) + 1
    best = readings[-1][1]
    for _, kg in reversed(readings):
        if counts[kg] > counts[best]:
            best = kg
    return best
