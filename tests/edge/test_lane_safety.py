"""The lane's safety rules S1-S5 (see edge/lane.py) hold after every step of random event sequences.

The test keeps its own model of the physical lane (loops, photocell, barrier limit switches), of the link
and of the interlock timing, feeds the lane what a daemon would, and checks every returned action against
the model. A "progress" rule sends the natural next event for the lane's state so that random runs reach
the barrier states (PASSING, CLOSING) often, not just the idle ones.
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from devices.config import BarrierConfig
from devices.lane_inputs import InputSnapshot
from edge import lane_events as ev
from edge.decision import Outcome, Reason
from edge.lane import LaneConfig
from tests.edge.lanes import LIMITS, Position, numbered_lane
from vision.identity import Identification, Read, ReadKind

S = ev.LaneState
CONFIG = LaneConfig()
HOLD_S = BarrierConfig().close_hold_s  # the lanes here run with the barrier driver's defaults
PLATES = st.one_of(
    st.none(),
    st.sampled_from(["51C12345", "29H99999"]).map(lambda t: Read(ReadKind.PLATE, t, 0.9, valid=True)),
)
OUTCOMES = st.sampled_from(list(Outcome))
TX_CHOICE = st.sampled_from(["none", "current", "stale"])
DT = st.sampled_from([0.0, 0.05, 0.2, 0.5, 0.9, 1.0, 1.3, 3.0])


class LaneSafety(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.lane = numbered_lane(CONFIG)
        self.t = 0.0
        self.world = InputSnapshot(barrier_down=True)  # the physical inputs, whatever the link says
        self.seen = InputSnapshot.link_down()  # what the lane was last told
        self.link_up = False
        self.clear_since: float | None = None
        self.closing = False  # the lane's last barrier command was close and no down limit was seen since
        self.open_tx: str | None = None
        self.ended: set[str] = set()

    # --- driving the lane and checking every step -------------------------------------------

    def send(self, event: ev.LaneEvent, dt: float = 0.0) -> list[ev.LaneAction]:
        before, before_t = self.lane.state, self.t
        closing_before = self.closing
        self.t += dt
        observed = False
        if isinstance(event, ev.LinkLost) and self.link_up:
            self.link_up, self.seen, self.clear_since = False, InputSnapshot.link_down(), None
        elif isinstance(event, ev.LinkRestored) or (isinstance(event, ev.Inputs) and self.link_up):
            if not self.link_up:
                self.link_up, self.seen = True, InputSnapshot.link_down()
            observed = True
            self.see(event.snapshot)
        link_was_down = not self.link_up and not isinstance(event, ev.LinkLost)
        actions = self.lane.handle(event, self.t)
        self.check_commands(event, actions, closing_before and observed, link_was_down)
        self.check_transitions(actions, before, before_t)
        self.check_transactions(actions)
        if observed and self.seen.barrier_down:
            self.closing = False
        for action in actions:
            if isinstance(action, ev.OpenBarrier | ev.CloseBarrier):
                self.closing = isinstance(action, ev.CloseBarrier)
        return actions

    def see(self, snapshot: InputSnapshot) -> None:
        self.seen = snapshot
        if snapshot.barrier_path_obstructed:
            self.clear_since = None
        elif self.clear_since is None:
            self.clear_since = self.t

    def set_world(self, dt: float = 0.0, **inputs: bool) -> None:
        self.world = replace(self.world, **inputs)
        if self.link_up:
            self.send(ev.Inputs(self.world), dt)
        else:
            self.t += dt  # nobody can read the controller: the lane learns of it on LinkRestored

    def check_commands(
        self, event: ev.LaneEvent, actions: list[ev.LaneAction], closing_onto_seen: bool, link_was_down: bool
    ) -> None:
        opens = [a for a in actions if isinstance(a, ev.OpenBarrier)]
        closes = [a for a in actions if isinstance(a, ev.CloseBarrier)]
        commands = [a for a in actions if isinstance(a, ev.OpenBarrier | ev.CloseBarrier | ev.SetLight)]
        # S4: nothing is commanded on a dead link
        if not self.link_up or link_was_down:
            assert commands == [], (event, actions)
        # S1: close only onto a path clear for the hold time, link up
        for _ in closes:
            assert self.link_up
            assert not self.seen.barrier_path_obstructed, (self.seen, actions)
            assert self.clear_since is not None
            assert self.t - self.clear_since >= HOLD_S, (self.t, self.clear_since)
        # S2: an obstruction met by a close under way reverses it in the same call
        reversal = closing_onto_seen and self.seen.barrier_path_obstructed and not self.seen.barrier_down
        if reversal:
            assert opens == [ev.OpenBarrier()], (event, actions)
        # S3: open only for a cleared vehicle, an officer's open, or the S2 reversal
        assert len(opens) <= 1
        if opens and not reversal:
            vehicle = self.lane.current
            assert self.lane.state is S.OPENING
            if isinstance(event, ev.Decided):
                assert event.outcome is Outcome.PASS
                assert vehicle is not None
                assert vehicle.outcome is Outcome.PASS
            elif isinstance(event, ev.OfficerApproved):
                assert vehicle is not None
                assert vehicle.approved_by == event.officer
            else:
                assert isinstance(event, ev.OfficerOpen), (event, actions)
                assert vehicle is None

    def check_transitions(self, actions: list[ev.LaneAction], before: ev.LaneState, before_t: float) -> None:
        # S5: one Transition per state change, chained, with a cause and a time in this step
        transitions = [a for a in actions if isinstance(a, ev.Transition)]
        state = before
        for tr in transitions:
            assert tr.from_state is state
            assert tr.to_state is not tr.from_state
            assert tr.cause.strip()
            assert before_t <= tr.at <= self.t
            state = tr.to_state
        assert self.lane.state is state

    def check_transactions(self, actions: list[ev.LaneAction]) -> None:
        for action in actions:
            if isinstance(action, ev.TransactionStarted):
                assert self.open_tx is None
                assert action.tx_id not in self.ended
                self.open_tx = action.tx_id
            elif isinstance(action, ev.TransactionEnded):
                assert action.tx_id == self.open_tx
                self.ended.add(action.tx_id)
                self.open_tx = None
        assert self.lane.tx_id == self.open_tx

    def tx(self, choice: str) -> str | None:
        if choice == "none":
            return None
        return self.lane.tx_id if choice == "current" else "tx-0"

    # --- rules ------------------------------------------------------------------------------

    @initialize(
        entry=st.booleans(),
        exit_loop=st.booleans(),
        photocell=st.booleans(),
        barrier=st.sampled_from(list(LIMITS)),
    )
    def start(self, entry: bool, exit_loop: bool, photocell: bool, barrier: Position) -> None:
        self.world = InputSnapshot(
            entry_loop=entry, exit_loop=exit_loop, photocell=photocell, **LIMITS[barrier]
        )
        self.link_up, self.seen = True, InputSnapshot.link_down()
        self.see(self.world)
        actions = self.lane.startup(self.world, self.t)
        assert not [a for a in actions if isinstance(a, ev.OpenBarrier)]
        self.check_commands(
            ev.LinkRestored(self.world), actions, closing_onto_seen=False, link_was_down=False
        )
        self.check_transitions(actions, S.FAULT, self.t)
        self.check_transactions(actions)

    @rule(occupied=st.booleans(), dt=DT)
    def entry_loop(self, occupied: bool, dt: float) -> None:
        self.set_world(dt, entry_loop=occupied)

    @rule(occupied=st.booleans(), dt=DT)
    def exit_loop(self, occupied: bool, dt: float) -> None:
        self.set_world(dt, exit_loop=occupied)

    @rule(blocked=st.booleans(), dt=DT)
    def photocell(self, blocked: bool, dt: float) -> None:
        self.set_world(dt, photocell=blocked)

    @rule(position=st.sampled_from(list(LIMITS)), dt=DT)
    def barrier_moves(self, position: Position, dt: float) -> None:
        self.set_world(dt, **LIMITS[position])

    @rule(dt=DT)
    def barrier_obeys(self, dt: float) -> None:
        target: Position = "up" if self.lane.barrier_commanded == "open" else "down"
        if target == "down" and self.world.barrier_path_obstructed:
            target = "mid"  # a real barrier does not get down through a truck
        self.set_world(dt, **LIMITS[target])

    @rule(dt=st.sampled_from([0.1, 0.5, 1.0, 1.05, 4.0, 9.0, 25.0, 61.0]))
    def time_passes(self, dt: float) -> None:
        self.send(ev.Tick(), dt)

    @rule(kg=st.sampled_from([0.0, 12_000.0, 30_000.0]))
    def scale_stable(self, kg: float) -> None:
        self.send(ev.ScaleStable(kg), 0.1)

    @rule()
    def scale_unstable(self) -> None:
        self.send(ev.ScaleUnstable(), 0.1)

    @rule(faulted=st.booleans())
    def scale_health(self, faulted: bool) -> None:
        self.send(ev.ScaleFaulted("no frame") if faulted else ev.ScaleRecovered(), 0.1)

    @rule(plate=PLATES, tx=TX_CHOICE)
    def identified(self, plate: Read | None, tx: str) -> None:
        self.send(ev.Identified(Identification(plate=plate), tx_id=self.tx(tx)), 0.2)

    @rule(outcome=OUTCOMES, tx=TX_CHOICE)
    def decided(self, outcome: Outcome, tx: str) -> None:
        self.send(ev.Decided(outcome, (Reason.NOT_CLEARED,), "105000000001", tx_id=self.tx(tx)), 0.1)

    @rule(tx=TX_CHOICE)
    def officer_approves(self, tx: str) -> None:
        self.send(ev.OfficerApproved("officer-1", "checked", tx_id=self.tx(tx)), 0.5)

    @rule(plate=PLATES, tx=TX_CHOICE)
    def officer_corrects(self, plate: Read | None, tx: str) -> None:
        self.send(
            ev.OfficerCorrected("officer-1", "misread", Identification(plate=plate), tx_id=self.tx(tx)), 0.5
        )

    @rule(tx=TX_CHOICE)
    def officer_rejects(self, tx: str) -> None:
        self.send(ev.OfficerRejected("officer-1", "refused", tx_id=self.tx(tx)), 0.5)

    @rule()
    def supervisor_opens(self) -> None:
        self.send(ev.OfficerOpen("supervisor-1", "manual"), 0.5)

    @rule(dt=DT)
    def link_lost(self, dt: float) -> None:
        self.send(ev.LinkLost("modbus timeout"), dt)

    @precondition(lambda self: not self.link_up)
    @rule(dt=DT)
    def link_restored(self, dt: float) -> None:
        self.send(ev.LinkRestored(self.world), dt)

    @rule(pick=st.integers(0, 3))
    def progress(self, pick: int) -> None:
        """The event a well-behaved vehicle and lane would produce next."""
        state, world = self.lane.state, self.world
        if state is S.IDLE:
            self.set_world(0.5, entry_loop=True)
        elif state in (S.ARRIVED, S.IDENTIFYING) and pick == 0:
            self.send(ev.Tick(), 0.6)
        elif state in (S.ARRIVED, S.IDENTIFYING):
            self.send(ev.Identified(Identification(plate=None), tx_id=self.lane.tx_id), 0.3)
        elif state is S.WEIGHING:
            self.send(ev.ScaleStable(30_000.0), 0.5)
        elif state is S.DECIDING:
            outcome = [Outcome.PASS, Outcome.PASS, Outcome.HOLD, Outcome.REJECT][pick]
            self.send(ev.Decided(outcome, tx_id=self.lane.tx_id), 0.2)
        elif state is S.HOLD:
            if pick < 2:
                self.send(ev.OfficerApproved("officer-2", "ok", tx_id=self.lane.tx_id), 1.0)
            else:
                self.set_world(1.0, entry_loop=False)
        elif state is S.OPENING:
            self.set_world(1.5, **LIMITS["up"])
        elif state is S.PASSING and world.entry_loop and not world.barrier_path_obstructed:
            self.set_world(0.5, exit_loop=True, photocell=True)
        elif state is S.PASSING and world.barrier_path_obstructed:
            self.set_world(0.5, entry_loop=pick == 3, exit_loop=False, photocell=False)
        elif state in (S.PASSING, S.CLOSING) and pick < 3:
            self.send(ev.Tick(), 1.05)
        elif state is S.CLOSING:
            self.set_world(1.0, **LIMITS["down"])
        elif state is S.FAULT and not self.link_up:
            self.send(ev.LinkRestored(self.world), 1.0)
        else:
            self.set_world(1.0, **LIMITS["up" if pick < 2 else "down"])

    @rule(pick=st.integers(0, 3))
    def progress_again(self, pick: int) -> None:
        """`progress` again: rules are drawn uniformly, and a vehicle should mostly get through."""
        self.progress(pick)

    @rule(pick=st.integers(0, 3))
    def progress_once_more(self, pick: int) -> None:
        self.progress(pick)

    # --- invariants -------------------------------------------------------------------------

    @invariant()
    def state_is_a_lane_state(self) -> None:
        assert isinstance(self.lane.state, ev.LaneState)

    @invariant()
    def fault_whenever_link_down(self) -> None:
        if not self.link_up:
            assert self.lane.state is S.FAULT
            assert self.lane.link_up is False
            assert self.lane.snapshot == InputSnapshot.link_down()

    @invariant()
    def lane_sees_what_it_was_told(self) -> None:
        assert self.lane.snapshot == self.seen


LaneSafety.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=50,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_lane_safety_rules_hold_for_random_event_sequences = LaneSafety.TestCase
