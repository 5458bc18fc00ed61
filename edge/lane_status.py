"""An immutable picture of the lane, published by the lane loop after every step.

The kiosk, the uplink and the metrics read this, never the live `Lane`: it belongs to the lane loop,
and a picture taken between two steps is consistent (state, vehicle and inputs of the same moment). The
rules that read one picture live here once: whether a vehicle is held for an officer, and whether the
barrier may be opened by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from devices.lane_inputs import InputSnapshot
from edge.lane_events import BarrierCommand, LaneState, Vehicle

if TYPE_CHECKING:
    from edge.lane import Lane

#: A manual open is refused while the barrier is already (being) opened.
_OPEN_STATES = (LaneState.OPENING, LaneState.PASSING)


@dataclass(frozen=True, slots=True)
class LaneStatus:
    """The lane between two steps: what officers see and what their actions are checked against."""

    lane_id: str
    state: LaneState
    since: float  # monotonic seconds (the lane's clock) when the state was entered
    deadline: float | None  # when the state times out, on the same clock
    current: Vehicle | None
    snapshot: InputSnapshot
    barrier_commanded: BarrierCommand | None
    link_up: bool
    fault: str | None
    securing: bool  # PASSING without a cleared vehicle: closes as soon as the path allows
    scale_ok: bool
    scale_detail: str | None

    @classmethod
    def of(cls, lane: Lane) -> LaneStatus:
        return cls(
            lane_id=lane.config.lane_id,
            state=lane.state,
            since=lane.since,
            deadline=lane.deadline,
            current=lane.current,
            snapshot=lane.snapshot,
            barrier_commanded=lane.barrier_commanded,
            link_up=lane.link_up,
            fault=lane.fault,
            securing=lane.securing,
            scale_ok=lane.scale_ok,
            scale_detail=lane.scale_detail,
        )

    @property
    def tx_id(self) -> str | None:
        return self.current.tx_id if self.current is not None else None

    def held_vehicle(self) -> Vehicle | None:
        """The vehicle the lane holds for an officer (a rejected one too: it waits to back out), or None."""
        return self.current if self.state is LaneState.HOLD else None

    def awaiting_officer(self) -> Vehicle | None:
        """The held vehicle an officer may still approve, reject or correct: held and not rejected."""
        vehicle = self.held_vehicle()
        return vehicle if vehicle is not None and vehicle.rejected_by is None else None

    def manual_open_refusal(self) -> str | None:
        """Why the lane would ignore a manual open now, or None."""
        if not self.link_up:
            return "the lane controller is not reachable"
        if self.state in _OPEN_STATES:
            return "the barrier is already open"
        return None

    def status(self) -> dict[str, object]:
        """The lane's status as plain data (the uplink's telemetry `lane` member)."""
        snap = self.snapshot
        return {
            "lane_id": self.lane_id,
            "state": self.state.value,
            "since": self.since,
            "deadline": self.deadline,
            "tx_id": self.tx_id,
            "barrier_commanded": self.barrier_commanded,
            "link_up": self.link_up,
            "fault": self.fault,
            "securing": self.securing,
            "scale_ok": self.scale_ok,
            "scale_detail": self.scale_detail,
            "inputs": {
                "entry_loop": snap.entry_loop,
                "exit_loop": snap.exit_loop,
                "photocell": snap.photocell,
                "barrier_up": snap.barrier_up,
                "barrier_down": snap.barrier_down,
            },
            "vehicle": self.current.as_dict() if self.current is not None else None,
        }
