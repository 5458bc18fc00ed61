"""The lane's handlers from a vehicle's arrival to its decision request: arrival, identification, weight.

Rows of `TRANSITIONS` (edge/lane.py) for IDLE, ARRIVED, IDENTIFYING and WEIGHING, and the rule every waiting
state shares: a vehicle may leave (or back out) at any time before the barrier opens. Each handler is a
function (lane, event, now) -> None that works through the lane's handler API (see `Lane`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edge.lane_events import (
    Identified,
    Inputs,
    LaneState,
    ScaleFaulted,
    ScaleStable,
    ScaleUnstable,
    StartIdentification,
    Tick,
)
from vision.identity import Identification

if TYPE_CHECKING:
    from edge.lane import Expired, Lane

S = LaneState


def on_idle_inputs(lane: Lane, _: Inputs | Tick | None, now: float) -> None:
    """IDLE: a vehicle on the entry loop starts a transaction (also called on entering IDLE)."""
    if lane.path.link_up and lane.path.snapshot.entry_loop:
        lane.emit(lane.tx.start(now))
        lane.go(S.ARRIVED, "entry loop occupied", now)


def on_waiting_inputs(lane: Lane, _: Inputs, now: float) -> None:
    """Any state before the barrier opens: the entry loop cleared, the vehicle left or backed out."""
    if not lane.path.snapshot.entry_loop:
        rejected = lane.tx.current is not None and lane.tx.current.rejected
        cause = "rejected vehicle backed out" if rejected else "entry loop cleared: vehicle left"
        lane.to_idle(cause, "rejected" if rejected else "left", now)


def on_settled(lane: Lane, _: Expired, now: float) -> None:
    lane.go(S.IDENTIFYING, f"entry loop held {lane.config.arrive_settle_s}s", now)
    lane.emit(StartIdentification(lane.vehicle().tx_id))


def on_identified(lane: Lane, event: Identified, now: float) -> None:
    if lane.tx.is_current(event.tx_id):
        lane.tx.update(identification=event.identification)
        _after_identification(lane, "identified", now)


def on_identify_timeout(lane: Lane, _: Expired, now: float) -> None:
    lane.tx.update(identification=Identification(plate=None))
    _after_identification(lane, "identification timeout: no read", now)


def _after_identification(lane: Lane, cause: str, now: float) -> None:
    if lane.vehicle().weight_kg is not None:
        lane.decide(f"{cause}; weight already stable", now)
    elif not lane.config.require_weight:
        lane.decide(f"{cause}; weight not required", now)
    elif not lane.scale_ok:
        lane.decide(f"{cause}; scale faulted", now)
    else:
        lane.go(S.WEIGHING, cause, now)


def on_late_identified(lane: Lane, event: Identified, _: float) -> None:
    """WEIGHING: an identification after the timeout still replaces the empty one."""
    if lane.tx.is_current(event.tx_id):
        lane.tx.update(identification=event.identification)


def on_weight(lane: Lane, event: ScaleStable, _: float) -> None:
    """Before WEIGHING: a stable vehicle weight is kept for the decision (the empty scale is not one)."""
    if event.kg >= lane.config.min_vehicle_kg:
        lane.tx.update(weight_kg=event.kg)


def on_weight_lost(lane: Lane, _: ScaleUnstable, __: float) -> None:
    lane.tx.update(weight_kg=None)


def on_weighed(lane: Lane, event: ScaleStable, now: float) -> None:
    if event.kg < lane.config.min_vehicle_kg:
        return  # the empty scale settled before the truck drove on: keep waiting
    lane.tx.update(weight_kg=event.kg)
    lane.decide(f"stable weight {event.kg:g} kg", now)


def on_scale_faulted(lane: Lane, event: ScaleFaulted, now: float) -> None:
    lane.decide(f"scale fault: {event.detail}", now)


def on_weigh_timeout(lane: Lane, _: Expired, now: float) -> None:
    lane.decide(f"no stable weight within {lane.config.weigh_timeout_s}s", now)
