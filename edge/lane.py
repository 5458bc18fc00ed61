"""The lane state machine: one vehicle at a time from the stop line to the closed barrier.

Pure: `Lane.handle(event, now)` updates the lane and returns the actions for the daemon to carry out. No I/O,
no clock read (`now` is monotonic seconds from the caller), transaction ids come from an injected factory.
Every transition is a row of `TRANSITIONS` (state, event type) -> handler; timeouts are the `Expired` rows,
fired (at their deadline time) before any event is handled, except LinkLost, which preempts them so that
nothing is commanded on a dead link. Events with no row are ignored. Inputs, LinkLost/LinkRestored and
scale health are tracked (`_observe`) before the table is consulted, in every state.

Geometry: the entry loop is the stop line on the weighbridge, before the barrier; the exit loop lies under and
beyond the arm; the photocell crosses its path. Closing onto the entry loop is safe (and needed to stop the
next vehicle); closing onto the exit loop or the photocell never is.

Safety rules (tests/edge/test_lane_safety.py checks them after every step of random event sequences):
  S1 CloseBarrier only while the link is up and the exit loop and photocell, in the latest snapshot, have
     been continuously clear for close_hold_s (devices.barrier.close_hold_s, the barrier driver's too).
  S2 an obstruction appearing while a close this lane commanded is under way (barrier not yet at its down
     limit) emits OpenBarrier in the same handle() call.
  S3 OpenBarrier only for a cleared transaction (decision PASS, or OfficerApproved in HOLD), for
     OfficerOpen, or as the S2 reversal; never from startup().
  S4 no barrier or light command while the link is down (the lane is then in FAULT).
  S5 every state change emits exactly one Transition, with a non-empty cause.

Decisions:
- The lane is born in FAULT ("not started"); `startup()` (or a first LinkRestored) brings it up exactly like a
  recovery, so it never opens at start, and a barrier found not down is closed through the interlock.
- Recovery from FAULT (link back, or a stuck barrier seen at a limit again): while the link was down the
  entry loop could not be seen, so a transaction not yet cleared is ended "aborted" and a vehicle still on
  the entry loop starts a new one (re-identified, re-decided). A cleared transaction that had reached
  OPENING/PASSING/CLOSING resumes in PASSING if the barrier is not down; if the barrier is down it ends
  "passed" when its vehicle crossed, else "aborted". A barrier found not down with no cleared transaction
  is "secured": PASSING without a transaction, closing as soon as the path is clear for the hold time,
  whatever is on the entry loop.
- One declaration, one passage: a vehicle that crossed while the link was down is a crossing. Its evidence,
  on LinkRestored: the path obstructed in the first snapshot, or the controller's activation counters
  (`InputSnapshot.activations_since`) advanced since the last snapshot before the loss, which tells even a
  vehicle that came and went inside the outage. Counters that advance between two polls while the barrier
  is open count too (a pulse shorter than a poll).
- Without counters, a cleared transaction that was in OPENING/PASSING when the link dropped, with no
  crossing seen and the path clear on recovery, cannot be known to have crossed or not. The safe side: it
  ends "unconfirmed" (its declaration counts as used; the decision holds the next vehicle under it for an
  officer, reason exit_unconfirmed), an alarm "passage_unconfirmed" says so, and the lane is secured (a
  vehicle on the entry loop, the same truck or another, is re-identified and re-decided). An officer who
  lets it through confirms the exit.
- A barrier move timeout is a FAULT that clears only when the barrier is seen at a limit other than where
  it stuck (or a supervisor's OfficerOpen retries); the lane does not keep driving a stuck barrier.
- A rejection by an officer is final for the transaction; a REJECT decision can still be approved by an
  officer (role checks are the kiosk's). The vehicle backs out: TransactionEnded "rejected".
- OfficerOpen is a manual pass outside any transaction: the open transaction, if any, ends "aborted".
- PASSING closes once the path has been clear for the hold time and either the vehicle was seen in the
  path (a next vehicle may then already wait on the entry loop: closing onto it is safe) or the entry loop
  is clear (the cleared vehicle backed away: TransactionEnded "left").
- A pass timeout raises an alarm once and keeps the barrier open: it never closes on a vehicle.
- Identified, Decided and officer events that name a tx_id other than the current one are ignored; a
  decision arriving after its timeout (the lane is in HOLD by then) is ignored too: the officer decides.
- A vehicle on the exit loop while the barrier is down and not commanded open raises "unauthorized_passage".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from pydantic import BaseModel, Field

from devices.config import BarrierConfig
from devices.lane_inputs import InputSnapshot
from edge.decision import Outcome
from edge.lane_events import (
    Alarm,
    BarrierCommand,
    CloseBarrier,
    Decided,
    Identified,
    Inputs,
    LaneAction,
    LaneEvent,
    LaneState,
    LightColor,
    LinkLost,
    LinkRestored,
    OfficerApproved,
    OfficerCorrected,
    OfficerOpen,
    OfficerRejected,
    OpenBarrier,
    RequestDecision,
    ScaleFaulted,
    ScaleRecovered,
    ScaleStable,
    ScaleUnstable,
    SetLight,
    StartIdentification,
    Tick,
    Transition,
    TxResult,
    Vehicle,
)
from edge.lane_path import AFTER_OPEN, LanePath
from edge.lane_transactions import Transactions
from vision.identity import Identification

__all__ = ["TRANSITIONS", "Expired", "Lane", "LaneConfig", "LaneState", "Vehicle"]

S = LaneState


class LaneConfig(BaseModel, extra="forbid", frozen=True):
    """Timing and policy of the lane state machine."""

    lane_id: str = Field("lane-1", min_length=1, description="Lane name in events, the store and the kiosk.")
    arrive_settle_s: float = Field(
        0.5, ge=0, le=10, description="Entry loop must stay occupied this long before identification starts."
    )
    identify_timeout_s: float = Field(
        4.0, gt=0, le=60, description="Without an identification by then, decide with no plate read."
    )
    weigh_timeout_s: float = Field(
        20.0, gt=0, le=300, description="Without a stable weight by then, decide with no weight."
    )
    decide_timeout_s: float = Field(
        5.0, gt=0, le=60, description="Without a decision by then, hold the vehicle for an officer."
    )
    pass_timeout_s: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="Vehicle not clear by then after opening: alarm, stay open, never close on it.",
    )
    min_vehicle_kg: float = Field(
        1000.0,
        ge=0,
        description="A stable weight below this is the empty scale (the truck not yet on it), not a vehicle.",
    )
    require_weight: bool = Field(
        True, description="Wait for a stable weight before deciding; false for a lane without a weighbridge."
    )


@dataclass(frozen=True, slots=True)
class Expired:
    """Internal event: the current state's deadline passed. The daemon never sends it."""


_EXPIRED: Final = Expired()


class Lane:
    """The state machine of one lane. Feed it events in order; carry out the actions it returns."""

    def __init__(
        self,
        config: LaneConfig,
        new_id: Callable[[], str] | None = None,
        barrier: BarrierConfig | None = None,
    ):
        """`new_id` makes transaction ids (random UUIDs by default; tests inject a counter). `barrier` is the
        barrier driver's settings (defaults when not given): the lane's interlock waits its `close_hold_s`,
        and a barrier not at its limit within its `move_timeout_s` is a FAULT, one timing for both."""
        self.config = config
        barrier = barrier or BarrierConfig()
        move = barrier.move_timeout_s
        self.close_hold_s: Final = barrier.close_hold_s
        self.timeouts: Final[dict[LaneState, float]] = {
            S.ARRIVED: config.arrive_settle_s,
            S.IDENTIFYING: config.identify_timeout_s,
            S.WEIGHING: config.weigh_timeout_s,
            S.DECIDING: config.decide_timeout_s,
            S.OPENING: move,
            S.PASSING: config.pass_timeout_s,
            S.CLOSING: move,
        }
        self._path = LanePath(self.close_hold_s)
        self._tx = Transactions(new_id)
        self._state = S.FAULT
        self._since = 0.0
        self._deadline: float | None = None
        self._now: float | None = None
        self._started = False
        self._barrier_fault: str | None = None
        self._fault_limits = (False, False)  # (up, down) limit switches when the barrier fault began
        self._suspended: LaneState | None = None
        self._securing = False  # PASSING without a cleared vehicle: close as soon as the path allows
        self._scale_ok = True
        self._scale_detail: str | None = None
        self._out: list[LaneAction] = []

    # --- read-only view ------------------------------------------------------------------------

    @property
    def state(self) -> LaneState:
        return self._state

    @property
    def since(self) -> float:
        """When the current state was entered (monotonic seconds, the caller's clock)."""
        return self._since

    @property
    def deadline(self) -> float | None:
        """When the current state times out, on the same clock; None for a state without a timeout."""
        return self._deadline

    @property
    def tx_id(self) -> str | None:
        return self._tx.tx_id

    @property
    def current(self) -> Vehicle | None:
        return self._tx.current

    @property
    def snapshot(self) -> InputSnapshot:
        """The latest inputs; every detector occupied while the link is down."""
        return self._path.snapshot

    @property
    def barrier_commanded(self) -> BarrierCommand | None:
        return self._path.commanded

    @property
    def link_up(self) -> bool:
        return self._path.link_up

    @property
    def scale_ok(self) -> bool:
        return self._scale_ok

    @property
    def scale_detail(self) -> str | None:
        """Why the scale is faulted, or None."""
        return self._scale_detail

    @property
    def securing(self) -> bool:
        """PASSING without a cleared vehicle: the barrier closes as soon as the path allows."""
        return self._state is S.PASSING and self._securing

    @property
    def fault(self) -> str | None:
        """Why the lane is in FAULT, or None."""
        if self._state is not S.FAULT:
            return None
        if not self._path.link_up:
            return f"link down: {self._path.link_detail}"
        return self._barrier_fault

    def may_close(self, now: float) -> bool:
        """The interlock: link up, exit loop and photocell continuously clear for close_hold_s."""
        return self._path.may_close(now)

    # --- entry points --------------------------------------------------------------------------

    def startup(self, snapshot: InputSnapshot, now: float) -> list[LaneAction]:
        """Bring the lane up from its first reading: never opens; a barrier not down closes by interlock."""
        if self._started:
            raise RuntimeError("Lane.startup() called on a lane already started")
        return self.handle(LinkRestored(snapshot), now)

    def handle(self, event: LaneEvent, now: float) -> list[LaneAction]:
        """Apply one event at monotonic time `now`; return the actions, in order."""
        if self._now is not None:
            now = max(now, self._now)
        self._out = []
        if not isinstance(event, LinkLost):  # a lost link preempts pending timeouts: nothing on a dead link
            self._fire_deadlines(now)
        self._now = now
        if isinstance(event, LinkRestored) and self._path.link_up:
            event = Inputs(event.snapshot)
        if self._observe(event, now):
            handler = TRANSITIONS.get((self._state, type(event)))
            if handler is not None:
                handler(self, event, now)
        out, self._out = self._out, []
        return out

    # --- bookkeeping shared by every state ------------------------------------------------------

    def _fire_deadlines(self, now: float) -> None:
        for _ in range(len(S)):  # each expiry moves to a later deadline; the bound is a guard
            deadline = self._deadline
            if deadline is None or deadline > now:
                return
            self._deadline = None
            handler = TRANSITIONS.get((self._state, Expired))
            if handler is not None:
                handler(self, _EXPIRED, deadline)

    def _observe(self, event: LaneEvent, now: float) -> bool:
        """Track inputs, link and scale health; False when the event must not reach the table."""
        if isinstance(event, Inputs):
            if not self._path.link_up:
                return False  # a reading from a link reported down is not trusted
            self._see(event.snapshot, now)
        elif isinstance(event, LinkRestored):
            self._path.restore_link()
            self._see(event.snapshot, now)
            self._path.account_outage(event.snapshot, self._suspended, self._tx.cleared)  # counted crossings
        elif isinstance(event, LinkLost):
            return self._path.lose_link(event.detail)
        elif isinstance(event, ScaleFaulted):
            self._scale_ok, self._scale_detail = False, event.detail
        elif isinstance(event, ScaleRecovered | ScaleStable):
            self._scale_ok, self._scale_detail = True, None
        return True

    def _see(self, snap: InputSnapshot, now: float) -> None:
        seen = self._path.see(snap, now, self._state, self._suspended)
        if seen.reversed:
            self._out.append(OpenBarrier())  # S2, in whatever state: CLOSING, or FAULT / PASSING after one
        if seen.unauthorized:
            self._alarm("unauthorized_passage", "exit loop occupied while the barrier is down and not opened")
        if seen.crossed:
            self._light("red")  # the cleared vehicle is past the light: stop the next one

    def _passage_result(self) -> TxResult | None:
        """How the cleared transaction's passage ends now: "passed", "unconfirmed", or None (not used)."""
        state = self._suspended if self._state is S.FAULT else self._state
        if not self._tx.cleared or state not in AFTER_OPEN:
            return None
        return self._path.passage()

    def _go(self, to: LaneState, cause: str, now: float) -> None:
        self._out.append(Transition(self.tx_id, self._state, to, cause, now))
        self._state, self._since = to, now
        timeout = self.timeouts.get(to)
        self._deadline = now + timeout if timeout is not None else None

    def _light(self, color: LightColor) -> None:
        self._out.append(SetLight(color))

    def _alarm(self, code: str, detail: str) -> None:
        self._out.append(Alarm(code, f"{self.config.lane_id}: {detail}"))

    def _vehicle(self) -> Vehicle:
        if self._tx.current is None:
            raise RuntimeError(f"lane {self.config.lane_id}: {self._state} without a transaction")
        return self._tx.current

    def _end_tx(self, result: TxResult, now: float) -> None:
        ended = self._tx.end(result, now)
        if ended is not None:
            self._out.append(ended)

    def _to_idle(self, cause: str, result: TxResult, now: float) -> None:
        """End the transaction (if any) and wait for the next vehicle, or start its transaction at once."""
        self._go(S.IDLE, cause, now)
        self._end_tx(result, now)
        self._on_idle_inputs(None, now)

    def _open(self, cause: str, now: float, end: TxResult | None = None) -> None:
        self._go(S.OPENING, cause, now)
        if end is not None:
            self._end_tx(end, now)
        self._path.new_passage()
        self._securing, self._barrier_fault, self._suspended = False, None, None
        self._path.command("open")
        self._out.append(OpenBarrier())
        self._light("green")

    def _decide(self, cause: str, now: float) -> None:
        self._go(S.DECIDING, cause, now)
        vehicle = self._vehicle()
        ident = vehicle.identification or Identification(plate=None)
        self._out.append(RequestDecision(vehicle.tx_id, ident, vehicle.weight_kg))

    def _hold(self, cause: str, now: float) -> None:
        self._tx.update(hold_cause=cause)
        self._go(S.HOLD, cause, now)
        self._light("red")

    def _enter_fault(self, cause: str, now: float) -> None:
        self._suspended = self._state
        self._go(S.FAULT, cause, now)

    # --- handlers: one per row of TRANSITIONS ---------------------------------------------------

    def _on_idle_inputs(self, _: Inputs | Tick | None, now: float) -> None:
        if self._path.link_up and self._path.snapshot.entry_loop:
            self._out.append(self._tx.start(now))
            self._go(S.ARRIVED, "entry loop occupied", now)

    def _on_waiting_inputs(self, _: Inputs, now: float) -> None:
        if not self._path.snapshot.entry_loop:
            rejected = self._tx.current is not None and self._tx.current.rejected
            cause = "rejected vehicle backed out" if rejected else "entry loop cleared: vehicle left"
            self._to_idle(cause, "rejected" if rejected else "left", now)

    def _on_settled(self, _: Expired, now: float) -> None:
        self._go(S.IDENTIFYING, f"entry loop held {self.config.arrive_settle_s}s", now)
        self._out.append(StartIdentification(self._vehicle().tx_id))

    def _on_identified(self, event: Identified, now: float) -> None:
        if self._tx.is_current(event.tx_id):
            self._tx.update(identification=event.identification)
            self._after_identification("identified", now)

    def _on_identify_timeout(self, _: Expired, now: float) -> None:
        self._tx.update(identification=Identification(plate=None))
        self._after_identification("identification timeout: no read", now)

    def _after_identification(self, cause: str, now: float) -> None:
        if self._vehicle().weight_kg is not None:
            self._decide(f"{cause}; weight already stable", now)
        elif not self.config.require_weight:
            self._decide(f"{cause}; weight not required", now)
        elif not self._scale_ok:
            self._decide(f"{cause}; scale faulted", now)
        else:
            self._go(S.WEIGHING, cause, now)

    def _on_late_identified(self, event: Identified, _: float) -> None:
        if self._tx.is_current(event.tx_id):
            self._tx.update(identification=event.identification)

    def _on_weight(self, event: ScaleStable, _: float) -> None:
        if event.kg >= self.config.min_vehicle_kg:
            self._tx.update(weight_kg=event.kg)

    def _on_weight_lost(self, _: ScaleUnstable, __: float) -> None:
        self._tx.update(weight_kg=None)

    def _on_weighed(self, event: ScaleStable, now: float) -> None:
        if event.kg < self.config.min_vehicle_kg:
            return  # the empty scale settled before the truck drove on: keep waiting
        self._tx.update(weight_kg=event.kg)
        self._decide(f"stable weight {event.kg:g} kg", now)

    def _on_scale_faulted(self, event: ScaleFaulted, now: float) -> None:
        self._decide(f"scale fault: {event.detail}", now)

    def _on_weigh_timeout(self, _: Expired, now: float) -> None:
        self._decide(f"no stable weight within {self.config.weigh_timeout_s}s", now)

    def _on_decided(self, event: Decided, now: float) -> None:
        if not self._tx.is_current(event.tx_id):
            return
        self._tx.update(
            outcome=event.outcome, reasons=event.reasons, declaration_number=event.declaration_number
        )
        if event.outcome is Outcome.PASS:
            self._open("decision PASS", now)
        else:
            self._hold(f"decision {event.outcome.value}", now)

    def _on_decide_timeout(self, _: Expired, now: float) -> None:
        self._hold(f"no decision within {self.config.decide_timeout_s}s", now)

    def _on_corrected(self, event: OfficerCorrected, now: float) -> None:
        if self._tx.open_to_officer(event.tx_id):
            self._tx.update(identification=event.identification, outcome=None, reasons=())
            self._decide(f"corrected by {event.officer}: {event.reason}", now)

    def _on_approved(self, event: OfficerApproved, now: float) -> None:
        if self._tx.open_to_officer(event.tx_id):
            self._tx.update(approved_by=event.officer, officer_reason=event.reason)
            self._open(f"approved by {event.officer}: {event.reason}", now)

    def _on_rejected(self, event: OfficerRejected, _: float) -> None:
        if self._tx.is_current(event.tx_id):
            self._tx.update(rejected_by=event.officer, officer_reason=event.reason)
            self._light("red")

    def _on_manual_open(self, event: OfficerOpen, now: float) -> None:
        if self._path.link_up:
            end = self._passage_result() or "aborted"
            self._open(f"manual open by {event.officer}: {event.reason}", now, end=end)

    def _on_opening_inputs(self, _: Inputs | Tick, now: float) -> None:
        if self._path.snapshot.barrier_up and not self._path.snapshot.barrier_down:
            self._go(S.PASSING, "barrier up limit", now)

    def _on_barrier_timeout(self, _: Expired, now: float) -> None:
        direction = "up" if self._state is S.OPENING else "down"
        detail = f"barrier not {direction} within {self.timeouts[self._state]}s"
        self._barrier_fault = detail
        self._fault_limits = (self._path.snapshot.barrier_up, self._path.snapshot.barrier_down)
        self._enter_fault(detail, now)
        self._light("red")
        self._alarm(f"barrier_{'open' if direction == 'up' else 'close'}_timeout", detail)

    def _on_passing_check(self, _: Inputs | Tick, now: float) -> None:
        if not self._path.may_close(now):
            return
        if self._securing:
            self._close(f"securing: path clear {self.close_hold_s}s", now)
        elif self._path.crossed or not self._path.snapshot.entry_loop:
            why = "vehicle crossed" if self._path.crossed else "entry loop clear"
            self._close(f"{why}; path clear {self.close_hold_s}s", now)

    def _close(self, cause: str, now: float) -> None:
        self._go(S.CLOSING, cause, now)
        self._path.command("closed")
        self._out.append(CloseBarrier())
        self._light("red")

    def _on_pass_timeout(self, _: Expired, __: float) -> None:
        self._alarm("pass_timeout", f"path not clear {self.config.pass_timeout_s}s after opening; kept open")

    def _on_closing_inputs(self, _: Inputs | Tick, now: float) -> None:
        snap = self._path.snapshot
        if snap.barrier_down and not snap.barrier_up:  # closed: what the path sees now is beyond the arm
            self._to_idle("barrier down limit", "passed" if self._path.crossed else "left", now)
        elif snap.barrier_path_obstructed:
            if self._path.closing:  # normally already reversed when the obstruction was seen
                self._path.command("open")
                self._out.append(OpenBarrier())
            self._go(S.PASSING, "obstruction while closing", now)

    def _on_link_lost(self, event: LinkLost, now: float) -> None:
        if self._state is not S.FAULT:
            self._enter_fault(f"link lost: {event.detail}", now)
        self._alarm("link_lost", event.detail)

    def _on_recover(self, _: Inputs | LinkRestored | Tick, now: float) -> None:
        if not self._path.link_up:
            return
        snap = self._path.snapshot
        limits = (snap.barrier_up, snap.barrier_down)
        if self._barrier_fault is not None and (
            snap.barrier_up == snap.barrier_down or limits == self._fault_limits
        ):
            return  # not yet seen moving to a limit: wait for a technician, or a supervisor's OfficerOpen
        prefix = "recovered" if self._started else "startup"
        self._started, self._barrier_fault = True, None
        vehicle, resumable = self._tx.current, self._suspended in AFTER_OPEN
        passage, counted = self._passage_result(), self._path.outage_count
        self._suspended, self._path.unconfirmed, self._path.outage_count = None, False, None
        if counted:
            prefix += f" ({counted} detector activations counted while the link was down)"
        if passage == "unconfirmed" and vehicle is not None:
            self._alarm(
                "passage_unconfirmed",
                f"transaction {vehicle.tx_id}: the barrier was open while the link was down and the"
                " controller counts no activations, so whether the vehicle crossed is unknown; its"
                " declaration counts as used and the next vehicle under it is held for an officer",
            )
        if snap.barrier_down and not snap.barrier_up:
            self._light("red")
            self._to_idle(f"{prefix}: barrier down", passage or "aborted", now)
        elif vehicle is not None and vehicle.cleared and resumable and passage != "unconfirmed":
            self._securing = False
            self._go(S.PASSING, f"{prefix}: barrier not down; cleared transaction resumes", now)
            self._light("red" if self._path.crossed else "green")
        else:
            self._go(S.PASSING, f"{prefix}: barrier not down; securing, closes once the path is clear", now)
            self._end_tx(passage or "aborted", now)
            self._path.crossed, self._securing = False, True
            self._light("red")


Handler = Callable[[Lane, Any, float], None]  # Any: each row's handler takes that row's event type

_WAITING: Final = (S.ARRIVED, S.IDENTIFYING, S.WEIGHING, S.DECIDING, S.HOLD)

TRANSITIONS: Final[Mapping[tuple[LaneState, type[object]], Handler]] = {
    # a vehicle arrives; it may leave (or back out) at any time before the barrier opens
    (S.IDLE, Inputs): Lane._on_idle_inputs,
    **{(state, Inputs): Lane._on_waiting_inputs for state in _WAITING},
    (S.ARRIVED, Expired): Lane._on_settled,
    # identification, then weight (a stable weight may come at any time before the decision)
    (S.IDENTIFYING, Identified): Lane._on_identified,
    (S.IDENTIFYING, Expired): Lane._on_identify_timeout,
    (S.WEIGHING, Identified): Lane._on_late_identified,
    (S.ARRIVED, ScaleStable): Lane._on_weight,
    (S.IDENTIFYING, ScaleStable): Lane._on_weight,
    **{(state, ScaleUnstable): Lane._on_weight_lost for state in (S.ARRIVED, S.IDENTIFYING, S.WEIGHING)},
    (S.WEIGHING, ScaleStable): Lane._on_weighed,
    (S.WEIGHING, ScaleFaulted): Lane._on_scale_faulted,
    (S.WEIGHING, Expired): Lane._on_weigh_timeout,
    # decision and officers
    (S.DECIDING, Decided): Lane._on_decided,
    (S.DECIDING, Expired): Lane._on_decide_timeout,
    (S.HOLD, OfficerApproved): Lane._on_approved,
    (S.HOLD, OfficerRejected): Lane._on_rejected,
    (S.HOLD, OfficerCorrected): Lane._on_corrected,
    **{(state, OfficerOpen): Lane._on_manual_open for state in (S.IDLE, *_WAITING, S.CLOSING, S.FAULT)},
    # the barrier
    (S.OPENING, Inputs): Lane._on_opening_inputs,
    (S.OPENING, Tick): Lane._on_opening_inputs,
    (S.OPENING, Expired): Lane._on_barrier_timeout,
    (S.PASSING, Inputs): Lane._on_passing_check,
    (S.PASSING, Tick): Lane._on_passing_check,
    (S.PASSING, Expired): Lane._on_pass_timeout,
    (S.CLOSING, Inputs): Lane._on_closing_inputs,
    (S.CLOSING, Tick): Lane._on_closing_inputs,
    (S.CLOSING, Expired): Lane._on_barrier_timeout,
    # faults and recovery
    **{(state, LinkLost): Lane._on_link_lost for state in S},
    (S.FAULT, LinkRestored): Lane._on_recover,
    (S.FAULT, Inputs): Lane._on_recover,
    (S.FAULT, Tick): Lane._on_recover,
}
"""Every transition of the lane: (state, event type) -> handler. Pairs not listed are ignored."""
