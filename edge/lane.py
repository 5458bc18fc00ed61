"""The lane state machine: one vehicle at a time from the stop line to the closed barrier.

Pure: `Lane.handle(event, now)` updates the lane and returns the actions for the daemon to carry out. No I/O,
no clock read (`now` is monotonic seconds from the caller), transaction ids come from an injected factory.
Every transition is a row of `TRANSITIONS` (state, event type) -> handler; timeouts are the `Expired` rows,
fired (at their deadline time) before any event is handled, except LinkLost, which preempts them so that
nothing is commanded on a dead link. Events with no row are ignored. Inputs, LinkLost/LinkRestored and
scale health are tracked (`_observe`) before the table is consulted, in every state.

The handlers are functions (lane, event, now) -> None, grouped by what they handle:
  edge/lane_arrival.py   arrival, identification, weight (IDLE, ARRIVED, IDENTIFYING, WEIGHING)
  edge/lane_decision.py  the decision and the officers (DECIDING, HOLD, manual open)
  edge/lane_barrier.py   opening, passing, closing and their timeouts (OPENING, PASSING, CLOSING)
  edge/lane_recovery.py  a lost link, startup and recovery from FAULT
They change the lane only through its handler API (see `Lane`). Beside the lane: `LanePath`
(edge/lane_path.py: inputs, interlock, crossings) and `Transactions` (edge/lane_transactions.py).

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
- Startup, recovery from FAULT, and what counts as a crossing while the link was down (one declaration,
  one passage; an unconfirmed passage): edge/lane_recovery.py, next to the code.
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
from edge import lane_arrival, lane_barrier, lane_decision, lane_recovery
from edge.lane_events import (
    Alarm,
    BarrierCommand,
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
    """The state machine of one lane. Feed it events in order; carry out the actions it returns.

    Everyone else calls `startup()` and `handle()` and reads the view properties. The handler API, for the
    handler modules (edge/lane_arrival.py, lane_decision.py, lane_barrier.py, lane_recovery.py) only:
    the attributes `config`, `timeouts`, `close_hold_s`, `path` (inputs, interlock, crossings), `tx` (the
    transaction), the fault memory `started`, `suspended`, `barrier_fault`, `fault_limits`, the flag
    `secure_when_clear`, and the steps below "handler API" (emit, go, light, alarm, ...). A handler acts
    only through them; the actions it emits are returned by the `handle()` call that ran it, in order.
    """

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
        self.path: Final = LanePath(self.close_hold_s)
        self.tx: Final = Transactions(new_id)
        self.started = False  # brought up once (startup, or a first LinkRestored)
        self.suspended: LaneState | None = None  # the state FAULT interrupted
        self.barrier_fault: str | None = None  # a stuck barrier holds the lane in FAULT: why
        self.fault_limits = (False, False)  # (up, down) limit switches when the barrier fault began
        self.secure_when_clear = False  # PASSING without a cleared vehicle: close as soon as the path allows
        self._state = S.FAULT
        self._since = 0.0
        self._deadline: float | None = None
        self._now: float | None = None
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
        return self.tx.tx_id

    @property
    def current(self) -> Vehicle | None:
        return self.tx.current

    @property
    def snapshot(self) -> InputSnapshot:
        """The latest inputs; every detector occupied while the link is down."""
        return self.path.snapshot

    @property
    def barrier_commanded(self) -> BarrierCommand | None:
        return self.path.commanded

    @property
    def link_up(self) -> bool:
        return self.path.link_up

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
        return self._state is S.PASSING and self.secure_when_clear

    @property
    def fault(self) -> str | None:
        """Why the lane is in FAULT, or None."""
        if self._state is not S.FAULT:
            return None
        if not self.path.link_up:
            return f"link down: {self.path.link_detail}"
        return self.barrier_fault

    def may_close(self, now: float) -> bool:
        """The interlock: link up, exit loop and photocell continuously clear for close_hold_s."""
        return self.path.may_close(now)

    # --- entry points --------------------------------------------------------------------------

    def startup(self, snapshot: InputSnapshot, now: float) -> list[LaneAction]:
        """Bring the lane up from its first reading: never opens; a barrier not down closes by interlock."""
        if self.started:
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
        if isinstance(event, LinkRestored) and self.path.link_up:
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
            if not self.path.link_up:
                return False  # a reading from a link reported down is not trusted
            self._see(event.snapshot, now)
        elif isinstance(event, LinkRestored):
            self.path.restore_link()
            self._see(event.snapshot, now)
            self.path.account_outage(event.snapshot, self.suspended, self.tx.cleared)  # counted crossings
        elif isinstance(event, LinkLost):
            return self.path.lose_link(event.detail)
        elif isinstance(event, ScaleFaulted):
            self._scale_ok, self._scale_detail = False, event.detail
        elif isinstance(event, ScaleRecovered | ScaleStable):
            self._scale_ok, self._scale_detail = True, None
        return True

    def _see(self, snap: InputSnapshot, now: float) -> None:
        seen = self.path.see(snap, now, self._state, self.suspended)
        if seen.reversed:
            self.emit(OpenBarrier())  # S2, in whatever state: CLOSING, or FAULT / PASSING after one
        if seen.unauthorized:
            self.alarm("unauthorized_passage", "exit loop occupied while the barrier is down and not opened")
        if seen.crossed:
            self.light("red")  # the cleared vehicle is past the light: stop the next one

    # --- handler API: the steps the handler modules take --------------------------------------

    def emit(self, action: LaneAction) -> None:
        """Append an action to those the current `handle()` call returns."""
        self._out.append(action)

    def go(self, to: LaneState, cause: str, now: float) -> None:
        """Enter state `to` (S5: one Transition with its cause) and arm its timeout, if it has one."""
        self.emit(Transition(self.tx_id, self._state, to, cause, now))
        self._state, self._since = to, now
        timeout = self.timeouts.get(to)
        self._deadline = now + timeout if timeout is not None else None

    def light(self, color: LightColor) -> None:
        self.emit(SetLight(color))

    def alarm(self, code: str, detail: str) -> None:
        self.emit(Alarm(code, f"{self.config.lane_id}: {detail}"))

    def vehicle(self) -> Vehicle:
        """The current transaction's vehicle; a state that needs one and has none is a bug."""
        if self.tx.current is None:
            raise RuntimeError(f"lane {self.config.lane_id}: {self._state} without a transaction")
        return self.tx.current

    def end_tx(self, result: TxResult, now: float) -> None:
        """End the current transaction, if any, with `result`."""
        ended = self.tx.end(result, now)
        if ended is not None:
            self.emit(ended)

    def to_idle(self, cause: str, result: TxResult, now: float) -> None:
        """End the transaction (if any) and wait for the next vehicle, or start its transaction at once."""
        self.go(S.IDLE, cause, now)
        self.end_tx(result, now)
        lane_arrival.on_idle_inputs(self, None, now)

    def open(self, cause: str, now: float, end: TxResult | None = None) -> None:
        """Open the barrier for a new passage (S3: the caller has a cleared vehicle or an officer's word);
        `end` ends the transaction first. Whatever a fault or a securing left behind is over."""
        self.go(S.OPENING, cause, now)
        if end is not None:
            self.end_tx(end, now)
        self.path.new_passage()
        self.secure_when_clear, self.barrier_fault, self.suspended = False, None, None
        self.path.command("open")
        self.emit(OpenBarrier())
        self.light("green")

    def decide(self, cause: str, now: float) -> None:
        """Ask for a decision on the current vehicle, with what is known of it."""
        self.go(S.DECIDING, cause, now)
        vehicle = self.vehicle()
        ident = vehicle.identification or Identification(plate=None)
        self.emit(RequestDecision(vehicle.tx_id, ident, vehicle.weight_kg))

    def enter_fault(self, cause: str, now: float) -> None:
        """Enter FAULT, remembering the state it interrupted (recovery reads it)."""
        self.suspended = self._state
        self.go(S.FAULT, cause, now)

    def passage_result(self) -> TxResult | None:
        """How the cleared transaction's passage ends now: "passed", "unconfirmed", or None (not used)."""
        state = self.suspended if self._state is S.FAULT else self._state
        if not self.tx.cleared or state not in AFTER_OPEN:
            return None
        return self.path.passage()


Handler = Callable[[Lane, Any, float], None]  # Any: each row's handler takes that row's event type

_WAITING: Final = (S.ARRIVED, S.IDENTIFYING, S.WEIGHING, S.DECIDING, S.HOLD)

TRANSITIONS: Final[Mapping[tuple[LaneState, type[object]], Handler]] = {
    # a vehicle arrives; it may leave (or back out) at any time before the barrier opens
    (S.IDLE, Inputs): lane_arrival.on_idle_inputs,
    **{(state, Inputs): lane_arrival.on_waiting_inputs for state in _WAITING},
    (S.ARRIVED, Expired): lane_arrival.on_settled,
    # identification, then weight (a stable weight may come at any time before the decision)
    (S.IDENTIFYING, Identified): lane_arrival.on_identified,
    (S.IDENTIFYING, Expired): lane_arrival.on_identify_timeout,
    (S.WEIGHING, Identified): lane_arrival.on_late_identified,
    (S.ARRIVED, ScaleStable): lane_arrival.on_weight,
    (S.IDENTIFYING, ScaleStable): lane_arrival.on_weight,
    **{
        (state, ScaleUnstable): lane_arrival.on_weight_lost
        for state in (S.ARRIVED, S.IDENTIFYING, S.WEIGHING)
    },
    (S.WEIGHING, ScaleStable): lane_arrival.on_weighed,
    (S.WEIGHING, ScaleFaulted): lane_arrival.on_scale_faulted,
    (S.WEIGHING, Expired): lane_arrival.on_weigh_timeout,
    # decision and officers
    (S.DECIDING, Decided): lane_decision.on_decided,
    (S.DECIDING, Expired): lane_decision.on_decide_timeout,
    (S.HOLD, OfficerApproved): lane_decision.on_approved,
    (S.HOLD, OfficerRejected): lane_decision.on_rejected,
    (S.HOLD, OfficerCorrected): lane_decision.on_corrected,
    **{
        (state, OfficerOpen): lane_decision.on_manual_open
        for state in (S.IDLE, *_WAITING, S.CLOSING, S.FAULT)
    },
    # the barrier
    (S.OPENING, Inputs): lane_barrier.on_opening_inputs,
    (S.OPENING, Tick): lane_barrier.on_opening_inputs,
    (S.OPENING, Expired): lane_barrier.on_barrier_timeout,
    (S.PASSING, Inputs): lane_barrier.on_passing_check,
    (S.PASSING, Tick): lane_barrier.on_passing_check,
    (S.PASSING, Expired): lane_barrier.on_pass_timeout,
    (S.CLOSING, Inputs): lane_barrier.on_closing_inputs,
    (S.CLOSING, Tick): lane_barrier.on_closing_inputs,
    (S.CLOSING, Expired): lane_barrier.on_barrier_timeout,
    # faults and recovery
    **{(state, LinkLost): lane_recovery.on_link_lost for state in S},
    (S.FAULT, LinkRestored): lane_recovery.on_recover,
    (S.FAULT, Inputs): lane_recovery.on_recover,
    (S.FAULT, Tick): lane_recovery.on_recover,
}
"""Every transition of the lane: (state, event type) -> handler. Pairs not listed are ignored."""
