"""An immutable picture of the lane, published by the lane thread after every step.

The kiosk, the uplink and the metrics read this, never the live `Lane`: it belongs to the lane thread,
and a picture taken between two steps is consistent (state, vehicle and inputs of the same moment).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from devices.lane_inputs import InputSnapshot
from edge.lane_events import BarrierCommand, Vehicle

if TYPE_CHECKING:
    from edge.lane import Lane, LaneState


@dataclass(frozen=True, slots=True)
class LaneStatus:
    """The lane between two steps: what officers see and what their actions are checked against."""

    state: LaneState
    current: Vehicle | None
    snapshot: InputSnapshot
    barrier_commanded: BarrierCommand | None
    link_up: bool
    fault: str | None
    fields: dict[str, object]

    @classmethod
    def of(cls, lane: Lane) -> LaneStatus:
        return cls(
            state=lane.state,
            current=lane.current,
            snapshot=lane.snapshot,
            barrier_commanded=lane.barrier_commanded,
            link_up=lane.link_up,
            fault=lane.fault,
            fields=lane.status(),
        )

    @property
    def tx_id(self) -> str | None:
        return self.current.tx_id if self.current is not None else None

    def status(self) -> dict[str, object]:
        """The lane's status fields (a copy: the picture stays as it was taken)."""
        return dict(self.fields)
