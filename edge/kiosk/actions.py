"""Officer actions on the lane, checked against what the lane is doing now and recorded with before/after.

The checks read the lane's latest published picture (`LaneAccess.view`, mirrored from the lane process); the
lane process applies the action in order with its own events and ignores one naming another transaction.
The actions go through the lane's officer desk, which writes the audit record (hash-chained, with its
outbox event for central) before handing the event to the lane.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from fastapi import status

from edge.decision import Outcome, Reason
from edge.kiosk.users import Role
from edge.lane import LaneState
from edge.lane_core import LaneBusy
from edge.lane_events import Vehicle
from edge.officer import CorrectionNeedsSupervisor, LaneNotHolding
from edge.recorder import identification_json
from edge.storage_health import is_storage_error

if TYPE_CHECKING:
    from edge.kiosk.lane_access import LaneAccess


class ActionRefused(Exception):
    """The lane cannot take this action now; `code` is the HTTP status to answer with."""

    def __init__(self, code: int, detail: str, words: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.words = words  # the refusal in each screen language, where it is not one of refusals.py's forms


@contextmanager
def _handed_to_lane() -> Iterator[None]:
    """The lane moved on since the check (409), its queue is full or stopped, or the store is full (503)."""
    try:
        yield
    except LaneNotHolding as exc:
        raise ActionRefused(status.HTTP_409_CONFLICT, str(exc)) from None
    except LaneBusy as exc:
        raise ActionRefused(
            status.HTTP_503_SERVICE_UNAVAILABLE, f"the lane cannot take it now: {exc}"
        ) from None
    except sqlite3.Error as exc:
        if not is_storage_error(exc):
            raise
        # Nothing was recorded and nothing reached the lane: the vehicle stays as it is.
        raise ActionRefused(
            status.HTTP_503_SERVICE_UNAVAILABLE, f"the store cannot record this action now ({exc}); try again"
        ) from None


def _held(lane: LaneAccess, tx_id: str) -> Vehicle:
    """The held vehicle the officer is looking at, or a refusal naming why not."""
    vehicle = lane.view.held_vehicle()
    if vehicle is None:
        raise ActionRefused(status.HTTP_409_CONFLICT, "no vehicle is held at the lane")
    if vehicle.tx_id != tx_id:
        raise ActionRefused(
            status.HTTP_409_CONFLICT, "the held vehicle changed: the screen showed an earlier one"
        )
    if vehicle.rejected_by is not None:
        raise ActionRefused(
            status.HTTP_409_CONFLICT, f"already rejected by {vehicle.rejected_by}: it must back out"
        )
    if lane.officer.pending == tx_id:
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


def approve(lane: LaneAccess, officer: str, role: Role, tx_id: str, reason: str) -> None:
    """Let the held vehicle pass; overriding a REJECT decision takes a supervisor."""
    vehicle = _held(lane, tx_id)
    if vehicle.outcome is Outcome.REJECT and role is not Role.SUPERVISOR:
        raise ActionRefused(status.HTTP_403_FORBIDDEN, "only a supervisor may let a rejected vehicle pass")
    with _handed_to_lane():
        lane.officer.approve(
            officer,
            reason,
            before=_decision_json(vehicle),
            after={"state": LaneState.OPENING.value, "approved_by": officer},
        )


def reject(lane: LaneAccess, officer: str, tx_id: str, reason: str) -> None:
    """Refuse the held vehicle: it must back out; final for the transaction."""
    vehicle = _held(lane, tx_id)
    with _handed_to_lane():
        lane.officer.reject(
            officer,
            reason,
            before=_decision_json(vehicle),
            after={"state": LaneState.HOLD.value, "rejected_by": officer},
        )


def correct(
    lane: LaneAccess,
    officer: str,
    tx_id: str,
    reason: str,
    plate: str | None,
    containers: list[str] | None,
    role: Role = Role.OFFICER,
) -> None:
    """Replace a misread plate and/or containers; the daemon keeps both reads and decides again. A read
    the lane's grammar or the check digit refuses takes a supervisor (403: English detail, words)."""
    _held(lane, tx_id)
    with _handed_to_lane():
        try:
            lane.officer.correct(
                officer, reason, plate=plate, containers=containers, supervisor=role is Role.SUPERVISOR
            )
        except CorrectionNeedsSupervisor as exc:
            words = {"vi": exc.vi, "en": exc.en}
            raise ActionRefused(status.HTTP_403_FORBIDDEN, exc.en, words) from None


def inspection_done(lane: LaneAccess, officer: str, tx_id: str, reason: str) -> None:
    """Record the red-channel inspection of the held vehicle's declaration; the daemon decides again."""
    vehicle = _held(lane, tx_id)
    if Reason.RED_NOT_INSPECTED not in vehicle.reasons:
        raise ActionRefused(status.HTTP_409_CONFLICT, "the held vehicle is not waiting for an inspection")
    with _handed_to_lane():
        lane.officer.inspection_done(officer, reason)  # a red-channel reason implies a matched declaration


def manual_open(lane: LaneAccess, officer: str, reason: str) -> None:
    """Open the barrier by hand (supervisors; the role is the router's check); any open transaction ends."""
    now = lane.view
    refusal = now.manual_open_refusal()
    if refusal is not None:
        raise ActionRefused(status.HTTP_409_CONFLICT, refusal)
    before = {
        "state": now.state.value,
        "tx_id": now.tx_id,
        "barrier_commanded": now.barrier_commanded,
    }
    with _handed_to_lane():
        lane.officer.open(
            officer,
            reason,
            before=before,
            after={"state": LaneState.OPENING.value, "barrier_commanded": "open"},
        )
