"""The lane state machine's vocabulary: its states, the events it is fed and the actions it returns.

Events and actions are frozen values so that a test (or the daemon's recorder) can compare and log them.
Several events carry an optional `tx_id`: when the sender gives one, the lane ignores the event unless it
names the current transaction, so that a late answer about an earlier vehicle (a slow decision, an officer
acting on a stale kiosk screen) can never open the barrier for the vehicle now at the stop line.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from devices.lane_inputs import InputSnapshot
from edge.decision import Outcome, Reason
from vision.identity import Identification

LightColor = Literal["red", "green"]
BarrierCommand = Literal["open", "closed"]
TxResult = Literal["passed", "rejected", "left", "aborted", "unconfirmed"]
"""How a transaction ends. "unconfirmed": the barrier was open while the lane could not watch it and
nothing tells whether the vehicle crossed; its declaration counts as used until an officer confirms."""


class LaneState(StrEnum):
    IDLE = "IDLE"  # no vehicle, barrier down
    ARRIVED = "ARRIVED"  # entry loop occupied, settling
    IDENTIFYING = "IDENTIFYING"  # cameras reading plate and containers
    WEIGHING = "WEIGHING"  # waiting for a stable weight
    DECIDING = "DECIDING"  # decision requested
    OPENING = "OPENING"  # open commanded, waiting for the up limit
    PASSING = "PASSING"  # barrier up; closes only through the interlock
    CLOSING = "CLOSING"  # close commanded, waiting for the down limit
    HOLD = "HOLD"  # red light: an officer decides, or a rejected vehicle backs out
    FAULT = "FAULT"  # link down, barrier fault, or not started: no automatic action


@dataclass(frozen=True, slots=True)
class Vehicle:
    """What the lane knows about the vehicle of the current transaction."""

    tx_id: str
    arrived_at: float
    identification: Identification | None = None
    weight_kg: float | None = None
    outcome: Outcome | None = None
    reasons: tuple[Reason, ...] = ()
    declaration_number: str | None = None
    hold_cause: str | None = None
    approved_by: str | None = None
    rejected_by: str | None = None
    officer_reason: str | None = None

    @property
    def cleared(self) -> bool:
        """May pass: the decision was PASS or an officer approved it."""
        return self.outcome is Outcome.PASS or self.approved_by is not None

    @property
    def rejected(self) -> bool:
        """Must back out: the decision was REJECT (not overridden) or an officer rejected it."""
        return self.rejected_by is not None or (self.outcome is Outcome.REJECT and self.approved_by is None)

    def as_dict(self) -> dict[str, object]:
        ident = self.identification
        return {
            "tx_id": self.tx_id,
            "arrived_at": self.arrived_at,
            "plate": ident.plate.text if ident is not None and ident.plate is not None else None,
            "containers": [c.text for c in ident.containers] if ident is not None else [],
            "weight_kg": self.weight_kg,
            "outcome": self.outcome.value if self.outcome is not None else None,
            "reasons": [r.value for r in self.reasons],
            "declaration_number": self.declaration_number,
            "hold_cause": self.hold_cause,
            "approved_by": self.approved_by,
            "rejected_by": self.rejected_by,
            "officer_reason": self.officer_reason,
        }


# --- events -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Inputs:
    """A fresh reading of the lane's discrete inputs (loops, photocell, limit switches)."""

    snapshot: InputSnapshot


@dataclass(frozen=True, slots=True)
class LinkLost:
    """The I/O controller cannot be read or written."""

    detail: str


@dataclass(frozen=True, slots=True)
class LinkRestored:
    """The I/O controller answers again; `snapshot` is its first reading."""

    snapshot: InputSnapshot


@dataclass(frozen=True, slots=True)
class ScaleStable:
    """The weighbridge settled on a weight."""

    kg: float


@dataclass(frozen=True, slots=True)
class ScaleUnstable:
    """The weight moved after settling: an earlier stable weight no longer holds."""


@dataclass(frozen=True, slots=True)
class ScaleFaulted:
    """The weighbridge cannot be read."""

    detail: str


@dataclass(frozen=True, slots=True)
class ScaleRecovered:
    """The weighbridge can be read again."""


@dataclass(frozen=True, slots=True)
class Identified:
    """The fused reads of the vehicle at the stop line."""

    identification: Identification
    tx_id: str | None = None  # when given, must name the current transaction


@dataclass(frozen=True, slots=True)
class Decided:
    """The decision for the current vehicle."""

    outcome: Outcome
    reasons: tuple[Reason, ...] = ()
    declaration_number: str | None = None
    tx_id: str | None = None  # when given, must name the current transaction


@dataclass(frozen=True, slots=True)
class OfficerApproved:
    """An officer lets a held (or, with a supervisor's rights, a rejected) vehicle pass."""

    officer: str
    reason: str
    tx_id: str | None = None  # when given, must name the current transaction


@dataclass(frozen=True, slots=True)
class OfficerRejected:
    """An officer refuses a held vehicle: it must back out. Final for the transaction."""

    officer: str
    reason: str
    tx_id: str | None = None  # when given, must name the current transaction


@dataclass(frozen=True, slots=True)
class OfficerCorrected:
    """An officer corrected a read (or recorded a red-channel inspection): decide again on the new facts.

    A PASS on the corrected facts opens the barrier; both reads stay on record (the daemon keeps them).
    """

    officer: str
    reason: str
    identification: Identification
    tx_id: str | None = None  # when given, must name the current transaction


@dataclass(frozen=True, slots=True)
class OfficerOpen:
    """A supervisor opens the barrier by hand, outside any transaction."""

    officer: str
    reason: str


@dataclass(frozen=True, slots=True)
class Tick:
    """Time passed; lets timeouts and hold times act when no input changes."""


LaneEvent = (
    Inputs
    | LinkLost
    | LinkRestored
    | ScaleStable
    | ScaleUnstable
    | ScaleFaulted
    | ScaleRecovered
    | Identified
    | Decided
    | OfficerApproved
    | OfficerRejected
    | OfficerCorrected
    | OfficerOpen
    | Tick
)


# --- actions ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenBarrier:
    """Drive the barrier up."""


@dataclass(frozen=True, slots=True)
class CloseBarrier:
    """Drive the barrier down (the driver checks its own interlock again)."""


@dataclass(frozen=True, slots=True)
class SetLight:
    color: LightColor


@dataclass(frozen=True, slots=True)
class StartIdentification:
    """Start the cameras' identification window for this transaction."""

    tx_id: str


@dataclass(frozen=True, slots=True)
class RequestDecision:
    """Decide on this vehicle; answer with `Decided`."""

    tx_id: str
    identification: Identification
    weight_kg: float | None


@dataclass(frozen=True, slots=True)
class TransactionStarted:
    tx_id: str
    at: float


@dataclass(frozen=True, slots=True)
class Transition:
    """One state change. `tx_id` is the transaction current when it began."""

    tx_id: str | None
    from_state: LaneState
    to_state: LaneState
    cause: str
    at: float

    def as_dict(self) -> dict[str, str | None]:
        """The step as the kiosk's listeners and central's transition events carry it (no lane clock)."""
        return {
            "tx_id": self.tx_id,
            "from_state": self.from_state.value,
            "to_state": self.to_state.value,
            "cause": self.cause,
        }


@dataclass(frozen=True, slots=True)
class TransactionEnded:
    tx_id: str
    result: TxResult
    at: float


@dataclass(frozen=True, slots=True)
class Alarm:
    """Something an officer or technician must know about now."""

    code: str
    detail: str


LaneAction = (
    OpenBarrier
    | CloseBarrier
    | SetLight
    | StartIdentification
    | RequestDecision
    | TransactionStarted
    | Transition
    | TransactionEnded
    | Alarm
)
