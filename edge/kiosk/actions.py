"""Officer actions on the lane, checked against what the lane is doing now and recorded with before/after.

Each check and the daemon call happen in one turn of the daemon's loop (no await between them), so the
lane cannot move on in between; the lane also ignores an officer event naming another transaction. The
daemon's own `officer_approve/reject/open` record no before/after, so those three write the audit record
(hash-chained, with its outbox event for central) through the daemon's recorder and submit the same lane
event the daemon methods would.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import status

from edge.decision import Outcome, Reason
from edge.kiosk.users import Role
from edge.lane import LaneState
from edge.lane_events import Vehicle
from edge.recorder import identification_json

if TYPE_CHECKING:
    from edge.daemon import LaneDaemon


class ActionRefused(Exception):
    """The lane cannot take this action now; `code` is the HTTP status to answer with."""

    def __init__(self, code: int, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def _held(daemon: LaneDaemon, tx_id: str) -> Vehicle:
    """The held vehicle the officer is looking at, or a refusal naming why not."""
    vehicle = daemon.lane.current
    if vehicle is None or daemon.lane.state is not LaneState.HOLD:
        raise ActionRefused(status.HTTP_409_CONFLICT, "no vehicle is held at the lane")
    if vehicle.tx_id != tx_id:
        raise ActionRefused(
            status.HTTP_409_CONFLICT, "the held vehicle changed: the screen showed an earlier one"
        )
    if vehicle.rejected_by is not None:
        raise ActionRefused(
            status.HTTP_409_CONFLICT, f"already rejected by {vehicle.rejected_by}: it must back out"
        )
    if daemon.officer_pending == tx_id:
        raise ActionRefused(
            status.HTTP_409_CONFLICT, "another officer's action on this vehicle is being applied"
        )
    return vehicle


def _decision_json(vehicle: Vehicle) -> dict[str, Any]:
    return {
        "state": LaneState.HOLD.value,
        "outcome": vehicle.outcome.value if vehicle.outcome else None,
        "reasons": [r.value for r in vehicle.reasons],
        "declaration_number": vehicle.declaration_number,
        "identification": identification_json(vehicle.identification),
        "weight_kg": vehicle.weight_kg,
    }


def approve(daemon: LaneDaemon, officer: str, role: Role, tx_id: str, reason: str) -> None:
    """Let the held vehicle pass; overriding a REJECT decision takes a supervisor."""
    vehicle = _held(daemon, tx_id)
    if vehicle.outcome is Outcome.REJECT and role is not Role.SUPERVISOR:
        raise ActionRefused(status.HTTP_403_FORBIDDEN, "only a supervisor may let a rejected vehicle pass")
    daemon.officer_approve(
        officer,
        reason,
        before=_decision_json(vehicle),
        after={"state": LaneState.OPENING.value, "approved_by": officer},
    )


def reject(daemon: LaneDaemon, officer: str, tx_id: str, reason: str) -> None:
    """Refuse the held vehicle: it must back out; final for the transaction."""
    vehicle = _held(daemon, tx_id)
    daemon.officer_reject(
        officer,
        reason,
        before=_decision_json(vehicle),
        after={"state": LaneState.HOLD.value, "rejected_by": officer},
    )


def correct(
    daemon: LaneDaemon,
    officer: str,
    tx_id: str,
    reason: str,
    plate: str | None,
    containers: list[str] | None,
) -> None:
    """Replace a misread plate and/or containers; the daemon keeps both reads and decides again."""
    _held(daemon, tx_id)  # the daemon's own LaneNotHolding check cannot fail in this same loop turn
    daemon.officer_correct(officer, reason, plate=plate, containers=containers)


def inspection_done(daemon: LaneDaemon, officer: str, tx_id: str, reason: str) -> None:
    """Record the red-channel inspection of the held vehicle's declaration; the daemon decides again."""
    vehicle = _held(daemon, tx_id)
    if Reason.RED_NOT_INSPECTED not in vehicle.reasons:
        raise ActionRefused(status.HTTP_409_CONFLICT, "the held vehicle is not waiting for an inspection")
    daemon.officer_inspection_done(officer, reason)  # a red-channel reason implies a matched declaration


def manual_open(daemon: LaneDaemon, officer: str, reason: str) -> None:
    """Open the barrier by hand (supervisors; the role is the router's check); any open transaction ends."""
    lane = daemon.lane
    if not lane.link_up:
        raise ActionRefused(status.HTTP_409_CONFLICT, "the lane controller is not reachable")
    if lane.state in (LaneState.OPENING, LaneState.PASSING):
        raise ActionRefused(status.HTTP_409_CONFLICT, "the barrier is already open")
    before = {
        "state": lane.state.value,
        "tx_id": lane.tx_id,
        "barrier_commanded": lane.barrier_commanded,
    }
    daemon.officer_open(
        officer, reason, before=before, after={"state": LaneState.OPENING.value, "barrier_commanded": "open"}
    )
