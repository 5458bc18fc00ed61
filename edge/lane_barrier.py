"""The lane's handlers while the barrier is in use: opening, the vehicle passing, closing, their timeouts.

Rows of `TRANSITIONS` (edge/lane.py) for OPENING, PASSING and CLOSING. Each handler is a function
(lane, event, now) -> None that works through the lane's handler API (see `Lane`). The close itself is
commanded here and only here, once the S1 interlock (`Lane.may_close`) allows it; the S2 reversal of a
close that meets an obstruction is the lane's own (`Lane.handle`, on the reading that shows it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edge.lane_events import CloseBarrier, Inputs, LaneState, OpenBarrier, Tick

if TYPE_CHECKING:
    from edge.lane import Expired, Lane

S = LaneState


def on_opening_inputs(lane: Lane, _: Inputs | Tick, now: float) -> None:
    if lane.path.snapshot.barrier_up and not lane.path.snapshot.barrier_down:
        lane.go(S.PASSING, "barrier up limit", now)


def on_barrier_timeout(lane: Lane, _: Expired, now: float) -> None:
    """OPENING or CLOSING: the barrier did not reach its limit in time; FAULT until it is seen moving."""
    direction = "up" if lane.state is S.OPENING else "down"
    detail = f"barrier not {direction} within {lane.timeouts[lane.state]}s"
    lane.barrier_fault = detail
    lane.fault_limits = (lane.path.snapshot.barrier_up, lane.path.snapshot.barrier_down)
    lane.enter_fault(detail, now)
    lane.light("red")
    lane.alarm(f"barrier_{'open' if direction == 'up' else 'close'}_timeout", detail)


def on_passing_check(lane: Lane, _: Inputs | Tick, now: float) -> None:
    """PASSING: close once the path has been clear for the hold time, and the vehicle crossed or left
    (securing: whatever is on the entry loop)."""
    if not lane.path.may_close(now):
        return
    if lane.secure_when_clear:
        _close(lane, f"securing: path clear {lane.close_hold_s}s", now)
    elif lane.path.crossed or not lane.path.snapshot.entry_loop:
        why = "vehicle crossed" if lane.path.crossed else "entry loop clear"
        _close(lane, f"{why}; path clear {lane.close_hold_s}s", now)


def _close(lane: Lane, cause: str, now: float) -> None:
    lane.go(S.CLOSING, cause, now)
    lane.path.command("closed")
    lane.emit(CloseBarrier())
    lane.light("red")


def on_pass_timeout(lane: Lane, _: Expired, __: float) -> None:
    """PASSING: an alarm, once; the barrier stays open, it never closes on a vehicle."""
    lane.alarm("pass_timeout", f"path not clear {lane.config.pass_timeout_s}s after opening; kept open")


def on_closing_inputs(lane: Lane, _: Inputs | Tick, now: float) -> None:
    snap = lane.path.snapshot
    if snap.barrier_down and not snap.barrier_up:  # closed: what the path sees now is beyond the arm
        lane.to_idle("barrier down limit", "passed" if lane.path.crossed else "left", now)
    elif snap.barrier_path_obstructed:
        if lane.path.closing:  # normally already reversed when the obstruction was seen
            lane.path.command("open")
            lane.emit(OpenBarrier())
        lane.go(S.PASSING, "obstruction while closing", now)
