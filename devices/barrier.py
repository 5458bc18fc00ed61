"""The barrier and its safety interlock, in software.

Rules, whoever asks: the barrier never closes while the exit loop or the photocell is occupied; it closes
only after the path has been clear continuously for `close_hold_s` (a blip restarts the count); an
obstruction while it is closing reopens it at once; an unreadable controller counts as obstructed.

This interlock needs a running daemon. The close command must not outlive it: the I/O controller's
communication watchdog, armed and refreshed by LaneIO (devices/controller_watchdog.py), drops the close
coil (and, per `safe_action`, stops the arm or lifts it) when the daemon stops refreshing it; an arm
with both coils OFF stops where it is. The barrier controller's own obstacle input, wired to the
photocell and the exit loop (docs/deploy.md), reverses a close with no software at all.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from enum import StrEnum
from typing import Literal

from devices.config import BarrierConfig
from devices.lane_inputs import InputSnapshot
from devices.modbus_io import CoilName, LaneIO

Commanded = Literal["open", "closed"]


class InterlockRefused(Exception):
    """Closing was refused because the barrier path is, or was too recently, obstructed."""


class BarrierPosition(StrEnum):
    """Where the arm is, from its two limit switches."""

    UP = "up"
    DOWN = "down"
    MOVING = "moving"  # neither limit: travelling, stopped half-way, or unknown (link down)
    FAULT = "fault"  # both limits at once: a switch or its wiring is broken


def barrier_position(snapshot: InputSnapshot) -> BarrierPosition:
    """The arm position told by the limit switches in one snapshot."""
    if snapshot.barrier_up and snapshot.barrier_down:
        return BarrierPosition.FAULT
    if snapshot.barrier_up:
        return BarrierPosition.UP
    if snapshot.barrier_down:
        return BarrierPosition.DOWN
    return BarrierPosition.MOVING


class BarrierInterlock:
    """Pure closing rule: the path must have been seen clear, without a break, for at least hold_s.

    Time is passed in. Until the first observation the path counts as obstructed: unknown is unsafe.
    """

    def __init__(self, hold_s: float) -> None:
        if hold_s < 0:
            raise ValueError("hold_s must not be negative")
        self._hold_s = hold_s
        self._obstructed = True
        self._clear_since: float | None = None
        self._seen: InputSnapshot | None = None

    @property
    def hold_s(self) -> float:
        return self._hold_s

    def observe(self, snapshot: InputSnapshot, now: float) -> None:
        """Feed one snapshot; any obstruction (a link-down snapshot included) restarts the clear count.

        So does a detector counter that moved since the last snapshot, even with the path clear now.
        """
        seen, self._seen = self._seen, snapshot
        if snapshot.barrier_path_obstructed:
            self._obstructed = True
            self._clear_since = None
        elif seen is not None and snapshot.activations_since(seen):
            self._obstructed = True  # something passed since the last look: a close under way reverses
            self._clear_since = now  # and the path has been clear only since now
        elif self._clear_since is None or self._obstructed:
            self._obstructed = False
            if self._clear_since is None:
                self._clear_since = now

    @property
    def obstructed(self) -> bool:
        """True while the exit loop or photocell is occupied in the last snapshot, or none was seen yet."""
        return self._obstructed

    def refusal(self, now: float) -> str | None:
        """Why closing is forbidden at `now`, or None when it is allowed."""
        if self._obstructed or self._clear_since is None:
            return "barrier path obstructed (exit loop or photocell occupied, or inputs unknown)"
        clear_for = now - self._clear_since
        if clear_for < self._hold_s:
            return f"barrier path clear for only {clear_for:.2f} s of the required {self._hold_s:.2f} s"
        return None

    def may_close(self, now: float) -> bool:
        """True when the path has been clear continuously for at least hold_s."""
        return self.refusal(now) is None


class Barrier:
    """Drives the barrier coils through LaneIO and enforces the interlock on every close.

    The coils are maintained: the open coil held ON drives the arm up, the close coil held ON drives it
    down; the two are never ON together because every command switches the other one OFF first.
    Commands are serialised, so a reopen waits for an in-flight close to finish and then overrides it.
    """

    def __init__(
        self, io: LaneIO, config: BarrierConfig, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._io = io
        self._config = config
        self._clock = clock
        self.interlock = BarrierInterlock(config.close_hold_s)
        self._lock = asyncio.Lock()
        self._commanded: Commanded | None = None
        self._commanded_at: float | None = None
        self._closing = False  # a close is under way: set by close(), cleared at the down limit
        self._last = InputSnapshot.link_down()

    @property
    def commanded(self) -> Commanded | None:
        """The last command given ("open" or "closed"), None before the first."""
        return self._commanded

    @property
    def position(self) -> BarrierPosition:
        """The arm position from the last snapshot fed to on_inputs()."""
        return barrier_position(self._last)

    def move_overdue(self, now: float) -> bool:
        """True when the commanded limit switch has not been reached within move_timeout_s (a fault)."""
        if self._commanded is None or self._commanded_at is None:
            return False
        target = BarrierPosition.UP if self._commanded == "open" else BarrierPosition.DOWN
        return self.position is not target and now - self._commanded_at > self._config.move_timeout_s

    async def open(self) -> None:
        """Drive the arm up: close coil OFF, then open coil ON. Raises IOWriteError if not confirmed."""
        async with self._lock:
            await self._drive_open()

    async def close(self) -> None:
        """Drive the arm down, unless the interlock forbids it (InterlockRefused); IOWriteError on I/O."""
        async with self._lock:
            now = self._clock()
            # The driver's current view is fresher than the last event delivered to on_inputs().
            self.interlock.observe(self._io.snapshot, now)
            reason = self.interlock.refusal(now)
            if reason is not None:
                raise InterlockRefused(reason)
            # Commanded before the writes: if an obstruction arrives meanwhile, on_inputs() reopens.
            self._commanded = "closed"
            self._commanded_at = now
            self._closing = True
            await self._io.write_coil(CoilName.BARRIER_OPEN, False)
            await self._io.write_coil(CoilName.BARRIER_CLOSE, True)

    async def on_inputs(self, snapshot: InputSnapshot) -> bool:
        """Feed the interlock; reopen at once (and return True) if obstructed while closing.

        Raises IOWriteError when the reopen cannot be confirmed; the barrier then stays "closed" as
        commanded, so the next snapshot tries the reopen again.
        """
        self.interlock.observe(snapshot, self._clock())
        self._last = snapshot
        if snapshot.barrier_down:
            self._closing = False  # the close completed: an obstruction from now on is no reason to open
        if not self._must_reopen(snapshot):
            return False
        async with self._lock:
            # Re-check under the lock: a command may have been given while we waited.
            if not self._must_reopen(self._last):
                return False
            await self._drive_open()
            return True

    def link_lost(self) -> None:
        """The controller cannot be read: restart the clear-path timer (nothing is known of the path)."""
        self.interlock.observe(InputSnapshot.link_down(), self._clock())
        self._last = InputSnapshot.link_down()

    def _must_reopen(self, snapshot: InputSnapshot) -> bool:
        # Only a close under way reverses: an arm at rest that leaves its down limit (a truck nosing into
        # it, a bouncing switch) is the lane's to report, never a reason to open for an uncleared vehicle.
        return (
            self._commanded == "closed"
            and self._closing
            and self.interlock.obstructed
            and barrier_position(snapshot) is not BarrierPosition.DOWN
        )

    async def _drive_open(self) -> None:
        # Set only once confirmed, so a failed reopen is retried on the next snapshot.
        await self._io.write_coil(CoilName.BARRIER_CLOSE, False)
        await self._io.write_coil(CoilName.BARRIER_OPEN, True)
        self._commanded = "open"
        self._commanded_at = self._clock()
        self._closing = False
