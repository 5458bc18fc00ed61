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

from edge import reasons as say
from edge.lane_events import (
    LaneEvent,
    OfficerApproved,
    OfficerCorrected,
    OfficerOpen,
    OfficerRejected,
    Vehicle,
)
from edge.lane_status import LaneStatus
from edge.reasons import Detail
from edge.recorder import Recorder, identification_json
from edge.store import Store
from vision import iso6346
from vision.identity import Identification, Read, ReadKind
from vision.plates import Grammar, normalise_plate


class LaneNotHolding(Exception):
    """An officer action that needs a held vehicle came when none is held."""


class CorrectionNeedsSupervisor(Exception):
    """A corrected read that the lane's plate grammar or the container check digit refuses: it is checked
    like any camera read, and only a supervisor may enter it (it then holds the vehicle, marked not valid,
    until the supervisor decides). Nothing is recorded or handed to the lane."""

    def __init__(self, doubts: list[Detail]) -> None:
        self.en = "only a supervisor may enter a read the lane refuses: " + "; ".join(d.en for d in doubts)
        self.vi = "chỉ giám sát viên được nhập kết quả đọc mà làn từ chối: " + "; ".join(d.vi for d in doubts)
        super().__init__(self.en)


@dataclass
class OfficerDesk:
    """What an officer (or central's remote open) may do to the lane, and the checks before each."""

    status: Callable[[], LaneStatus]
    submit: Callable[[LaneEvent], None]
    accepting: Callable[[], None]
    recorder: Recorder
    store: Store
    started: Callable[[], bool]
    grammar: Grammar  # the lane's plate grammar: a corrected plate is checked by it like a camera's read
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
        self,
        officer: str,
        reason: str,
        plate: str | None = None,
        containers: list[str] | None = None,
        *,
        supervisor: bool = False,
    ) -> None:
        """Replace a misread plate and/or container list and decide again; both reads stay on record.

        The corrected texts are judged as a camera's reads are (the lane's plate grammar, the check
        digit); one they refuse raises CorrectionNeedsSupervisor unless `supervisor` (the caller's role
        check, as for approve), and is then recorded not valid.
        """
        vehicle = self.held()
        before = vehicle.identification or Identification(plate=None)
        source = f"officer:{officer}"
        doubts: list[Detail] = []
        new_plate = before.plate
        if plate is not None:
            new_plate = typed_plate(plate, self.grammar, source)
            if not new_plate.valid:
                doubts.append(_plate_refused(new_plate.text, self.grammar))
        new_containers = before.containers
        if containers is not None:
            new_containers = tuple(typed_container(c, source) for c in containers)
            doubts.extend(say.container_fault(r.text) for r in new_containers if not r.valid)
        if doubts and not supervisor:
            raise CorrectionNeedsSupervisor(doubts)
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


def typed_plate(typed: str, grammar: Grammar, source: str) -> Read:
    """An officer's plate as a read: valid only when it has a form of the lane's grammar as typed (a
    look-alike the grammar would swap is the officer's to fix, not the gate's to guess)."""
    text = normalise_plate(typed)
    match = grammar.check(text) if text else None
    formed = match is not None and match.text == text
    valid = formed and match is not None and match.valid
    form = match.grammar if formed and match is not None else ""
    return Read(ReadKind.PLATE, text, 1.0, valid=valid, source=source, grammar=form)


def typed_container(typed: str, source: str) -> Read:
    """An officer's container number as a read: valid only when the ISO 6346 check digit holds."""
    number = iso6346.normalise(typed)
    return Read(ReadKind.CONTAINER, number, 1.0, iso6346.is_valid(number), source=source)


def _plate_refused(text: str, grammar: Grammar) -> Detail:
    if not text:
        return Detail("the plate is empty", "biển số để trống")
    return Detail(
        f"plate {text!r} is not a valid plate of this lane's forms ({grammar.name})",
        f"biển số {text!r} không phải biển số hợp lệ theo các dạng của làn này ({grammar.name})",
    )
