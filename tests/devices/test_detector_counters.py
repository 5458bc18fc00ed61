"""The controller's detector activation counters: counted by the simulator, read by LaneIO with every poll.

They are what tells the lane that a vehicle crossed while the link was down (edge/lane.py, Decisions).
"""

from __future__ import annotations

import pytest

from devices.config import DetectorCounters, DevicesConfig
from devices.lane_inputs import COUNTER_MODULUS, InputChanged, InputSnapshot, LinkChanged
from devices.modbus_io import LaneIO
from devices.sim.lane_controller import LaneControllerSim
from tests.devices.conftest import RunningLaneIO, eventually, lane_config, plain_client


async def read_counters(sim: LaneControllerSim, devices: DevicesConfig) -> list[int]:
    client = await plain_client(sim)
    try:
        response = await client.read_input_registers(0, count=2, device_id=devices.io.device_id)
        assert not response.isError()
        return list(response.registers)
    finally:
        client.close()


async def test_sim_counts_rising_edges_while_off_the_network_and_wraps_at_16_bits(
    sim: LaneControllerSim, devices: DevicesConfig
) -> None:
    assert await read_counters(sim, devices) == [0, 0]
    await sim.pause()
    sim.set_photocell(True)
    sim.set_exit_loop(True)
    sim.set_exit_loop(True)  # still occupied: not a new activation
    sim.set_photocell(False)
    sim.set_exit_loop(False)
    sim.set_photocell(True)
    await sim.resume()
    assert await read_counters(sim, devices) == [1, 2]  # exit loop, photocell
    sim.preset_counters(COUNTER_MODULUS - 1, 7)
    sim.set_exit_loop(True)
    assert await read_counters(sim, devices) == [0, 7]
    with pytest.raises(ValueError, match="16-bit"):
        sim.preset_counters(COUNTER_MODULUS, 0)


async def test_lane_io_reads_the_counters_with_every_snapshot(
    lane_io: RunningLaneIO, sim: LaneControllerSim
) -> None:
    first = lane_io.events[0]
    assert isinstance(first, LinkChanged)
    assert (first.snapshot.exit_count, first.snapshot.photocell_count) == (0, 0)
    sim.set_photocell(True)
    sim.set_exit_loop(True)
    await eventually(lambda: lane_io.io.snapshot.exit_loop)
    assert (lane_io.io.snapshot.exit_count, lane_io.io.snapshot.photocell_count) == (1, 1)


async def test_a_pulse_between_two_polls_shows_in_the_counters(
    lane_io: RunningLaneIO, sim: LaneControllerSim
) -> None:
    before = lane_io.io.snapshot
    sim.set_exit_loop(True)  # on and off again before any poll can see it: no await in between
    sim.set_exit_loop(False)
    await eventually(lambda: any(isinstance(e, InputChanged) for e in lane_io.events))
    [event] = [e for e in lane_io.events if isinstance(e, InputChanged)]
    assert event.changed == frozenset({"exit_count"})
    assert not event.snapshot.exit_loop
    assert event.snapshot.activations_since(before) == 1


async def test_without_counters_configured_the_snapshot_has_none(sim: LaneControllerSim, port: int) -> None:
    devices = lane_config(port).model_copy(
        update={"counters": DetectorCounters(exit_loop=None, photocell=None)}
    )
    running = RunningLaneIO(devices)
    running.start()
    try:
        await running.wait_link(up=True)
        sim.set_exit_loop(True)
        await eventually(lambda: running.io.snapshot.exit_loop)
        snapshot = running.io.snapshot
        assert (snapshot.exit_count, snapshot.photocell_count) == (None, None)
        assert snapshot.activations_since(InputSnapshot()) is None
    finally:
        await running.close()


async def test_counter_register_the_controller_lacks_is_a_link_fault_naming_it(
    sim: LaneControllerSim, port: int
) -> None:
    devices = lane_config(port).model_copy(update={"counters": DetectorCounters(exit_loop=40, photocell=41)})
    running = RunningLaneIO(devices)
    running.start()
    try:
        await eventually(lambda: bool(running.events))
        [event] = running.events
        assert isinstance(event, LinkChanged)
        assert not event.up
        assert "counter input registers 40+2" in event.detail
        assert "exception code 2" in event.detail
    finally:
        await running.close()


def test_one_register_for_both_counters_is_rejected_at_construction(devices: DevicesConfig) -> None:
    clash = devices.model_copy(update={"counters": DetectorCounters(exit_loop=3, photocell=3)})
    with pytest.raises(ValueError, match="address 3 is configured for both exit_count and photocell_count"):
        LaneIO(clash, lambda _event: None)


@pytest.mark.parametrize(
    ("now", "then", "counted"),
    [
        ((5, 9), (5, 9), 0),
        ((6, 9), (5, 9), 1),
        ((5, 12), (5, 9), 3),  # the most of the two
        ((1, 0), (COUNTER_MODULUS - 1, 0), 2),  # across the 16-bit wrap
        ((None, 4), (7, 3), 1),  # only the counter read in both snapshots
        ((None, None), (7, 3), None),
    ],
)
def test_activations_since_counts_the_most_advanced_counter_modulo_16_bits(
    now: tuple[int | None, int | None], then: tuple[int | None, int | None], counted: int | None
) -> None:
    later = InputSnapshot(exit_count=now[0], photocell_count=now[1])
    earlier = InputSnapshot(exit_count=then[0], photocell_count=then[1])
    assert later.activations_since(earlier) == counted
