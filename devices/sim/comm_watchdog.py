"""The simulated controller's communication watchdog, modelled on WAGO's 750-352 fieldbus coupler.

The master writes the time (in `unit_s` units, 0 = disabled) and then triggers the watchdog by writing a
trigger value different from the last one; each new value restarts the countdown. If no new trigger comes
within the time, the watchdog expires: the controller switches its outputs to their safe values and the
status reads EXPIRED until the master writes the time register again (its re-arm), after which the next
trigger starts it. Triggers written while it is expired do not clear it, so a master that only refreshes
always reads the expiry it missed. Pure: time is passed in.
"""

from __future__ import annotations

from enum import IntEnum


class WatchdogStatus(IntEnum):
    """Values of the status register (WAGO 0x1006)."""

    NOT_ACTIVE = 0
    RUNNING = 1
    EXPIRED = 2


class CommWatchdog:
    """Time register, trigger register and latched expiry; `poll(now)` says when the outputs must go safe."""

    def __init__(self, unit_s: float = 0.1) -> None:
        if unit_s <= 0:
            raise ValueError("unit_s must be positive")
        self._unit_s = unit_s
        self._time_units = 0
        self._last_trigger = 0
        self._deadline: float | None = None
        self.status = WatchdogStatus.NOT_ACTIVE
        self.expiries = 0

    @property
    def timeout_s(self) -> float:
        return self._time_units * self._unit_s

    def write_time(self, units: int, now: float) -> None:
        """The master sets the time: this re-arms an expired watchdog; 0 disables it."""
        del now  # the countdown starts at the next trigger, as on the coupler
        self._time_units = units
        self._deadline = None
        self.status = WatchdogStatus.NOT_ACTIVE

    def write_trigger(self, value: int, now: float) -> None:
        """A new non-zero value (re)starts the countdown; a repeated value, or any while expired, does not."""
        changed = value != self._last_trigger
        self._last_trigger = value
        if not changed or value == 0 or self._time_units == 0 or self.status is WatchdogStatus.EXPIRED:
            return
        self._deadline = now + self.timeout_s
        self.status = WatchdogStatus.RUNNING

    def poll(self, now: float) -> bool:
        """True exactly once, at the first call after the countdown ran out: apply the safe values now."""
        if self.status is not WatchdogStatus.RUNNING or self._deadline is None or now < self._deadline:
            return False
        self.status = WatchdogStatus.EXPIRED
        self._deadline = None
        self.expiries += 1
        return True
