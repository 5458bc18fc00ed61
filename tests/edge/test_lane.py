"""The lane state machine, one behaviour per test: realistic event sequences and the actions they produce."""

from __future__ import annotations

from dataclasses import replace

import pytest
from pydantic import ValidationError

from devices.config import BarrierConfig
from devices.lane_inputs import InputSnapshot
from edge import lane_events as ev
from edge.decision import Outcome, Reason
from edge.lane import TRANSITIONS, Expired, Lane, LaneConfig
from edge.lane_status import LaneStatus
from tests.edge.lanes import DOWN, PLATE, Run, barrier_commands, numbered_lane, of, path, started
from vision.identity import Identification, Read, ReadKind

S = ev.LaneState


# --- startup ----------------------------------------------------------------------------------


def test_startup_with_barrier_down_goes_idle_without_barrier_commands() -> None:
    run = started()
    assert run.state() is S.IDLE
    assert barrier_commands(run.actions) == []
    assert ev.SetLight("red") in run.actions
    assert of(ev.Transition, run.actions) == [
        ev.Transition(None, S.FAULT, S.IDLE, "startup: barrier down", 0.0)
    ]


def test_startup_with_barrier_up_never_opens_and_closes_once_path_clear_for_hold_time() -> None:
    run = started(InputSnapshot(barrier_up=True))
    assert barrier_commands(run.actions) == []
    assert run.state() is S.PASSING
    assert run.lane.securing is True
    assert barrier_commands(run.tick(0.9)) == []
    assert barrier_commands(run.tick(0.11)) == [ev.CloseBarrier()]  # just past the hold time
    run.set(2.0, barrier_up=False, barrier_down=True)
    assert run.state() is S.IDLE
    assert of(ev.TransactionEnded, run.actions) == []


def test_startup_with_barrier_up_waits_while_path_obstructed_even_with_vehicle_on_entry_loop() -> None:
    run = started(InputSnapshot(entry_loop=True, exit_loop=True, barrier_up=True))
    run.tick(30.0)
    assert barrier_commands(run.actions) == []
    run.set(1.0, exit_loop=False)
    # the vehicle on the entry loop was never cleared: securing closes in front of it
    assert barrier_commands(run.tick(1.0)) == [ev.CloseBarrier()]


def test_startup_twice_raises() -> None:
    run = started()
    with pytest.raises(RuntimeError):
        run.lane.startup(DOWN, 1.0)


def test_events_before_startup_are_ignored() -> None:
    fresh = numbered_lane(LaneConfig())
    assert fresh.handle(ev.Inputs(InputSnapshot(entry_loop=True, barrier_down=True)), 0.0) == []
    assert fresh.handle(ev.OfficerOpen("sup", "test"), 0.1) == []
    assert fresh.state is S.FAULT
    assert fresh.fault == "link down: not started"


def test_startup_with_vehicle_on_entry_loop_starts_a_transaction() -> None:
    run = started(InputSnapshot(entry_loop=True, barrier_down=True))
    assert path(run.actions) == [S.IDLE, S.ARRIVED]
    assert of(ev.TransactionStarted, run.actions) == [ev.TransactionStarted("tx-1", 0.0)]


# --- the happy path ---------------------------------------------------------------------------


def test_pass_end_to_end_opens_lets_vehicle_cross_closes_and_ends_passed() -> None:
    run = started()
    run.set(1.0, entry_loop=True)
    run.tick(0.5)
    run.send(ev.ScaleStable(30_000.0), 0.4)
    run.send(ev.Identified(PLATE, tx_id="tx-1"), 0.6)
    run.send(ev.Decided(Outcome.PASS, (), "105000000001", tx_id="tx-1"), 0.1)
    run.set(2.0, barrier_up=True, barrier_down=False)
    run.drive_through()
    assert barrier_commands(run.tick(0.9)) == []
    assert barrier_commands(run.tick(0.11)) == [ev.CloseBarrier()]  # just past the hold time
    run.set(3.0, barrier_up=False, barrier_down=True)

    assert path(run.actions) == [
        S.IDLE,
        S.ARRIVED,
        S.IDENTIFYING,
        S.DECIDING,
        S.OPENING,
        S.PASSING,
        S.CLOSING,
        S.IDLE,
    ]
    assert barrier_commands(run.actions) == [ev.OpenBarrier(), ev.CloseBarrier()]
    assert of(ev.StartIdentification, run.actions) == [ev.StartIdentification("tx-1")]
    assert of(ev.RequestDecision, run.actions) == [ev.RequestDecision("tx-1", PLATE, 30_000.0)]
    assert of(ev.TransactionEnded, run.actions) == [ev.TransactionEnded("tx-1", "passed", run.t)]
    assert [a.color for a in of(ev.SetLight, run.actions)] == ["red", "green", "red", "red"]
    assert all(t.cause for t in of(ev.Transition, run.actions))
    assert run.lane.tx_id is None
    assert run.lane.barrier_commanded == "closed"


def test_timeouts_fire_at_their_deadline_not_at_the_late_event() -> None:
    run = started()
    run.set(1.0, entry_loop=True)
    run.tick(10.0)
    settle, identify_timeout = of(ev.Transition, run.actions)[-2:]
    assert (settle.to_state, settle.at) == (S.IDENTIFYING, 1.5)
    assert (identify_timeout.to_state, identify_timeout.at) == (S.WEIGHING, 5.5)


def test_entry_loop_blip_shorter_than_settle_never_starts_identification() -> None:
    run = started()
    run.set(1.0, entry_loop=True)
    run.set(0.3, entry_loop=False)
    run.tick(5.0)
    assert of(ev.StartIdentification, run.actions) == []
    assert of(ev.TransactionEnded, run.actions) == [ev.TransactionEnded("tx-1", "left", 1.3)]
    assert run.state() is S.IDLE


def test_identification_first_then_stable_weight_decides() -> None:
    run = started()
    run.arrive()
    run.send(ev.Identified(PLATE), 1.0)
    assert run.state() is S.WEIGHING
    out = run.send(ev.ScaleStable(28_500.0), 2.0)
    assert of(ev.RequestDecision, out) == [ev.RequestDecision("tx-1", PLATE, 28_500.0)]


def test_empty_scale_settling_is_not_taken_as_the_vehicle_weight() -> None:
    run = started()
    run.arrive()
    run.send(ev.ScaleStable(0.0), 0.1)  # the empty scale settles before the truck is fully on
    run.send(ev.Identified(PLATE), 0.2)
    assert run.state() is S.WEIGHING
    run.send(ev.ScaleStable(20.0), 0.5)
    assert run.state() is S.WEIGHING
    out = run.send(ev.ScaleStable(28_000.0), 0.5)
    assert of(ev.RequestDecision, out) == [ev.RequestDecision("tx-1", PLATE, 28_000.0)]


def test_unstable_weight_discards_an_earlier_stable_weight() -> None:
    run = started()
    run.arrive()
    run.send(ev.ScaleStable(12_000.0), 0.2)
    run.send(ev.ScaleUnstable(), 0.2)
    run.send(ev.Identified(PLATE), 0.2)
    assert run.state() is S.WEIGHING
    assert run.lane.current is not None
    assert run.lane.current.weight_kg is None


def test_late_identification_while_weighing_replaces_the_empty_read() -> None:
    run = started()
    run.arrive()
    run.tick(4.0)
    assert run.state() is S.WEIGHING
    run.send(ev.Identified(PLATE), 0.5)
    out = run.send(ev.ScaleStable(30_000.0), 0.5)
    assert of(ev.RequestDecision, out) == [ev.RequestDecision("tx-1", PLATE, 30_000.0)]


def test_lane_without_weighbridge_decides_without_waiting_for_weight() -> None:
    run = started(require_weight=False)
    run.arrive()
    out = run.send(ev.Identified(PLATE), 0.5)
    assert of(ev.RequestDecision, out) == [ev.RequestDecision("tx-1", PLATE, None)]


# --- timeouts ---------------------------------------------------------------------------------


def test_identify_timeout_proceeds_with_no_plate() -> None:
    run = started()
    run.arrive()
    run.send(ev.ScaleStable(30_000.0), 0.5)
    out = run.tick(3.5)
    assert of(ev.RequestDecision, out) == [ev.RequestDecision("tx-1", Identification(plate=None), 30_000.0)]
    assert of(ev.Transition, out)[0].cause == "identification timeout: no read; weight already stable"


def test_weigh_timeout_decides_without_weight() -> None:
    run = started()
    run.arrive()
    run.send(ev.Identified(PLATE), 0.5)
    assert run.tick(19.9) == []
    out = run.tick(0.11)
    assert of(ev.RequestDecision, out) == [ev.RequestDecision("tx-1", PLATE, None)]
    assert run.state() is S.DECIDING


def test_decide_timeout_holds_for_an_officer() -> None:
    run = started()
    run.to_deciding()
    out = run.tick(5.0)
    assert path(out) == [S.HOLD]
    assert run.lane.current is not None
    assert run.lane.current.hold_cause == "no decision within 5.0s"
    assert barrier_commands(run.actions) == []
    # a late answer does not open: the officer decides now
    assert barrier_commands(run.send(ev.Decided(Outcome.PASS), 0.5)) == []


def test_barrier_open_timeout_faults_with_alarm_and_no_further_command() -> None:
    run = started()
    run.to_deciding()
    run.send(ev.Decided(Outcome.PASS), 0.1)
    out = run.tick(8.0)
    assert path(out) == [S.FAULT]
    assert [a.code for a in of(ev.Alarm, out)] == ["barrier_open_timeout"]
    assert run.lane.fault == "barrier not up within 8.0s"
    assert barrier_commands(run.tick(60.0)) == []


def test_barrier_fault_clears_when_the_barrier_reaches_a_limit_and_the_cleared_vehicle_resumes() -> None:
    run = started()
    run.to_deciding()
    run.send(ev.Decided(Outcome.PASS), 0.1)
    run.tick(8.0)
    run.set(1.0, barrier_down=False)  # moving, between limits: still faulted
    assert run.state() is S.FAULT
    out = run.set(5.0, barrier_up=True)
    assert of(ev.Transition, out)[0].cause == "recovered: barrier not down; cleared transaction resumes"
    assert run.state() is S.PASSING
    assert run.lane.tx_id == "tx-1"
    run.drive_through()
    run.tick(1.0)
    run.set(2.0, barrier_up=False, barrier_down=True)
    assert of(ev.TransactionEnded, run.actions) == [ev.TransactionEnded("tx-1", "passed", run.t)]


def test_barrier_close_timeout_faults_with_alarm() -> None:
    run = started()
    run.to_passing()
    run.drive_through()
    run.tick(1.0)
    assert run.state() is S.CLOSING
    out = run.tick(8.0)
    assert path(out) == [S.FAULT]
    assert [a.code for a in of(ev.Alarm, out)] == ["barrier_close_timeout"]


def test_pass_timeout_alarms_once_and_keeps_barrier_open() -> None:
    run = started()
    run.to_passing()
    run.set(1.0, exit_loop=True)  # vehicle stopped under the arm
    out = run.tick(60.0)
    assert [a.code for a in of(ev.Alarm, out)] == ["pass_timeout"]
    assert run.state() is S.PASSING
    assert of(ev.Alarm, run.tick(120.0)) == []
    assert ev.CloseBarrier() not in run.actions


# --- holds, rejects and officers --------------------------------------------------------------


def test_hold_then_officer_approves_opens_and_records_the_officer() -> None:
    run = started()
    run.to_hold()
    assert barrier_commands(run.actions) == []
    out = run.send(ev.OfficerApproved("officer-7", "weight checked by hand", tx_id="tx-1"), 30.0)
    assert barrier_commands(out) == [ev.OpenBarrier()]
    assert of(ev.Transition, out)[0].cause == "approved by officer-7: weight checked by hand"
    assert run.lane.current is not None
    assert run.lane.current.approved_by == "officer-7"


def test_hold_then_officer_rejects_and_vehicle_backs_out_ends_rejected() -> None:
    run = started()
    run.to_hold()
    run.send(ev.OfficerRejected("officer-7", "seal broken"), 20.0)
    assert run.state() is S.HOLD
    run.set(30.0, entry_loop=False)
    assert run.state() is S.IDLE
    assert barrier_commands(run.actions) == []
    assert of(ev.TransactionEnded, run.actions) == [ev.TransactionEnded("tx-1", "rejected", run.t)]


def test_officer_correction_re_runs_the_decision_without_opening_by_itself() -> None:
    run = started()
    run.to_hold()
    fixed = Identification(plate=Read(ReadKind.PLATE, "51C12346", 1.0, valid=True, source="officer"))
    out = run.send(ev.OfficerCorrected("officer-7", "plate misread", fixed, tx_id="tx-1"), 5.0)
    assert run.state() is S.DECIDING
    assert barrier_commands(out) == []
    assert of(ev.RequestDecision, out) == [ev.RequestDecision("tx-1", fixed, 30_000.0)]
    assert run.lane.current is not None
    assert run.lane.current.outcome is None


def test_corrected_read_that_passes_opens_and_one_that_still_fails_holds_again() -> None:
    run = started()
    run.to_hold()
    run.send(ev.OfficerCorrected("officer-7", "plate misread", PLATE, tx_id="tx-1"), 5.0)
    out = run.send(ev.Decided(Outcome.HOLD, (Reason.NO_DECLARATION,), None, tx_id="tx-1"), 0.1)
    assert run.state() is S.HOLD
    assert barrier_commands(out) == []
    run.send(ev.OfficerCorrected("officer-7", "second try", PLATE, tx_id="tx-1"), 5.0)
    out = run.send(ev.Decided(Outcome.PASS, (), "105000000001", tx_id="tx-1"), 0.1)
    assert barrier_commands(out) == [ev.OpenBarrier()]


def test_correction_after_rejection_or_for_another_vehicle_is_ignored() -> None:
    run = started()
    run.to_hold()
    assert run.send(ev.OfficerCorrected("officer-7", "stale screen", PLATE, tx_id="tx-0"), 1.0) == []
    run.send(ev.OfficerRejected("officer-7", "seal broken"), 1.0)
    assert run.send(ev.OfficerCorrected("officer-7", "too late", PLATE, tx_id="tx-1"), 1.0) == []


def test_officer_rejection_is_final_for_the_transaction() -> None:
    run = started()
    run.to_hold()
    run.send(ev.OfficerRejected("officer-7", "seal broken"), 1.0)
    assert run.send(ev.OfficerApproved("officer-8", "changed my mind"), 1.0) == []


def test_reject_decision_keeps_barrier_closed_until_vehicle_backs_out() -> None:
    run = started()
    run.to_hold(Outcome.REJECT)
    run.tick(600.0)
    run.set(1.0, entry_loop=False)
    assert barrier_commands(run.actions) == []
    assert of(ev.TransactionEnded, run.actions) == [ev.TransactionEnded("tx-1", "rejected", run.t)]


def test_supervisor_may_override_a_reject_decision() -> None:
    run = started()
    run.to_hold(Outcome.REJECT)
    out = run.send(ev.OfficerApproved("supervisor-1", "documents verified"), 10.0)
    assert barrier_commands(out) == [ev.OpenBarrier()]


def test_held_vehicle_that_leaves_without_officer_ends_left() -> None:
    run = started()
    run.to_hold()
    run.set(5.0, entry_loop=False)
    assert of(ev.TransactionEnded, run.actions) == [ev.TransactionEnded("tx-1", "left", run.t)]


@pytest.mark.parametrize("where", [S.ARRIVED, S.IDENTIFYING, S.WEIGHING, S.DECIDING])
def test_vehicle_leaving_before_decision_ends_left_and_returns_idle(where: ev.LaneState) -> None:
    run = started()
    run.set(1.0, entry_loop=True)
    if where is not S.ARRIVED:
        run.tick(0.5)
    else:
        run.tick(0.2)
    if where in (S.WEIGHING, S.DECIDING):
        run.send(ev.Identified(PLATE), 0.5)
    if where is S.DECIDING:
        run.send(ev.ScaleStable(30_000.0), 0.5)
    assert run.state() is where
    out = run.set(0.1, entry_loop=False)
    assert path(out) == [S.IDLE]
    assert of(ev.TransactionEnded, out) == [ev.TransactionEnded("tx-1", "left", run.t)]
    assert barrier_commands(run.actions) == []


def test_decision_for_another_transaction_is_ignored() -> None:
    run = started()
    run.to_deciding()
    assert run.send(ev.Decided(Outcome.PASS, tx_id="tx-0"), 0.1) == []
    assert run.state() is S.DECIDING


def test_officer_approval_from_a_stale_screen_is_ignored() -> None:
    run = started()
    run.to_hold()
    assert run.send(ev.OfficerApproved("officer-7", "ok", tx_id="tx-0"), 1.0) == []


def test_officer_approval_outside_hold_is_ignored() -> None:
    run = started()
    run.to_deciding()
    assert run.send(ev.OfficerApproved("officer-7", "ok"), 0.1) == []


def test_manual_open_outside_a_transaction_opens_and_closes_behind_the_vehicle() -> None:
    run = started()
    out = run.send(ev.OfficerOpen("supervisor-1", "ambulance"), 1.0)
    assert barrier_commands(out) == [ev.OpenBarrier()]
    assert run.lane.tx_id is None
    run.set(2.0, barrier_up=True, barrier_down=False)
    run.set(1.0, exit_loop=True)
    run.set(1.0, exit_loop=False)
    assert barrier_commands(run.tick(1.0)) == [ev.CloseBarrier()]


def test_manual_open_aborts_the_open_transaction() -> None:
    run = started()
    run.to_hold()
    out = run.send(ev.OfficerOpen("supervisor-1", "lane cleared by hand"), 1.0)
    assert barrier_commands(out) == [ev.OpenBarrier()]
    assert of(ev.TransactionEnded, out) == [ev.TransactionEnded("tx-1", "aborted", run.t)]


def test_manual_open_is_ignored_while_link_down() -> None:
    run = started()
    run.send(ev.LinkLost("timeout"), 1.0)
    assert run.send(ev.OfficerOpen("supervisor-1", "test"), 1.0) == []


# --- passing and closing: the interlock -------------------------------------------------------


def test_barrier_never_closes_while_exit_loop_occupied() -> None:
    run = started()
    run.to_passing()
    run.set(1.0, exit_loop=True)
    run.set(1.0, entry_loop=False)
    for _ in range(100):
        run.tick(1.0)
    assert ev.CloseBarrier() not in run.actions


def test_photocell_blip_restarts_the_hold_time() -> None:
    run = started()
    run.to_passing()
    run.drive_through()
    run.tick(0.8)
    run.set(0.0, photocell=True)
    run.set(0.1, photocell=False)
    assert barrier_commands(run.tick(0.9)) == []
    assert barrier_commands(run.tick(0.11)) == [ev.CloseBarrier()]  # just past the hold time


def test_cleared_vehicle_that_has_not_moved_keeps_the_barrier_open() -> None:
    run = started()
    run.to_passing()
    run.tick(30.0)
    assert run.state() is S.PASSING
    assert ev.CloseBarrier() not in run.actions


def test_cleared_vehicle_that_backs_away_closes_the_barrier_and_ends_left() -> None:
    run = started()
    run.to_passing()
    # the path has been clear all along: the vehicle leaving the entry loop is enough
    assert barrier_commands(run.set(3.0, entry_loop=False)) == [ev.CloseBarrier()]
    run.set(2.0, barrier_up=False, barrier_down=True)
    assert of(ev.TransactionEnded, run.actions) == [ev.TransactionEnded("tx-1", "left", run.t)]


def test_obstruction_while_closing_reopens_in_the_same_call_and_closes_again_later() -> None:
    run = started()
    run.to_passing()
    run.drive_through()
    run.tick(1.0)
    run.set(0.5, barrier_up=False)
    out = run.set(0.1, photocell=True)
    assert barrier_commands(out) == [ev.OpenBarrier()]
    assert out.index(ev.OpenBarrier()) < out.index(of(ev.Transition, out)[0])
    assert of(ev.Transition, out)[0].cause == "obstruction while closing"
    assert run.state() is S.PASSING
    run.set(0.5, photocell=False)
    assert barrier_commands(run.tick(1.0)) == [ev.CloseBarrier()]


COUNTED = InputSnapshot(barrier_down=True, exit_count=0, photocell_count=0)


def counted_pass(run: Run) -> None:
    """The photocell tripped and cleared between two polls: only its counter shows it."""
    count = run.inputs.photocell_count or 0
    run.inputs = replace(run.inputs, photocell_count=count + 1)
    run.send(ev.Inputs(run.inputs), 0.05)


def test_a_passage_only_the_counters_saw_restarts_the_clear_hold_before_closing() -> None:
    run = started(COUNTED)
    run.to_passing()
    run.drive_through()
    run.tick(0.6)
    counted_pass(run)  # a second vehicle slipped under between two polls: the path was not clear all along
    assert barrier_commands(run.tick(0.5)) == []  # 1.1 s after the first clear poll, 0.5 s after the count
    assert barrier_commands(run.tick(0.6)) == [ev.CloseBarrier()]


def test_an_activation_only_the_counters_saw_while_closing_reopens() -> None:
    run = started(COUNTED)
    run.to_passing()
    run.drive_through()
    run.tick(1.0)
    run.set(0.5, barrier_up=False)
    run.inputs = replace(run.inputs, photocell_count=(run.inputs.photocell_count or 0) + 1)
    out = run.send(ev.Inputs(run.inputs), 0.05)  # bits clear, counter moved: the photocell tripped in between
    assert barrier_commands(out) == [ev.OpenBarrier()]


def test_exit_loop_while_closing_also_reopens() -> None:
    run = started()
    run.to_passing()
    run.drive_through()
    run.tick(1.0)
    assert barrier_commands(run.set(0.2, exit_loop=True)) == [ev.OpenBarrier()]


def test_closing_onto_a_waiting_vehicle_on_the_entry_loop_is_allowed() -> None:
    run = started()
    run.to_passing()
    run.set(1.0, exit_loop=True)
    run.set(1.0, exit_loop=False)  # first vehicle through; the entry loop never cleared (a second one)
    assert barrier_commands(run.tick(1.0)) == [ev.CloseBarrier()]


def test_second_vehicle_arriving_while_first_passes_starts_its_transaction_after_close() -> None:
    run = started()
    run.to_passing()
    run.set(1.0, exit_loop=True, photocell=True)
    run.set(1.0, entry_loop=False)
    run.set(0.5, entry_loop=True)  # the next truck pulls up to the stop line
    run.set(1.0, photocell=False, exit_loop=False)
    assert barrier_commands(run.tick(1.0)) == [ev.CloseBarrier()]
    out = run.set(2.0, barrier_up=False, barrier_down=True)
    assert path(out) == [S.IDLE, S.ARRIVED]
    assert of(ev.TransactionEnded, out) == [ev.TransactionEnded("tx-1", "passed", run.t)]
    assert of(ev.TransactionStarted, out) == [ev.TransactionStarted("tx-2", run.t)]
    assert run.lane.tx_id == "tx-2"
    run.tick(0.5)
    assert run.state() is S.IDENTIFYING


def test_light_turns_red_once_the_cleared_vehicle_reaches_the_barrier_path() -> None:
    run = started()
    run.to_passing()
    assert run.set(1.0, photocell=True) == [ev.SetLight("red")]


def test_vehicle_on_exit_loop_while_barrier_down_raises_unauthorized_passage() -> None:
    run = started()
    out = run.set(1.0, exit_loop=True)
    assert [a.code for a in of(ev.Alarm, out)] == ["unauthorized_passage"]
    assert barrier_commands(out) == []


# --- link faults ------------------------------------------------------------------------------


def test_link_lost_mid_pass_faults_without_commands_and_resumes_on_restore() -> None:
    run = started()
    run.to_passing()
    run.set(1.0, exit_loop=True, photocell=True)
    out = run.send(ev.LinkLost("modbus timeout"), 0.5)
    assert path(out) == [S.FAULT]
    assert [a.code for a in of(ev.Alarm, out)] == ["link_lost"]
    assert run.lane.snapshot == InputSnapshot.link_down()
    run.inputs = replace(run.inputs, entry_loop=False, exit_loop=False, photocell=False)
    assert run.send(ev.Inputs(run.inputs), 1.0) == []  # readings of a dead link are not trusted
    assert run.tick(30.0) == []
    out = run.send(ev.LinkRestored(run.inputs), 1.0)
    assert of(ev.Transition, out)[0].cause == "recovered: barrier not down; cleared transaction resumes"
    assert barrier_commands(out) == []
    assert barrier_commands(run.tick(0.9)) == []
    assert barrier_commands(run.tick(0.11)) == [ev.CloseBarrier()]  # just past the hold time
    run.set(2.0, barrier_up=False, barrier_down=True)
    assert of(ev.TransactionEnded, run.actions) == [ev.TransactionEnded("tx-1", "passed", run.t)]


def test_link_lost_before_decision_aborts_the_transaction_and_restarts_for_the_waiting_vehicle() -> None:
    run = started()
    run.to_deciding()
    run.send(ev.LinkLost("cable"), 0.5)
    assert run.send(ev.Decided(Outcome.PASS), 0.1) == []
    out = run.send(ev.LinkRestored(run.inputs), 3.0)
    assert path(out) == [S.IDLE, S.ARRIVED]
    assert of(ev.TransactionEnded, out) == [ev.TransactionEnded("tx-1", "aborted", run.t)]
    assert of(ev.TransactionStarted, out) == [ev.TransactionStarted("tx-2", run.t)]
    assert barrier_commands(run.actions) == []


def test_link_restored_with_barrier_down_after_the_cleared_vehicle_crossed_ends_passed() -> None:
    run = started()
    run.to_passing()
    run.set(1.0, exit_loop=True, entry_loop=False)
    run.send(ev.LinkLost("cable"), 0.5)
    out = run.send(ev.LinkRestored(DOWN), 20.0)
    assert path(out) == [S.IDLE]
    assert of(ev.TransactionEnded, out) == [ev.TransactionEnded("tx-1", "passed", run.t)]


def test_link_restored_with_barrier_up_and_no_cleared_vehicle_secures_the_lane() -> None:
    run = started()
    run.to_hold()
    run.send(ev.LinkLost("cable"), 0.5)
    up = InputSnapshot(entry_loop=True, barrier_up=True)
    out = run.send(ev.LinkRestored(up), 5.0)
    assert of(ev.TransactionEnded, out) == [ev.TransactionEnded("tx-1", "aborted", run.t)]
    assert run.state() is S.PASSING
    assert run.lane.securing is True
    assert barrier_commands(out) == []
    run.inputs = up
    assert barrier_commands(run.tick(1.0)) == [ev.CloseBarrier()]


def test_link_lost_while_closing_reopens_if_restored_onto_an_obstruction() -> None:
    run = started()
    run.to_passing()
    run.drive_through()
    run.tick(1.0)
    run.send(ev.LinkLost("cable"), 0.2)
    out = run.send(ev.LinkRestored(InputSnapshot(photocell=True)), 1.0)
    assert barrier_commands(out) == [ev.OpenBarrier()]
    assert run.state() is S.PASSING
    assert run.lane.tx_id == "tx-1"


def test_link_lost_preempts_a_missed_timeout_and_commands_nothing() -> None:
    run = started()
    run.to_deciding()
    out = run.send(
        ev.LinkLost("cable"), 10.0
    )  # the decide timeout (5 s) passed unseen: no red light on a dead link
    assert path(out) == [S.FAULT]
    assert [a for a in out if isinstance(a, ev.OpenBarrier | ev.CloseBarrier | ev.SetLight)] == []


def test_interlock_refuses_to_close_while_link_down() -> None:
    run = started()
    assert run.lane.may_close(5.0)
    run.send(ev.LinkLost("cable"), 5.0)
    assert not run.lane.may_close(60.0)


def test_link_lost_in_fault_while_barrier_faulted_keeps_fault_and_alarms() -> None:
    run = started()
    run.to_deciding()
    run.send(ev.Decided(Outcome.PASS), 0.1)
    run.tick(8.0)
    out = run.send(ev.LinkLost("cable"), 1.0)
    assert path(out) == []
    assert [a.code for a in of(ev.Alarm, out)] == ["link_lost"]
    assert run.lane.fault == "link down: cable"


# --- scale health -----------------------------------------------------------------------------


def test_scale_fault_while_weighing_decides_without_weight() -> None:
    run = started()
    run.arrive()
    run.send(ev.Identified(PLATE), 0.5)
    out = run.send(ev.ScaleFaulted("no frame for 3 s"), 1.0)
    assert of(ev.RequestDecision, out) == [ev.RequestDecision("tx-1", PLATE, None)]
    assert of(ev.Transition, out)[0].cause == "scale fault: no frame for 3 s"
    assert run.lane.scale_ok is False
    assert run.lane.scale_detail == "no frame for 3 s"


def test_scale_already_faulted_skips_weighing() -> None:
    run = started()
    run.send(ev.ScaleFaulted("port missing"), 1.0)
    run.arrive()
    out = run.send(ev.Identified(PLATE), 0.5)
    assert path(out) == [S.DECIDING]
    run.send(ev.ScaleRecovered(), 1.0)
    assert run.lane.scale_ok is True


# --- configuration, table and status ----------------------------------------------------------


def test_lane_config_rejects_unknown_keys_and_describes_every_field() -> None:
    with pytest.raises(ValidationError):
        LaneConfig(close_hold=1.0)  # type: ignore[call-arg]
    assert all(f.description for f in LaneConfig.model_fields.values())


def test_the_lane_takes_its_hold_and_move_timeout_from_the_barrier_settings() -> None:
    strict = BarrierConfig(close_hold_s=2.5, move_timeout_s=12.0)
    slow = Lane(LaneConfig(), new_id=lambda: "tx", barrier=strict)
    assert slow.close_hold_s == 2.5
    assert slow.timeouts[S.OPENING] == slow.timeouts[S.CLOSING] == 12.0
    default = Lane(LaneConfig())
    assert default.close_hold_s == BarrierConfig().close_hold_s
    assert default.timeouts[S.OPENING] == default.timeouts[S.CLOSING] == BarrierConfig().move_timeout_s


def test_every_state_goes_to_fault_on_link_lost_and_every_timed_state_has_a_timeout_row() -> None:
    probe = numbered_lane(LaneConfig())
    assert all((state, ev.LinkLost) in TRANSITIONS for state in S)
    assert all((state, Expired) in TRANSITIONS for state in probe.timeouts)


def test_time_going_backwards_is_treated_as_no_time_passing() -> None:
    run = started()
    run.set(10.0, entry_loop=True)
    out = run.lane.handle(ev.Tick(), 5.0)
    assert out == []
    assert run.state() is S.ARRIVED


def test_status_shows_state_vehicle_inputs_and_health() -> None:
    run = started()
    run.to_hold()
    status = LaneStatus.of(run.lane).status()
    assert status["state"] == "HOLD"
    assert status["tx_id"] == "tx-1"
    assert status["link_up"] is True
    vehicle = status["vehicle"]
    assert isinstance(vehicle, dict)
    assert vehicle["plate"] == "51C12345"
    assert vehicle["weight_kg"] == 30_000.0
    assert vehicle["outcome"] == "HOLD"
    assert vehicle["reasons"] == ["weight_out_of_tolerance"]
    assert status["inputs"] == {
        "entry_loop": True,
        "exit_loop": False,
        "photocell": False,
        "barrier_up": False,
        "barrier_down": True,
    }
