"""The lane's handlers for the decision and the officers: PASS opens, anything else holds for an officer.

Rows of `TRANSITIONS` (edge/lane.py) for DECIDING and HOLD, and the manual open. Each handler is a function
(lane, event, now) -> None that works through the lane's handler API (see `Lane`). Events naming a
transaction other than the current one are ignored; a rejection by an officer is final for its transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edge.decision import Outcome
from edge.lane_events import (
    Decided,
    LaneState,
    OfficerApproved,
    OfficerCorrected,
    OfficerOpen,
    OfficerRejected,
)

if TYPE_CHECKING:
    from edge.lane import Expired, Lane

S = LaneState


def on_decided(lane: Lane, event: Decided, now: float) -> None:
    if not lane.tx.is_current(event.tx_id):
        return
    lane.tx.update(outcome=event.outcome, reasons=event.reasons, declaration_number=event.declaration_number)
    if event.outcome is Outcome.PASS:
        lane.open("decision PASS", now)
    else:
        _hold(lane, f"decision {event.outcome.value}", now)


def on_decide_timeout(lane: Lane, _: Expired, now: float) -> None:
    _hold(lane, f"no decision within {lane.config.decide_timeout_s}s", now)


def _hold(lane: Lane, cause: str, now: float) -> None:
    lane.tx.update(hold_cause=cause)
    lane.go(S.HOLD, cause, now)
    lane.light("red")


def on_corrected(lane: Lane, event: OfficerCorrected, now: float) -> None:
    """HOLD: an officer's correction of the identification is decided again."""
    if lane.tx.open_to_officer(event.tx_id):
        lane.tx.update(identification=event.identification, outcome=None, reasons=())
        lane.decide(f"corrected by {event.officer}: {event.reason}", now)


def on_approved(lane: Lane, event: OfficerApproved, now: float) -> None:
    if lane.tx.open_to_officer(event.tx_id):
        lane.tx.update(approved_by=event.officer, officer_reason=event.reason)
        lane.open(f"approved by {event.officer}: {event.reason}", now)


def on_rejected(lane: Lane, event: OfficerRejected, _: float) -> None:
    """HOLD: the vehicle stays held (red) until it backs out: TransactionEnded "rejected"."""
    if lane.tx.is_current(event.tx_id):
        lane.tx.update(rejected_by=event.officer, officer_reason=event.reason)
        lane.light("red")


def on_manual_open(lane: Lane, event: OfficerOpen, now: float) -> None:
    """A manual pass outside any transaction: the open one, if any, ends (a passage it made counts)."""
    if lane.path.link_up:
        end = lane.passage_result() or "aborted"
        lane.open(f"manual open by {event.officer}: {event.reason}", now, end=end)
