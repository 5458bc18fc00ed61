"""Barrier safety rules: the pure interlock as table and property tests, the Barrier on the real stack."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.barrier import Barrier, BarrierInterlock, BarrierPosition, InterlockRefused, barrier_position
from devices.config import DevicesConfig
from devices.lane_inputs import InputSnapshot, LaneIOEvent
from devices.modbus_io import IOWriteError
from devices.sim.lane_controller import LaneControllerSim
from devices.sim.net import free_tcp_port
from tests.devices.conftest import TRAVEL_S, RunningLaneIO, eventually, lane_config

CLEAR = InputSnapshot(barrier_up=True)
EXIT_LOOP = InputSnapshot(exit_loop=True, barrier_up=True)
PHOTOCELL = InputSnapshot(photocell=True, barrier_up=True)
HOLD = 1.0

# --- pure interlock -----------------------------------------------------------------------------------


def test_interlock_forbids_closing_before_any_snapshot_was_seen() -> None:
    interlock = BarrierInterlock(HOLD)
    assert interlock.obstructed
    assert not interlock.may_close(1000.0)


@pytest.mark.parametrize("occupied", [EXIT_LOOP, PHOTOCELL], ids=["exit_loop", "photocell"])
def test_interlock_never_allows_closing_while_the_path_is_occupied(occupied: InputSnapshot) -> None:
    interlock = BarrierInterlock(HOLD)
    interlock.observe(occupied, 0.0)
    for now in (0.0, 1.0, 60.0, 3600.0):
        interlock.observe(occupied, now)
        assert interlock.obstructed
        assert not interlock.may_close(now)


def test_barrier_closes_only_after_hold_time_of_continuous_clear() -> None:
    interlock = BarrierInterlock(HOLD)
    interlock.observe(EXIT_LOOP, 0.0)
    interlock.observe(CLEAR, 10.0)
    interlock.observe(CLEAR, 10.5)  # a repeated clear snapshot does not restart the count
    assert not interlock.may_close(10.99)
    assert interlock.may_close(11.0)
    assert interlock.refusal(11.0) is None


def test_blip_on_the_photocell_restarts_the_hold_timer() -> None:
    interlock = BarrierInterlock(HOLD)
    interlock.observe(CLEAR, 0.0)
    interlock.observe(PHOTOCELL, 0.9)  # one poll long
    interlock.observe(CLEAR, 0.95)
    assert not interlock.may_close(1.5)
    refusal = interlock.refusal(1.5)
    assert refusal is not None
    assert "clear for only 0.55 s" in refusal
    assert interlock.may_close(1.95)


def test_a_counter_that_moved_between_two_clear_snapshots_restarts_the_hold_and_reverses_a_close() -> None:
    """The photocell can trip between the read of the inputs and the read of the counters."""
    interlock = BarrierInterlock(HOLD)
    interlock.observe(InputSnapshot(barrier_up=True, exit_count=3, photocell_count=7), 0.0)
    interlock.observe(InputSnapshot(barrier_up=True, exit_count=3, photocell_count=7), 2.0)
    assert interlock.may_close(2.0)
    interlock.observe(InputSnapshot(barrier_up=True, exit_count=3, photocell_count=8), 2.1)
    assert interlock.obstructed  # what a close under way reverses on
    assert not interlock.may_close(2.1)
    interlock.observe(InputSnapshot(barrier_up=True, exit_count=3, photocell_count=8), 2.2)
    assert not interlock.obstructed
    assert not interlock.may_close(3.0)  # clear only since the count was seen, at 2.1
    assert interlock.may_close(3.2)


def test_link_down_snapshot_counts_as_obstructed() -> None:
    interlock = BarrierInterlock(HOLD)
    interlock.observe(CLEAR, 0.0)
    interlock.observe(InputSnapshot.link_down(), 5.0)
    assert interlock.obstructed
    assert not interlock.may_close(100.0)


@pytest.mark.parametrize(
    ("up", "down", "position"),
    [
        (True, False, BarrierPosition.UP),
        (False, True, BarrierPosition.DOWN),
        (False, False, BarrierPosition.MOVING),
        (True, True, BarrierPosition.FAULT),
    ],
)
def test_barrier_position_comes_from_the_limit_switches(
    up: bool, down: bool, position: BarrierPosition
) -> None:
    assert barrier_position(InputSnapshot(barrier_up=up, barrier_down=down)) is position


@given(
    steps=st.lists(
        st.tuples(st.floats(min_value=0.0, max_value=0.5), st.booleans(), st.booleans(), st.booleans()),
        max_size=60,
    ),
    hold=st.floats(min_value=0.2, max_value=2.0),
)
def test_may_close_implies_the_path_was_seen_clear_for_the_whole_hold_window(
    steps: list[tuple[float, bool, bool, bool]], hold: float
) -> None:
    interlock = BarrierInterlock(hold)
    now = 0.0
    seen: list[tuple[float, bool]] = []
    for dt, exit_loop, photocell, link_down in steps:
        now += dt
        snapshot = InputSnapshot.link_down() if link_down else InputSnapshot(exit_loop, photocell)
        interlock.observe(snapshot, now)
        seen.append((now, snapshot.barrier_path_obstructed))
        trailing_clear = [t for t, _ in _trailing_clear_run(seen)]
        for probe in (now, now + hold / 2, now + hold):
            if interlock.may_close(probe):
                # Seen clear, without a single obstructed snapshot, since at least hold_s before probe.
                assert trailing_clear
                assert probe - trailing_clear[0] >= hold


def _trailing_clear_run(seen: list[tuple[float, bool]]) -> list[tuple[float, bool]]:
    run: list[tuple[float, bool]] = []
    for entry in reversed(seen):
        if entry[1]:
            break
        run.insert(0, entry)
    return run


# --- Barrier on the real Modbus stack -----------------------------------------------------------------


reopen_failures: list[IOWriteError] = []


@pytest.fixture(autouse=True)
def _clear_reopen_failures() -> None:
    reopen_failures.clear()


@pytest.fixture
async def barrier(lane_io: RunningLaneIO, devices: DevicesConfig) -> Barrier:
    """Barrier fed by every LaneIO event, in order, as the lane will wire it."""
    gate = Barrier(lane_io.io, devices.barrier)

    async def feed(event: LaneIOEvent) -> None:
        try:
            await gate.on_inputs(event.snapshot)
        except IOWriteError as exc:
            reopen_failures.append(exc)

    lane_io.subscribers.append(feed)
    await gate.on_inputs(lane_io.io.snapshot)
    return gate


async def open_fully(barrier: Barrier, sim: LaneControllerSim) -> None:
    await barrier.open()
    await sim.wait_for_position(up=True, timeout=3 * TRAVEL_S)
    await eventually(lambda: barrier.position is BarrierPosition.UP)


async def open_then_obstruct(
    barrier: Barrier, sim: LaneControllerSim, obstruct: Callable[[bool], None]
) -> None:
    """Up, then a detector on (`sim.set_exit_loop`, `sim.set_photocell`) until the driver sees it."""
    await open_fully(barrier, sim)
    obstruct(True)
    await eventually(lambda: barrier.interlock.obstructed)


async def open_then_close_fully(barrier: Barrier, sim: LaneControllerSim) -> None:
    """Up, clear for the hold time, then down on both the arm and its limit switch."""
    await open_fully(barrier, sim)
    await asyncio.sleep(barrier.interlock.hold_s)
    await barrier.close()
    await sim.wait_for_position(up=False, timeout=3 * TRAVEL_S)
    await eventually(lambda: barrier.position is BarrierPosition.DOWN)


async def assert_stays_closed_once_obstructed(barrier: Barrier) -> None:
    """The driver sees the obstruction, and does not command the arm up for it."""
    await eventually(lambda: barrier.interlock.obstructed)
    await asyncio.sleep(0.05)
    assert barrier.commanded == "closed"


async def test_open_switches_close_coil_off_and_open_coil_on(
    barrier: Barrier, sim: LaneControllerSim
) -> None:
    await barrier.open()
    coils = await sim.read_coils()
    assert coils["barrier_close"] is False
    assert coils["barrier_open"] is True
    assert barrier.commanded == "open"


async def test_barrier_never_closes_while_exit_loop_occupied(
    barrier: Barrier, sim: LaneControllerSim
) -> None:
    await open_then_obstruct(barrier, sim, sim.set_exit_loop)
    await asyncio.sleep(barrier.interlock.hold_s)
    with pytest.raises(InterlockRefused, match="obstructed"):
        await barrier.close()
    assert (await sim.read_coils())["barrier_close"] is False
    assert barrier.commanded == "open"
    assert sim.barrier_up


async def test_barrier_never_closes_while_photocell_blocked(barrier: Barrier, sim: LaneControllerSim) -> None:
    await open_then_obstruct(barrier, sim, sim.set_photocell)
    with pytest.raises(InterlockRefused):
        await barrier.close()
    assert (await sim.read_coils())["barrier_close"] is False


async def test_barrier_closes_after_hold_time_of_clear_path_but_not_before(
    barrier: Barrier, sim: LaneControllerSim
) -> None:
    await open_then_obstruct(barrier, sim, sim.set_photocell)
    sim.set_photocell(False)
    await eventually(lambda: not barrier.interlock.obstructed)
    with pytest.raises(InterlockRefused, match="clear for only"):
        await barrier.close()
    await asyncio.sleep(barrier.interlock.hold_s)
    await barrier.close()
    assert barrier.commanded == "closed"
    await sim.wait_for_position(up=False, timeout=3 * TRAVEL_S)
    await eventually(lambda: barrier.position is BarrierPosition.DOWN)
    assert sim.collisions == 0


async def test_obstruction_while_closing_reopens_the_barrier(
    barrier: Barrier, sim: LaneControllerSim
) -> None:
    await open_fully(barrier, sim)
    await asyncio.sleep(barrier.interlock.hold_s)
    await barrier.close()
    await eventually(lambda: sim.position < 0.9, timeout=TRAVEL_S)
    sim.set_photocell(True)  # something steps under the descending arm
    await eventually(lambda: barrier.commanded == "open", timeout=0.5)
    await sim.wait_for_position(up=True, timeout=3 * TRAVEL_S)
    assert sim.collisions == 0
    assert (await sim.read_coils())["barrier_close"] is False


async def test_obstruction_after_the_arm_is_fully_down_does_not_reopen(
    barrier: Barrier, sim: LaneControllerSim
) -> None:
    await open_then_close_fully(barrier, sim)
    sim.set_exit_loop(True)  # the next vehicle rolls onto the loop beyond the closed arm
    await assert_stays_closed_once_obstructed(barrier)
    assert sim.barrier_down


async def test_arm_leaving_its_down_limit_at_rest_is_never_a_reason_to_open(
    barrier: Barrier, sim: LaneControllerSim
) -> None:
    await open_then_close_fully(barrier, sim)
    await sim.force_coil("barrier_close", False)  # stuck relays (or a truck nosing in) lift the arm
    await sim.force_coil("barrier_open", True)
    await eventually(lambda: barrier.position is not BarrierPosition.DOWN, timeout=TRAVEL_S)
    sim.set_photocell(True)
    await assert_stays_closed_once_obstructed(barrier)  # not driven up for an uncleared vehicle
    await sim.force_coil("barrier_open", None)
    await sim.force_coil("barrier_close", None)


async def test_vehicle_cycle_opens_lets_it_through_and_closes_without_collision(
    barrier: Barrier, sim: LaneControllerSim
) -> None:
    await sim.vehicle_arrives()
    await barrier.open()
    await sim.vehicle_drives_through(timeout=3 * TRAVEL_S)
    with pytest.raises(InterlockRefused):
        await barrier.close()  # the vehicle has only just left the exit loop
    await asyncio.sleep(barrier.interlock.hold_s + 0.05)
    await barrier.close()
    await sim.wait_for_position(up=False, timeout=3 * TRAVEL_S)
    assert sim.collisions == 0


async def test_barrier_refuses_to_close_while_the_link_is_down() -> None:
    devices = lane_config(free_tcp_port())
    running = RunningLaneIO(devices)
    running.start()
    await running.wait_link(up=False)
    await eventually(lambda: bool(running.events))
    barrier = Barrier(running.io, devices.barrier)
    await barrier.on_inputs(running.events[-1].snapshot)
    await asyncio.sleep(devices.barrier.close_hold_s)
    with pytest.raises(InterlockRefused, match="obstructed"):
        await barrier.close()
    with pytest.raises(IOWriteError):
        await barrier.open()
    await running.close()


async def test_link_loss_while_closing_reports_the_failed_reopen(
    barrier: Barrier, sim: LaneControllerSim, lane_io: RunningLaneIO
) -> None:
    await open_fully(barrier, sim)
    await asyncio.sleep(barrier.interlock.hold_s)
    await barrier.close()
    await sim.pause()
    # The link-down snapshot is an obstruction with the arm not known to be down: the reopen is
    # attempted, cannot be confirmed, is reported, and stays pending for the next snapshot.
    await eventually(lambda: len(reopen_failures) == 1)
    assert barrier.commanded == "closed"
    await sim.resume()
    await lane_io.wait_link(up=True, timeout=5.0)
    await eventually(lambda: sim.barrier_down, timeout=3 * TRAVEL_S)


async def test_stuck_open_relay_makes_the_move_overdue(
    barrier: Barrier, sim: LaneControllerSim, devices: DevicesConfig
) -> None:
    await barrier.open()
    await eventually(lambda: barrier.position is BarrierPosition.MOVING)
    await sim.force_coil("barrier_open", False)  # the relay drops out after the confirmed write
    assert not barrier.move_overdue(time.monotonic())
    await asyncio.sleep(devices.barrier.move_timeout_s + 0.05)
    assert barrier.position is BarrierPosition.MOVING
    assert barrier.move_overdue(time.monotonic())
