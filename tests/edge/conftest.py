"""Fixtures for daemon tests: the real drivers against the simulators (Modbus TCP server, pty scale); for
uplink tests: a real Mosquitto and the reference central."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from central.receiver import Central
from devices.config import (
    BarrierConfig,
    DevicesConfig,
    ModbusLinkConfig,
    ScaleConfig,
    ScaleProtocol,
    StabilityConfig,
)
from devices.sim.lane_controller import LaneControllerSim
from devices.sim.net import free_tcp_port
from devices.sim.scale_peer import ScaleSimPeer
from edge.config import GateConfig, StoreConfig
from edge.daemon import LaneDaemon
from edge.declaration import Channel, ContainerLine, Declaration, DeclarationStatus
from edge.lane import LaneConfig
from tests.sync.broker import Mosquitto
from tests.sync.conftest import central_starter, run_broker
from tests.sync.observer import Observer
from tests.waiting import poll_until
from vision.identity import Identification, Read, ReadKind

HOLD_S = 0.3


def fast_config(tmp_path: Path, io_port: int, scale_port: str) -> GateConfig:
    """A lane with short timings so that one vehicle takes a few seconds.

    The Modbus request timeout leaves room for a busy test process: the simulator answers from the
    test's own event loop, while the lane polls it from a process of its own.
    """
    return GateConfig(
        gate_id="test-gate",
        lane=LaneConfig(arrive_settle_s=0.1, identify_timeout_s=2.0, weigh_timeout_s=6.0),
        devices=DevicesConfig(
            io=ModbusLinkConfig(
                port=io_port, poll_interval_ms=10, timeout_s=0.5, backoff_initial_s=0.05, backoff_max_s=0.3
            ),
            barrier=BarrierConfig(close_hold_s=HOLD_S, move_timeout_s=3.0),
            scale=ScaleConfig(
                protocol=ScaleProtocol.TOLEDO,
                port=scale_port,
                stability=StabilityConfig(divisions=1, window_ms=300),
                reconnect_s=0.2,
                stale_s=1.0,
            ),
        ),
        store=StoreConfig(path=tmp_path / "gate.db", evidence_dir=tmp_path / "evidence"),
    )


class FixedIdentifier:
    """Identifies every vehicle as whatever the test put in `current` (stands in for the cameras)."""

    def __init__(self) -> None:
        self.current = Identification(plate=None)

    async def identify(self, tx_id: str, window_s: float) -> Identification:
        await asyncio.sleep(0.05)
        return self.current


def plate(text: str, confidence: float = 0.97) -> Identification:
    return Identification(
        plate=Read(ReadKind.PLATE, text, confidence, valid=True, source="test"),
        containers=(Read(ReadKind.CONTAINER, "MSKU3866036", 0.95, valid=True, source="test"),),
    )


def declaration(number: str = "105000000001", plate_text: str = "51C12345", **changes: object) -> Declaration:
    now = datetime.now(UTC)
    base = Declaration(
        number=number,
        status=DeclarationStatus.CLEARED,
        channel=Channel.GREEN,
        plates=(plate_text,),
        containers=(ContainerLine(number="MSKU3866036", seal="VN123456"),),
        gross_kg=28_000.0,
        valid_from=now - timedelta(days=1),
        valid_until=now + timedelta(days=1),
    )
    return base.model_copy(update=changes)


eventually = poll_until(every_s=0.02, timeout=10.0)


class RunningGate:
    """Simulators, daemon and a fixed identifier, started together."""

    def __init__(self, tmp_path: Path, **devices: object) -> None:
        """`devices` replaces fields of the devices config (e.g. counters)."""
        self.io_port = free_tcp_port()
        self.scale = ScaleSimPeer(ScaleProtocol.TOLEDO, checksum=True, rate_hz=20, division_kg=20)
        self.config = fast_config(tmp_path, self.io_port, self.scale.port_name)
        if devices:
            changed = self.config.devices.model_copy(update=devices)
            self.config = self.config.model_copy(update={"devices": changed})
        self.controller = LaneControllerSim(
            self.config.devices, port=self.io_port, open_time_s=0.3, close_time_s=0.3
        )
        self.identifier = FixedIdentifier()
        self.daemon = LaneDaemon(self.config, self.identifier)
        self.events: list[tuple[str, dict[str, object]]] = []
        self.daemon.add_listener(lambda kind, data: self.events.append((kind, data)))
        self._task: asyncio.Task[None] | None = None

    async def start(self, controller: bool = True, scale: bool = True) -> None:
        if scale:
            self.scale.start()
        if controller:
            await self.controller.start()
        self._task = asyncio.create_task(self.daemon.run())

    async def stop(self) -> None:
        await self.daemon.stop()
        if self._task is not None and not self._task.cancelled():  # a test may have cancelled it
            await asyncio.wait_for(self._task, timeout=30)
        with contextlib.suppress(Exception):
            await self.controller.stop()
        self.scale.stop()

    def kinds(self, kind: str) -> list[dict[str, object]]:
        return [data for k, data in self.events if k == kind]


@pytest.fixture
async def gate(tmp_path: Path) -> AsyncIterator[RunningGate]:
    running = RunningGate(tmp_path)
    try:
        yield running
    finally:
        await running.stop()
        running.scale.close()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    yield from run_broker(tmp_path)


@pytest.fixture
def observe(broker: Mosquitto) -> Iterator[Callable[..., Observer]]:
    """`observe(*topics)`: an MQTT client of the test's own on the broker, subscribed to `topics` and ready
    (with none, an intruder that only publishes); closed after the test."""
    observers: list[Observer] = []

    def connect(*topics: str) -> Observer:
        observer = Observer(broker, *topics)
        observers.append(observer)
        assert observer.wait_ready()
        return observer

    yield connect
    for observer in observers:
        observer.close()


@pytest.fixture
def start_central(tmp_path: Path, broker: Mosquitto) -> Iterator[Callable[..., Central]]:
    yield from central_starter(tmp_path, broker)
