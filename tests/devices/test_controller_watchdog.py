"""LaneIO arms the controller's watchdog at connect, refreshes it from its poll loop, and reports a controller
that does not take it; when the driver or the lane stops, the controller's outputs go safe by themselves."""

from __future__ import annotations

import asyncio
from typing import Any

from devices.config import WAGO_WATCHDOG_TIME, DevicesConfig
from devices.modbus_io import CoilName
from devices.sim.comm_watchdog import WatchdogStatus
from devices.sim.lane_controller import LaneControllerSim
from devices.sim.net import free_tcp_port
from tests.devices.conftest import TRAVEL_S, RunningLaneIO, eventually, lane_config

#: Short enough for quick tests, long enough for the 10 ms polls and 0.2 s request timeout of lane_config.
FAST = {"timeout_s": 0.3, "refresh_s": 0.05}


def _config(port: int, **watchdog: Any) -> DevicesConfig:
    return lane_config(port, watchdog={**FAST, **watchdog})


async def _holding(sim: LaneControllerSim, address: int) -> int:
    [value] = await sim._require_server().async_getValues(1, 3, address)  # what the controller holds
    return int(value)


async def test_connect_writes_the_time_and_safe_values_and_starts_the_watchdog(port: int) -> None:
    devices = _config(port, safe_action="hold_open", safe_values_register=0x1010)
    wd = devices.io.watchdog
    assert wd.safe_values_register is not None
    async with LaneControllerSim(devices, port=port) as sim:
        assert sim.watchdog_status is WatchdogStatus.NOT_ACTIVE
        running = await RunningLaneIO.connected(devices)
        assert sim.watchdog_status is WatchdogStatus.RUNNING
        assert await _holding(sim, WAGO_WATCHDOG_TIME) == 3  # 0.3 s in 100 ms units
        safe = {name: await _holding(sim, wd.safe_values_register + addr) for name, addr in _coils(devices)}
        assert safe == {"barrier_open": 1, "barrier_close": 0, "light_green": 0, "light_red": 1}
        await running.close()


def _coils(devices: DevicesConfig) -> list[tuple[str, int]]:
    return [
        ("barrier_open", devices.barrier.coils.open),
        ("barrier_close", devices.barrier.coils.close),
        ("light_green", devices.light.coils.green),
        ("light_red", devices.light.coils.red),
    ]


async def test_poll_loop_refreshes_the_watchdog_so_it_never_expires(port: int) -> None:
    devices = _config(port)
    async with LaneControllerSim(devices, port=port) as sim:
        running = await RunningLaneIO.connected(devices)
        await running.io.write_coil(CoilName.LIGHT_GREEN, True)
        await asyncio.sleep(5 * devices.io.watchdog.timeout_s)
        assert sim.watchdog_expiries == 0
        assert sim.watchdog_status is WatchdogStatus.RUNNING  # armed, and refreshed ever since
        assert (await sim.read_coils())["light_green"] is True
        assert [e.up for e in running.link_events()] == [True]
        await running.close()


async def test_stopped_driver_lets_the_controller_drop_the_close_coil(port: int) -> None:
    devices = _config(port)
    async with LaneControllerSim(
        devices, port=port, open_time_s=10 * TRAVEL_S, close_time_s=10 * TRAVEL_S, initial_position=1.0
    ) as sim:
        running = await RunningLaneIO.connected(devices)
        await running.io.write_coil(CoilName.BARRIER_CLOSE, True)
        await running.close()  # the daemon is gone: nobody will switch the close coil off
        await eventually(lambda: sim.watchdog_status is WatchdogStatus.EXPIRED, timeout=3.0)
        assert (await sim.read_coils())["barrier_close"] is False
        await asyncio.sleep(2 * sim.TICK_S)
        halted = sim.position
        await asyncio.sleep(0.2)
        assert sim.position == halted > 0.0


async def test_stuck_lane_loop_withholds_the_refresh_and_keeps_the_link_down_until_it_lives(
    port: int,
) -> None:
    devices = _config(port)
    lane_alive = True
    async with LaneControllerSim(devices, port=port) as sim:
        running = await RunningLaneIO.connected(devices, alive=lambda: lane_alive)
        await running.io.write_coil(CoilName.BARRIER_CLOSE, True)
        lane_alive = False  # the poller still polls, but the lane loop stopped handling events
        await running.wait_link(up=False, timeout=3.0)
        assert sim.watchdog_status is WatchdogStatus.EXPIRED
        assert (await sim.read_coils())["barrier_close"] is False
        down = running.link_events()[-1]
        assert "watchdog expired" in down.detail
        await asyncio.sleep(0.5)  # reconnects keep failing while the lane is stuck: not re-armed
        assert not running.io.link_up
        assert sim.watchdog_status is not WatchdogStatus.RUNNING
        lane_alive = True
        await running.wait_link(up=True, timeout=3.0)
        assert sim.watchdog_status is WatchdogStatus.RUNNING
        await running.io.write_coil(CoilName.BARRIER_CLOSE, True)  # writable again once re-armed
        await running.close()


async def test_outage_longer_than_the_watchdog_leaves_outputs_safe_and_reconnect_rearms(port: int) -> None:
    devices = _config(port)
    async with LaneControllerSim(devices, port=port) as sim:
        running = await RunningLaneIO.connected(devices)
        await running.io.write_coil(CoilName.LIGHT_GREEN, True)
        await sim.pause()
        await eventually(lambda: sim.watchdog_status is WatchdogStatus.EXPIRED, timeout=3.0)
        assert (await sim.read_coils())["light_green"] is False
        await sim.resume()
        await running.wait_link(up=True, timeout=5.0)
        assert sim.watchdog_status is WatchdogStatus.RUNNING
        await running.io.write_coil(CoilName.LIGHT_GREEN, True)
        await running.close()


class GarblingLink:
    """A TCP hop in front of the controller that passes requests on and, once `garble` is set, turns its
    answers to zeros: the controller still acts on every write, the driver reads nonsense back."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.port = free_tcp_port()
        self.garble = False
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> GarblingLink:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._server is not None
        self._server.close()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream)
        try:
            while request := await reader.read(260):
                up_writer.write(request)
                await up_writer.drain()
                answer = await up_reader.read(260)
                writer.write(bytes(len(answer)) if self.garble else answer)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            up_writer.close()
            writer.close()


async def test_answers_garbled_on_the_way_back_let_the_running_watchdog_expire(port: int) -> None:
    """The reconnects after the link turns bad must not stop the watchdog: re-arming reads before it
    writes, so the controller's countdown runs out and the green light goes off (A12's attack left it on
    for good: each reconnect rewrote the time register, which stops a running WAGO watchdog)."""
    async with LaneControllerSim(_config(port), port=port) as sim, GarblingLink(port) as link:
        devices = _config(link.port)
        running = await RunningLaneIO.connected(devices)
        await running.io.write_coil(CoilName.LIGHT_GREEN, True)
        assert sim.watchdog_status is WatchdogStatus.RUNNING
        link.garble = True
        await eventually(lambda: sim.watchdog_status is WatchdogStatus.EXPIRED, timeout=3.0)
        assert (await sim.read_coils())["light_green"] is False
        assert not running.io.link_up
        link.garble = False  # the link heals: the driver re-arms (the time written: it had expired)
        await running.wait_link(up=True, timeout=5.0)
        assert sim.watchdog_status is WatchdogStatus.RUNNING
        await running.close()


async def test_controller_without_the_configured_registers_keeps_the_link_down_and_says_why(
    port: int,
) -> None:
    driver = _config(port, timeout_register=0x2000)  # not in this controller's register map
    async with LaneControllerSim(_config(port), port=port):
        running = RunningLaneIO(driver)
        running.start()
        await eventually(lambda: len(running.link_events()) == 1, timeout=3.0)
        await asyncio.sleep(0.3)  # retried with backoff, never up
        [down] = running.link_events()
        assert not down.up
        assert down.detail.startswith(
            "controller refused the watchdog time (read of register 8192) with Modbus exception code 2"
        )
        assert "devices.io.watchdog" in down.detail
        await running.close()


async def test_watchdog_that_does_not_run_after_setup_is_reported(port: int) -> None:
    driver = _config(port, trigger_register=None)  # this controller needs a trigger to start
    async with LaneControllerSim(_config(port), port=port) as sim:
        running = RunningLaneIO(driver)
        running.start()
        await eventually(lambda: len(running.link_events()) == 1, timeout=3.0)
        [down] = running.link_events()
        assert not down.up
        assert "not running after setup: status register 4102 reads 0, expected 1" in down.detail
        assert sim.watchdog_status is WatchdogStatus.NOT_ACTIVE
        await running.close()


async def test_disabled_watchdog_is_left_alone(port: int) -> None:
    devices = lane_config(port, watchdog={"enabled": False, "waive_reason": "barrier has its own timer"})
    async with LaneControllerSim(devices, port=port) as sim:
        running = await RunningLaneIO.connected(devices)
        assert await _holding(sim, WAGO_WATCHDOG_TIME) == 0
        assert sim.watchdog_status is WatchdogStatus.NOT_ACTIVE
        await running.close()
