"""The simulated lane controller, checked with a plain pymodbus client: it must behave like the device."""

from __future__ import annotations

import asyncio
import socket

import pytest
from pymodbus.client import AsyncModbusTcpClient

from devices.config import DevicesConfig
from devices.sim.lane_controller import LaneControllerSim
from devices.sim.net import free_tcp_port
from tests.devices.conftest import TRAVEL_S, eventually, plain_client


class Master:
    """A plain pymodbus client on the simulator: inputs read and coils written by name, via the point map."""

    def __init__(self, client: AsyncModbusTcpClient, devices: DevicesConfig) -> None:
        self.client = client
        self.device_id = devices.io.device_id
        det, lim = devices.detectors, devices.barrier.limits
        self.inputs = {
            "entry_loop": det.entry_loop,
            "exit_loop": det.exit_loop,
            "photocell": det.photocell,
            "barrier_up": lim.up,
            "barrier_down": lim.down,
        }
        barrier, light = devices.barrier.coils, devices.light.coils
        self.coils = {
            "barrier_open": barrier.open,
            "barrier_close": barrier.close,
            "light_green": light.green,
            "light_red": light.red,
        }

    async def read_inputs(self) -> dict[str, bool]:
        response = await self.client.read_discrete_inputs(0, count=5, device_id=self.device_id)
        assert not response.isError()
        return {name: bool(response.bits[addr]) for name, addr in self.inputs.items()}

    async def write(self, coil: str, value: bool) -> None:
        response = await self.client.write_coil(self.coils[coil], value, device_id=self.device_id)
        assert not response.isError()

    async def read_coils(self, first: str, count: int) -> list[bool]:
        response = await self.client.read_coils(self.coils[first], count=count, device_id=self.device_id)
        return list(response.bits[:count])


@pytest.fixture
def master(client: AsyncModbusTcpClient, devices: DevicesConfig) -> Master:
    return Master(client, devices)


async def test_detector_controls_show_on_the_very_next_discrete_input_read(
    sim: LaneControllerSim, master: Master
) -> None:
    assert await master.read_inputs() == {
        "entry_loop": False,
        "exit_loop": False,
        "photocell": False,
        "barrier_up": False,
        "barrier_down": True,
    }
    sim.set_entry_loop(True)
    sim.set_photocell(True)
    inputs = await master.read_inputs()
    assert inputs["entry_loop"]
    assert inputs["photocell"]
    assert not inputs["exit_loop"]


async def test_open_coil_raises_the_arm_and_limit_switches_follow_position(
    sim: LaneControllerSim, master: Master
) -> None:
    await master.write("barrier_open", True)
    await eventually(lambda: 0.1 < sim.position < 0.9, timeout=TRAVEL_S)
    mid = await master.read_inputs()
    assert not mid["barrier_up"]
    assert not mid["barrier_down"]
    await sim.wait_for_position(up=True, timeout=2 * TRAVEL_S)
    top = await master.read_inputs()
    assert top["barrier_up"]
    assert not top["barrier_down"]

    await master.write("barrier_open", False)
    await master.write("barrier_close", True)
    await sim.wait_for_position(up=False, timeout=2 * TRAVEL_S)
    bottom = await master.read_inputs()
    assert bottom["barrier_down"]
    assert not bottom["barrier_up"]


async def test_both_drive_coils_on_stop_the_arm(sim: LaneControllerSim, master: Master) -> None:
    await master.write("barrier_open", True)
    await eventually(lambda: sim.position > 0.3, timeout=TRAVEL_S)
    await master.write("barrier_close", True)
    await asyncio.sleep(2 * sim.TICK_S)
    held = sim.position
    await asyncio.sleep(0.1)
    assert sim.position == held
    assert 0.0 < held < 1.0


async def test_light_coils_are_stored_and_readable(sim: LaneControllerSim, master: Master) -> None:
    await master.write("light_green", True)
    coils = await sim.read_coils()
    assert coils == {"barrier_open": False, "barrier_close": False, "light_green": True, "light_red": False}
    assert await master.read_coils("light_green", count=2) == [True, False]


async def test_forced_coil_ignores_writes_like_a_stuck_relay(sim: LaneControllerSim, master: Master) -> None:
    await sim.force_coil("barrier_open", False)
    await master.write("barrier_open", True)
    assert (await sim.read_coils())["barrier_open"] is False
    await sim.force_coil("barrier_open", None)
    await master.write("barrier_open", True)
    assert (await sim.read_coils())["barrier_open"] is True


async def test_arm_descending_onto_an_occupied_path_counts_one_collision(
    devices: DevicesConfig, port: int
) -> None:
    async with LaneControllerSim(devices, "127.0.0.1", port, 0.2, 0.2, initial_position=1.0) as sim:
        master = Master(await plain_client(sim), devices)
        sim.set_exit_loop(True)
        await master.write("barrier_close", True)
        await sim.wait_for_position(up=False, timeout=5.0)
        master.client.close()
        assert sim.collisions == 1


async def test_vehicle_drive_through_crosses_the_detectors_in_order(
    devices: DevicesConfig, port: int
) -> None:
    async with LaneControllerSim(devices, "127.0.0.1", port, initial_position=1.0, vehicle_speed=10) as sim:
        seen: list[tuple[bool, bool, bool]] = []

        async def watch() -> None:
            while True:
                state = (sim.entry_loop, sim.photocell, sim.exit_loop)
                if not seen or seen[-1] != state:
                    seen.append(state)
                await asyncio.sleep(0.002)

        watcher = asyncio.create_task(watch())
        await asyncio.sleep(0.01)
        await sim.vehicle_arrives()
        await asyncio.sleep(0.01)
        await sim.vehicle_drives_through(timeout=5.0)
        await asyncio.sleep(0.01)
        watcher.cancel()
        # (entry loop, photocell, exit loop)
        assert seen == [
            (False, False, False),
            (True, False, False),
            (True, True, False),
            (True, True, True),
            (False, True, True),
            (False, False, True),
            (False, False, False),
        ]
        assert sim.collisions == 0


async def test_vehicle_does_not_drive_into_a_barrier_that_stays_down(sim: LaneControllerSim) -> None:
    await sim.vehicle_arrives()
    with pytest.raises(TimeoutError):
        await sim.vehicle_drives_through(timeout=0.1)
    assert not sim.photocell
    await sim.vehicle_backs_out()
    assert not sim.entry_loop


async def test_pause_drops_connections_and_resume_serves_the_same_port_and_state(
    sim: LaneControllerSim, master: Master
) -> None:
    await master.write("light_red", True)
    await sim.pause()
    await eventually(lambda: not master.client.connected, timeout=5.0)
    with socket.socket() as probe:
        assert probe.connect_ex((sim.host, sim.port)) != 0  # refused: really off the network

    await sim.resume()
    assert await master.client.connect()
    coils = await sim.read_coils()
    assert coils["light_red"] is True
    assert (await master.read_coils("light_red", count=1))[0] is True


def test_free_tcp_port_can_be_listened_on() -> None:
    port = free_tcp_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
