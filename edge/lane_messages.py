"""What the lane loop tells the rest of the daemon: records to write, steps to announce, work to start.

The lane loop never writes to the store, never calls a listener and never starts recognition itself:
it hands one of these to the main loop and goes on. Each is plain data, so the same messages could cross
a process boundary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edge.lane_events import (
    RequestDecision,
    StartIdentification,
    TransactionEnded,
    TransactionStarted,
    Transition,
)


@dataclass(frozen=True, slots=True)
class LaneStarted:
    """The lane came up from its first snapshot of the controller: the daemon is ready."""


@dataclass(frozen=True, slots=True)
class AlarmRaised:
    """A lane alarm, on the transaction that was current when it was raised."""

    tx_id: str | None
    code: str
    detail: str


@dataclass(frozen=True, slots=True)
class DeviceFaulted:
    """A device reported a fault (recorded for the history and central)."""

    device: str
    detail: str


@dataclass(frozen=True, slots=True)
class Announced:
    """A step the listeners hear of that is no record of its own (the inputs changed)."""

    kind: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class OfficerApplied:
    """The lane applied (or ignored) an officer's action on this transaction: the next officer may act."""

    tx_id: str | None


LaneMessage = (
    LaneStarted
    | AlarmRaised
    | DeviceFaulted
    | Announced
    | OfficerApplied
    | TransactionStarted
    | Transition
    | TransactionEnded
    | StartIdentification
    | RequestDecision
)
