"""What the lane knows of its barrier path: inputs, link, interlock clock, barrier command, crossings.

`Lane` (edge/lane.py) owns one `LanePath` (its handlers reach it as `lane.path`) and decides what to do
with what it reports; the path emits no actions and reads no clock (`now` is passed in). It keeps the
latest input snapshot (every detector occupied while the link is down), since when the exit loop and
photocell have been continuously clear (the S1 interlock), the barrier command in force and whether a close
this lane commanded is still under way (S2), whether the cleared vehicle crossed, and what the
controller's activation counters say about an outage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from devices.lane_inputs import InputSnapshot
from edge.lane_events import BarrierCommand, LaneState, TxResult

S = LaneState
AFTER_OPEN: Final = (S.OPENING, S.PASSING, S.CLOSING)
"""The states of a passage: a cleared vehicle's barrier has been commanded open."""


@dataclass(frozen=True, slots=True)
class Seen:
    """What one input reading told the lane."""

    used: bool  # the path was occupied, or a counter moved, since the previous reading: not clear all along
    reversed: bool  # a close under way met it: the barrier is now commanded open (S2), the lane says so
    unauthorized: bool  # the exit loop became occupied while the barrier is down and not commanded open
    crossed: bool  # the cleared vehicle is past the light just now: stop the next one


class LanePath:
    """The inputs and interlock of one lane's barrier path, tracked reading by reading."""

    def __init__(self, close_hold_s: float) -> None:
        self.close_hold_s: Final = close_hold_s
        self.snapshot = InputSnapshot.link_down()
        self.link_up = False
        self.link_detail = "not started"
        self.commanded: BarrierCommand | None = None
        self.closing = False  # a close we commanded has not yet reached the down limit (S2 applies)
        self.crossed = False  # the path was obstructed since the barrier was commanded open
        self.unconfirmed = False  # the barrier was open while the link was down: crossing unknowable
        self.outage_count: int | None = None  # detector activations counted across the last outage
        self._clear_since: float | None = None
        self._before_outage: InputSnapshot | None = None  # the last inputs seen before the link was lost

    def may_close(self, now: float) -> bool:
        """The interlock: link up, exit loop and photocell continuously clear for close_hold_s."""
        return (
            self.link_up
            and not self.snapshot.barrier_path_obstructed
            and self._clear_since is not None
            and now - self._clear_since >= self.close_hold_s
        )

    def see(self, snap: InputSnapshot, now: float, state: LaneState, suspended: LaneState | None) -> Seen:
        """Take a reading from a live link in lane `state` (`suspended`: the state FAULT interrupted).

        Restarts the clear time, reverses a close under way (S2), notes a crossing of the open barrier.
        """
        prev, self.snapshot = self.snapshot, snap
        used = snap.path_used_since(prev)  # occupied, or a counter moved: not clear all along
        if snap.barrier_path_obstructed:
            self._clear_since = None
        elif used:
            self._clear_since = now  # something passed between two polls: clear only since now
        elif self._clear_since is None:
            self._clear_since = now
        reversed_ = self.closing and used and not snap.barrier_down
        if reversed_:
            self.command("open")
        if snap.barrier_down:
            self.closing = False
        unauthorized = (
            snap.exit_loop and not prev.exit_loop and snap.barrier_down and self.commanded != "open"
        )
        crossed_now = False
        if used and not self.crossed:
            if state in (S.OPENING, S.PASSING):
                self.crossed = crossed_now = True
            elif state is S.FAULT and suspended in AFTER_OPEN:
                self.crossed = (
                    True  # seen while a barrier fault holds the lane: the light follows on recovery
                )
        return Seen(used, reversed_, unauthorized, crossed_now)

    def command(self, command: BarrierCommand) -> None:
        """Record a barrier command the lane emits; a close is under way until the down limit is seen."""
        self.commanded, self.closing = command, command == "closed"

    def new_passage(self) -> None:
        """The barrier is commanded open for a new passage: nothing has crossed yet."""
        self.crossed = self.unconfirmed = False

    def lose_link(self, detail: str) -> bool:
        """The link dropped: assume every detector occupied. False if it was already down."""
        if not self.link_up:
            return False
        self.link_up, self.link_detail = False, detail
        self._before_outage = self.snapshot
        self.snapshot, self._clear_since = InputSnapshot.link_down(), None
        return True

    def restore_link(self) -> None:
        """The link is back: no input edges are inferred across the outage, the next reading is seen whole."""
        self.link_up = True
        self.snapshot = InputSnapshot.link_down()

    def account_outage(self, snap: InputSnapshot, suspended: LaneState | None, cleared: bool) -> None:
        """Count a crossing the link outage hid, or mark the current passage unconfirmed (lane_recovery.py).

        `suspended` is the state the lane left for FAULT; `cleared` whether its transaction was cleared.
        """
        before, self._before_outage = self._before_outage, None
        self.outage_count = None
        if before is None or suspended not in AFTER_OPEN:
            return
        counted = self.outage_count = snap.activations_since(before)
        if counted:
            self.crossed = True
        elif counted is None and not self.crossed and suspended in (S.OPENING, S.PASSING):
            self.unconfirmed = cleared

    def passage(self) -> TxResult | None:
        """How a cleared passage ends now: "passed", "unconfirmed", or None (the declaration not used)."""
        if self.crossed:
            return "passed"
        return "unconfirmed" if self.unconfirmed else None
