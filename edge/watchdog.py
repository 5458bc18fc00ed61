"""systemd watchdog pings that mean "every part of the lane is alive", not just "the process exists".

A ping (``WATCHDOG=1``) goes out at half of ``WatchdogSec`` only while every registered liveness check
passes. A stuck part (a poller hung in a request, a reader thread dead, the lane loop blocked) stops the
pings, and systemd kills and restarts the service when ``WatchdogSec`` runs out. If the event loop itself
is blocked, this task cannot run at all, which stops the pings the same way.

Checks are plain ``() -> bool`` callables, evaluated on the event loop. The helpers below build the usual
ones: a heartbeat a loop touches each round, a counter that must keep moving, a task that must not end.
A check that fails is logged once (by name) until it passes again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from edge.sdnotify import Notifier, watchdog_interval

log = logging.getLogger("edge.watchdog")

LivenessCheck = Callable[[], bool]
Clock = Callable[[], float]


class Watchdog:
    """Pings the service manager while all liveness checks pass; see the module docstring."""

    def __init__(
        self,
        notifier: Notifier,
        checks: Mapping[str, LivenessCheck],
        interval_s: float | None = None,
    ) -> None:
        """`interval_s` defaults to half of ``$WATCHDOG_USEC``; with neither, run() returns at once."""
        self._notifier = notifier
        self._checks: dict[str, LivenessCheck] = dict(checks)
        self.interval_s = interval_s if interval_s is not None else watchdog_interval()
        self._failing: set[str] = set()
        self.pings = 0

    def register(self, name: str, check: LivenessCheck) -> None:
        """Add a check (a camera reader started later, say); names are unique."""
        if name in self._checks:
            raise ValueError(f"liveness check {name!r} is already registered")
        self._checks[name] = check

    def status(self) -> dict[str, bool]:
        """Each check's current result, for the metrics and the lane status (does not log)."""
        return {name: self._passes(name, check, quiet=True) for name, check in self._checks.items()}

    @property
    def failing(self) -> frozenset[str]:
        """The checks that failed at the last beat()."""
        return frozenset(self._failing)

    def beat(self) -> bool:
        """Evaluate every check; ping if all pass. True if a ping was sent."""
        failing = {name for name, check in self._checks.items() if not self._passes(name, check)}
        for name in sorted(failing - self._failing):
            log.error(
                "liveness check %s failed: watchdog pings stopped, systemd restarts the service "
                "if it does not recover",
                name,
                extra={"check": name},
            )
        for name in sorted(self._failing - failing):
            log.warning("liveness check %s passes again: watchdog pings resume", name, extra={"check": name})
        if failing != self._failing:
            text = "stuck: " + ", ".join(sorted(failing)) if failing else "running"
            self._notifier.status(text)
        self._failing = failing
        if failing:
            return False
        if self._notifier.watchdog():
            self.pings += 1
        return True

    async def run(self) -> None:
        """Beat every `interval_s` until cancelled; returns at once when systemd wants no pings."""
        interval = self.interval_s
        if interval is None:
            log.debug("no systemd watchdog for this process: liveness checks are not pinged")
            return
        log.info(
            "watchdog: pinging every %.1f s while %s pass",
            interval,
            ", ".join(sorted(self._checks)) or "(no checks)",
        )
        while True:
            self.beat()
            await asyncio.sleep(interval)

    def _passes(self, name: str, check: LivenessCheck, *, quiet: bool = False) -> bool:
        try:
            return bool(check())
        except Exception:  # a broken check is a failing check: better a restart than a blind watchdog
            if not quiet and name not in self._failing:
                log.exception("liveness check %s raised", name, extra={"check": name})
            return False


class Heartbeat:
    """A timestamp a loop refreshes every round; alive while fresher than `max_age_s`.

    beat() is one float store, so reader threads may call it too.
    """

    def __init__(self, max_age_s: float, clock: Clock = time.monotonic) -> None:
        self.max_age_s = max_age_s
        self._clock = clock
        self._last = clock()

    def beat(self) -> None:
        self._last = self._clock()

    @property
    def age_s(self) -> float:
        return self._clock() - self._last

    def alive(self) -> bool:
        return self.age_s <= self.max_age_s


def progress_check(
    counter: Callable[[], int], max_stall_s: float, clock: Clock = time.monotonic
) -> LivenessCheck:
    """Passes while `counter()` has changed within `max_stall_s` (a poller's polls+errors+reconnects)."""
    last_value = counter()
    last_change = clock()

    def check() -> bool:
        nonlocal last_value, last_change
        value = counter()
        now = clock()
        if value != last_value:
            last_value, last_change = value, now
        return now - last_change <= max_stall_s

    return check


def freshness_check(
    last_at: Callable[[], float | None], max_age_s: float, clock: Clock = time.monotonic
) -> LivenessCheck:
    """Passes while the monotonic time `last_at()` reports is within `max_age_s` (None: not yet, fails)."""

    def check() -> bool:
        at = last_at()
        return at is not None and clock() - at <= max_age_s

    return check


def task_check(task: asyncio.Future[Any]) -> LivenessCheck:
    """Passes while `task` has not ended: a poller that returned or crashed is not polling."""
    return lambda: not task.done()


def all_of(*checks: LivenessCheck) -> LivenessCheck:
    """One check made of several (a task that is running *and* making progress)."""
    return lambda: all(check() for check in checks)
