"""The simulated barrier's own obstacle input: wired to the photocell and exit loop, it needs no software.

A plain pymodbus client holds the close coil ON and never reacts, as a dead daemon would.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from devices.config import DevicesConfig
from devices.sim.lane_controller import LaneControllerSim
from tests.devices.conftest import TRAVEL_S, eventually, plain_client


async def _hold_close_coil(sim: LaneControllerSim, devices: DevicesConfig, value: bool) -> None:
    client = await plain_client(sim)
    try:
        assert not (await client.write_coil(devices.barrier.coils.close, value, device_id=1)).isError()
    finally:
        client.close()


def _sim(devices: DevicesConfig, port: int, wired: bool) -> LaneControllerSim:
    return LaneControllerSim(
        devices,
        port=port,
        open_time_s=TRAVEL_S,
        close_time_s=TRAVEL_S,
        initial_position=1.0,
        obstacle_input_wired=wired,
    )


@asynccontextmanager
async def _beam_broken_mid_close(
    devices: DevicesConfig, port: int, wired: bool
) -> AsyncIterator[LaneControllerSim]:
    """The arm up, the close coil held ON, then the photocell broken once the arm is on its way down."""
    async with _sim(devices, port, wired) as sim:
        await _hold_close_coil(sim, devices, True)
        await eventually(lambda: sim.position < 0.6, timeout=3 * TRAVEL_S)
        sim.set_photocell(True)
        yield sim


async def test_wired_obstacle_input_reverses_a_close_and_holds_up_until_the_close_is_given_again(
    devices: DevicesConfig, port: int
) -> None:
    async with _beam_broken_mid_close(devices, port, wired=True) as sim:
        await eventually(lambda: sim.barrier_up, timeout=3 * TRAVEL_S)
        sim.set_photocell(False)
        await asyncio.sleep(TRAVEL_S / 2)
        assert sim.barrier_up  # the close coil is still ON, but a reversed close needs a new command
        await _hold_close_coil(sim, devices, False)
        await asyncio.sleep(2 * sim.TICK_S)
        await _hold_close_coil(sim, devices, True)
        await eventually(lambda: sim.barrier_down, timeout=3 * TRAVEL_S)
        assert sim.collisions == 0


async def test_wired_exit_loop_keeps_a_close_from_starting(devices: DevicesConfig, port: int) -> None:
    async with _sim(devices, port, wired=True) as sim:
        sim.set_exit_loop(True)
        await _hold_close_coil(sim, devices, True)
        await asyncio.sleep(TRAVEL_S / 2)
        assert sim.barrier_up
        assert sim.collisions == 0


async def test_unwired_barrier_closes_onto_the_vehicle_when_nothing_reverses_it(
    devices: DevicesConfig, port: int
) -> None:
    async with _beam_broken_mid_close(devices, port, wired=False) as sim:
        await eventually(lambda: sim.barrier_down, timeout=3 * TRAVEL_S)
        assert sim.collisions == 1
