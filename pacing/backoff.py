"""Exponential backoff with jitter: the one delay policy for reconnects, reopens and retries.

Used by the Modbus link (devices/), the camera reader (vision/), the MQTT link, the task supervisor and the
outbox hold (sync/), and the local writer's busy retry (edge/). Jitter spreads the retries of many lanes or
gates that lost the same switch or broker, so they do not come back in lockstep.
"""

from __future__ import annotations

import random

NO_JITTER: tuple[float, float] = (1.0, 1.0)


class Backoff:
    """Delays doubling from `initial_s` up to `max_s`, each multiplied by a random factor in `jitter`.

    `jitter=(0.5, 1.0)` never waits longer than the step ("full-ish" jitter, for brokers);
    `jitter=(1.0, 1.1)` never retries sooner than the step (for devices with a minimum recovery time).
    """

    def __init__(
        self,
        initial_s: float,
        max_s: float,
        *,
        jitter: tuple[float, float] = NO_JITTER,
        rng: random.Random | None = None,
    ) -> None:
        low, high = jitter
        if initial_s <= 0 or not 0 < low <= high:
            raise ValueError(
                f"backoff needs initial_s > 0 and 0 < jitter low <= high, got {initial_s}, {jitter}"
            )
        self._initial = initial_s
        self._max = max(max_s, initial_s)
        self._jitter = (low, high)
        # Not security relevant: jitter only spreads retries.
        self._rng = rng or random.Random()  # noqa: S311
        self._attempt = 0

    def next(self) -> float:
        """The delay before the next attempt; each call doubles the following step, up to the bound."""
        step = min(self._max, self._initial * 2 ** min(self._attempt, 60))
        self._attempt += 1
        low, high = self._jitter
        return step if low == high == 1.0 else float(step * self._rng.uniform(low, high))

    def reset(self) -> None:
        """Start again from the initial delay (after a success)."""
        self._attempt = 0
