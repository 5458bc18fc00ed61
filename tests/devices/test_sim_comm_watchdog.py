"""The simulated controller's communication watchdog, alone and through a plain pymodbus client.

It must behave like the device the driver is written for (WAGO's 750-352 model): a time and a changing
trigger start it, a missed refresh puts every coil to its safe value, refuses coil writes and latches
"expired" until the master writes the time again.
"""

from __future__ import annotations

import asyncio

from pymodbus.client import AsyncModbusTcpClient

from devices.config import WAGO_WATCHDOG_STATUS, WAGO_WATCHDOG_TIME, WAGO_WATCHDOG_TRIGGER, DevicesConfig
from devices.sim.comm_watchdog import CommWatchdog, WatchdogStatus
from devices.sim.lane_controller import LaneControllerSim
from tests.devices.conftest import TRAVEL_S, eventually

SAFE_BASE = 0x1010  # where the simulator keeps safe values when devices.io.watchdog names no register


def test_watchdog_starts_with_a_time_and_a_new_trigger_and_expires_once() -> None:
    wd = CommWatchdog(unit_s=0.1)
    wd.write_trigger(1, now=0.0)
    assert wd.status is WatchdogStatus.NOT_ACTIVE  # no time yet: a trigger alone does nothing
    wd.write_time(5, now=0.0)
    wd.write_trigger(2, now=1.0)
    assert wd.status is WatchdogStatus.RUNNING
    assert not wd.poll(1.49)
    assert wd.poll(1.5)
    assert not wd.poll(2.0)  # once
    assert wd.status is WatchdogStatus.EXPIRED
    assert wd.expiries == 1


def test_only_a_changed_trigger_value_refreshes() -> None:
    wd = CommWatchdog(unit_s=0.1)
    wd.write_time(5, now=0.0)
    wd.write_trigger(7, now=0.0)
    wd.write_trigger(7, now=0.4)  # the same value: a master stuck repeating a cached write
    assert wd.poll(0.5)
    wd.write_time(5, now=1.0)
    wd.write_trigger(8, now=1.0)
    wd.write_trigger(9, now=1.4)
    assert not wd.poll(1.8)
    assert wd.poll(1.9)


def test_expiry_latches_through_triggers_until_the_time_is_written_again() -> None:
    wd = CommWatchdog(unit_s=0.1)
    wd.write_time(2, now=0.0)
    wd.write_trigger(1, now=0.0)
    assert wd.poll(0.2)
    wd.write_trigger(2, now=0.3)
    assert wd.status is WatchdogStatus.EXPIRED
    wd.write_time(2, now=0.4)  # the master's re-arm
    assert wd.status is WatchdogStatus.NOT_ACTIVE
    wd.write_trigger(3, now=0.4)
    assert wd.status is WatchdogStatus.RUNNING


def test_time_zero_disables_the_watchdog() -> None:
    wd = CommWatchdog(unit_s=0.1)
    wd.write_time(0, now=0.0)
    wd.write_trigger(1, now=0.0)
    assert wd.status is WatchdogStatus.NOT_ACTIVE
    assert not wd.poll(1000.0)


async def _write_register(client: AsyncModbusTcpClient, address: int, value: int) -> None:
    response = await client.write_register(address, value, device_id=1)
    assert not response.isError()


async def _status(client: AsyncModbusTcpClient) -> int:
    response = await client.read_holding_registers(WAGO_WATCHDOG_STATUS, count=1, device_id=1)
    assert not response.isError()
    return int(response.registers[0])


async def test_expiry_sets_each_coil_to_its_safe_value_and_refuses_coil_writes_until_rearmed(
    sim: LaneControllerSim, client: AsyncModbusTcpClient, devices: DevicesConfig
) -> None:
    coils = devices.barrier.coils
    await _write_register(client, SAFE_BASE + coils.open, 1)  # hold_open: the arm goes up
    await _write_register(client, SAFE_BASE + devices.light.coils.red, 1)
    await _write_register(client, WAGO_WATCHDOG_TIME, 3)  # 0.3 s
    await _write_register(client, WAGO_WATCHDOG_TRIGGER, 1)
    assert await _status(client) == WatchdogStatus.RUNNING
    assert not (await client.write_coil(coils.close, True, device_id=1)).isError()
    assert not (await client.write_coil(devices.light.coils.green, True, device_id=1)).isError()

    await eventually(lambda: sim.watchdog_status is WatchdogStatus.EXPIRED, timeout=3.0)
    assert await sim.read_coils() == {
        "barrier_open": True,
        "barrier_close": False,
        "light_green": False,
        "light_red": True,
    }
    assert await _status(client) == WatchdogStatus.EXPIRED
    refused = await client.write_coil(coils.close, True, device_id=1)
    assert refused.isError()
    assert refused.exception_code == 4
    await _write_register(client, WAGO_WATCHDOG_TRIGGER, 2)  # a refresh does not clear the expiry
    assert await _status(client) == WatchdogStatus.EXPIRED
    await eventually(lambda: sim.barrier_up, timeout=3 * TRAVEL_S)

    await _write_register(client, WAGO_WATCHDOG_TIME, 3)  # re-arm
    assert await _status(client) == WatchdogStatus.NOT_ACTIVE
    assert not (await client.write_coil(coils.open, False, device_id=1)).isError()
    await _write_register(client, WAGO_WATCHDOG_TRIGGER, 3)
    assert await _status(client) == WatchdogStatus.RUNNING
    assert sim.watchdog_expiries == 1


async def test_refreshed_watchdog_keeps_the_outputs(
    sim: LaneControllerSim, client: AsyncModbusTcpClient, devices: DevicesConfig
) -> None:
    await _write_register(client, WAGO_WATCHDOG_TIME, 3)
    assert not (await client.write_coil(devices.light.coils.green, True, device_id=1)).isError()
    for trigger in range(1, 11):  # 1 s of refreshes every 0.1 s against a 0.3 s watchdog
        await _write_register(client, WAGO_WATCHDOG_TRIGGER, trigger)
        await asyncio.sleep(0.1)
    assert await _status(client) == WatchdogStatus.RUNNING
    assert sim.watchdog_expiries == 0
    assert (await sim.read_coils())["light_green"] is True


async def test_stop_safe_values_halt_a_closing_arm_where_it_is(
    sim: LaneControllerSim, client: AsyncModbusTcpClient, devices: DevicesConfig
) -> None:
    sim.move_arm_by_hand(1.0)
    await _write_register(client, WAGO_WATCHDOG_TIME, 1)  # 0.1 s; safe values all 0: "stop"
    await _write_register(client, WAGO_WATCHDOG_TRIGGER, 1)
    assert not (await client.write_coil(devices.barrier.coils.close, True, device_id=1)).isError()
    await eventually(lambda: sim.watchdog_status is WatchdogStatus.EXPIRED, timeout=3.0)
    await asyncio.sleep(2 * sim.TICK_S)
    halted = sim.position
    await asyncio.sleep(TRAVEL_S / 2)
    assert sim.position == halted
    assert 0.0 < halted < 1.0
