"""Fixtures for the lane I/O tests: a real simulated controller on a free loopback port, LaneIO on it, and a
plain pymodbus client."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from pymodbus.client import AsyncModbusTcpClient

from devices.config import BarrierConfig, DevicesConfig, ModbusLinkConfig
from devices.lane_inputs import LaneIOEvent, LinkChanged
from devices.modbus_io import LaneIO
from devices.sim.lane_controller import LaneControllerSim
from devices.sim.net import free_tcp_port
from tests.waiting import poll_until

#: Sim arm travel time: short enough for fast tests, long enough to act while the arm moves.
TRAVEL_S = 0.4


def lane_config(port: int, **io: Any) -> DevicesConfig:
    """Demo point map with a fast link: 10 ms polls, short timeout and backoff."""
    link = {
        "port": port,
        "poll_interval_ms": 10,
        "timeout_s": 0.2,
        "backoff_initial_s": 0.05,
        "backoff_max_s": 0.2,
        **io,
    }
    return DevicesConfig(
        io=ModbusLinkConfig(**link),
        barrier=BarrierConfig(close_hold_s=0.3, move_timeout_s=0.6),
    )


#: Wait until predicate() holds, polling every 5 ms; fail the test after timeout (2 s unless given).
eventually = poll_until(every_s=0.005, timeout=2.0)


class RunningLaneIO:
    """LaneIO running as a task; records events and forwards them, in order, to async subscribers."""

    def __init__(self, devices: DevicesConfig, alive: Callable[[], bool] | None = None) -> None:
        self.events: list[LaneIOEvent] = []
        self.subscribers: list[Callable[[LaneIOEvent], Awaitable[object]]] = []
        self._queue: asyncio.Queue[LaneIOEvent] = asyncio.Queue()
        self.io = LaneIO(devices, self._on_event, alive=alive)
        self._tasks: list[asyncio.Task[None]] = []

    def _on_event(self, event: LaneIOEvent) -> None:
        self.events.append(event)
        self._queue.put_nowait(event)

    async def _pump(self) -> None:
        while True:
            event = await self._queue.get()
            for subscriber in self.subscribers:
                await subscriber(event)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self.io.run()), asyncio.create_task(self._pump())]

    @classmethod
    async def connected(
        cls, devices: DevicesConfig, alive: Callable[[], bool] | None = None
    ) -> RunningLaneIO:
        """Started, with its link up."""
        running = cls(devices, alive)
        running.start()
        await running.wait_link(up=True)
        return running

    @property
    def run_task(self) -> asyncio.Task[None]:
        return self._tasks[0]

    def link_events(self) -> list[LinkChanged]:
        return [e for e in self.events if isinstance(e, LinkChanged)]

    async def wait_link(self, up: bool, timeout: float = 2.0) -> None:
        await eventually(lambda: self.io.link_up is up, timeout)

    async def close(self) -> None:
        await asyncio.wait_for(self.io.stop(), 2.0)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        # A failure inside run() (other than our cancel) must fail the test, not vanish.
        if self._tasks and not self._tasks[0].cancelled():
            self._tasks[0].result()


@pytest.fixture
def port() -> int:
    return free_tcp_port()


@pytest.fixture
def devices(port: int) -> DevicesConfig:
    return lane_config(port)


@pytest.fixture
async def sim(devices: DevicesConfig, port: int) -> AsyncIterator[LaneControllerSim]:
    controller = LaneControllerSim(
        devices, "127.0.0.1", port, open_time_s=TRAVEL_S, close_time_s=TRAVEL_S, vehicle_speed=10.0
    )
    await controller.start()
    yield controller
    await controller.stop()


async def plain_client(sim: LaneControllerSim) -> AsyncModbusTcpClient:
    """A plain pymodbus client connected to the simulator, as a third-party master would be."""
    client = AsyncModbusTcpClient(sim.host, port=sim.port, timeout=0.5, retries=0, reconnect_delay=0)
    assert await client.connect()
    return client


@pytest.fixture
async def client(sim: LaneControllerSim) -> AsyncIterator[AsyncModbusTcpClient]:
    modbus = await plain_client(sim)
    yield modbus
    modbus.close()


@pytest.fixture
async def lane_io(devices: DevicesConfig, sim: LaneControllerSim) -> AsyncIterator[RunningLaneIO]:
    """LaneIO connected to the simulator, link already up."""
    running = await RunningLaneIO.connected(devices)
    yield running
    await running.close()
