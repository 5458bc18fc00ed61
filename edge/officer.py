"""Officer actions on the lane: checked against the latest lane picture, audited, then handed to the lane.

They run on the daemon's main loop (the kiosk's, the uplink's); the lane process applies them in order with
everything else. The audit record is written before the event is handed over, and the lane refuses a second
officer's action on the same vehicle until it has applied the first, so the audit only ever holds actions
the lane acted on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from edge.lane_events import (
    LaneEvent,
    OfficerApproved,
    OfficerCorrected,
    OfficerOpen,
    OfficerRejected,
    Vehicle,
)
from edge.lane_status import LaneStatus
from edge.recorder import Recorder, identification_json
from edge.store import Store
from vision import iso6346
from vision.identity import Identification, Read, ReadKind
from vision.plates import normalise_plate


class LaneNotHolding(Exception):
    """An officer action that needs a held vehicle came when none is held."""


@dataclass
class OfficerDesk:
    """What an officer (or central's remote open) may do to the lane, and the checks before each."""

    status: Callable[[], LaneStatus]
    submit: Callable[[LaneEvent], None]
    accepting: Callable[[], None]
    recorder: Recorder
    store: Store
    started: Callable[[], bool]
    pending: str | None = field(default=None, init=False)  # tx id of an action not yet applied by the lane

    def applied(self, tx_id: str | None) -> None:
        """The lane applied (or ignored) the action on `tx_id`: the next officer may act."""
        if self.pending == tx_id:
            self.pending = None

    def _hand_over(self, event: OfficerApproved | OfficerRejected | OfficerCorrected) -> None:
        self.pending = event.tx_id
        try:
            self.submit(event)
        except Exception:
            self.pending = None
            raise

    def held(self) -> Vehicle:
        """The held vehicle, or LaneNotHolding saying why there is none to act on."""
        vehicle = self.status().held_vehicle()
        if vehicle is None:
            raise LaneNotHolding("no held vehicle")
        if self.pending == vehicle.tx_id:
            raise LaneNotHolding("another officer's action on this vehicle is being applied")
        self.accepting()  # LaneBusy before anything is recorded
        return vehicle

    def approve(self, officer: str, reason: str, before: Any = None, after: Any = None) -> None:
        """Let the held vehicle pass (role checks are the caller's: the kiosk)."""
        tx_id = self.held().tx_id
        self.recorder.officer_action(tx_id, officer, "approve", reason, before=before, after=after)
        self._hand_over(OfficerApproved(officer, reason, tx_id=tx_id))

    def reject(self, officer: str, reason: str, before: Any = None, after: Any = None) -> None:
        """Refuse the held vehicle: it must back out. Final for the transaction."""
        tx_id = self.held().tx_id
        self.recorder.officer_action(tx_id, officer, "reject", reason, before=before, after=after)
        self._hand_over(OfficerRejected(officer, reason, tx_id=tx_id))

    def correct(
        self, officer: str, reason: str, plate: str | None = None, containers: list[str] | None = None
    ) -> None:
        """Replace a misread plate and/or container list and decide again; both reads stay on record."""
        vehicle = self.held()
        before = vehicle.identification or Identification(plate=None)
        source = f"officer:{officer}"
        new_plate = before.plate
        if plate is not None:
            text = normalise_plate(plate)
            new_plate = Read(ReadKind.PLATE, text, 1.0, valid=bool(text), source=source)
        new_containers = before.containers
        if containers is not None:
            new_containers = tuple(
                Read(ReadKind.CONTAINER, iso6346.normalise(c), 1.0, iso6346.is_valid(c), source=source)
                for c in containers
            )
        after = Identification(plate=new_plate, containers=new_containers)
        self.recorder.officer_action(
            vehicle.tx_id,
            officer,
            "correct_read",
            reason,
            before=identification_json(before),
            after=identification_json(after),
        )
        self._hand_over(OfficerCorrected(officer, reason, after, tx_id=vehicle.tx_id))

    def inspection_done(self, officer: str, reason: str) -> None:
        """Record a red-channel inspection done for the held vehicle's declaration, then decide again."""
        vehicle = self.held()
        if not vehicle.declaration_number:
            raise LaneNotHolding("no held vehicle with a matched declaration")
        number = vehicle.declaration_number
        with self.store.conn:  # the flag, its audit record and its event: all or nothing
            self.store.declarations.mark_inspected(number, datetime.now(UTC))
            self.recorder.officer_action(
                vehicle.tx_id,
                officer,
                "inspection_done",
                reason,
                before={"declaration": number, "inspection_done": False},
                after={"declaration": number, "inspection_done": True},
            )
        ident = vehicle.identification or Identification(plate=None)
        self._hand_over(OfficerCorrected(officer, f"inspection done: {reason}", ident, tx_id=vehicle.tx_id))

    def open_refusal(self) -> str | None:
        """Why a manual open would be ignored by the lane now, or None (for central's remote open)."""
        if not self.started():
            return "the lane has not started"
        return self.status().manual_open_refusal()

    def open(self, officer: str, reason: str, before: Any = None, after: Any = None) -> None:
        """Open the barrier by hand outside a transaction (supervisors only; checked by the caller)."""
        tx_id = self.status().tx_id
        self.accepting()
        self.recorder.officer_action(tx_id, officer, "manual_open", reason, before=before, after=after)
        self.submit(OfficerOpen(officer, reason))
