"""Fixtures for the kiosk tests: the demo gate's real simulators and daemon, with the kiosk under uvicorn.

The lane controller simulator is a Modbus TCP server on a free port, the scale a pty; the daemon runs its
production code against them and the kiosk is served by uvicorn in the same loop, as in the field. The
simulated officer is off (officer_auto_s=0): held trucks wait for the test's officer.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from devices.config import BarrierConfig, DevicesConfig, ModbusLinkConfig, ScaleConfig, StabilityConfig
from devices.sim.net import free_tcp_port
from edge.config import DemoConfig, GateConfig, StoreConfig
from edge.declaration import Channel, ContainerLine, Declaration, DeclarationStatus
from edge.demo.runner import DemoGate
from edge.kiosk.config import KioskConfig
from edge.kiosk.live import SyncStatus
from edge.kiosk.server import serve_kiosk
from edge.kiosk.users import Role, UsersRepo
from edge.lane import LaneConfig, LaneState
from tests.waiting import poll_until
from vision.identity import Identification, Read, ReadKind
from vision.iso6346 import complete

HOLD_S = 0.2
PASSWORDS = {"olga": "officer-pass-1", "sam": "supervisor-pass-1", "vic": "viewer-pass-1"}
ROLES = {"olga": Role.OFFICER, "sam": Role.SUPERVISOR, "vic": Role.VIEWER}


def gate_config(db: Path) -> GateConfig:
    """The demo gate on free ports with short timings: one truck takes about two seconds."""
    return GateConfig(
        gate_id="kiosk-test-gate",
        lane=LaneConfig(arrive_settle_s=0.1, identify_timeout_s=2.0, weigh_timeout_s=6.0),
        devices=DevicesConfig(
            io=ModbusLinkConfig(
                port=free_tcp_port(),
                poll_interval_ms=10,
                timeout_s=0.5,  # room for a busy test process: the simulator runs on its loop
                backoff_initial_s=0.05,
                backoff_max_s=0.3,
            ),
            barrier=BarrierConfig(close_hold_s=HOLD_S, move_timeout_s=3.0),
            scale=ScaleConfig(stability=StabilityConfig(divisions=1, window_ms=200), stale_s=2.0),
        ),
        store=StoreConfig(path=db),
        demo=DemoConfig(declarations=5, barrier_move_s=0.3, officer_auto_s=0, cameras="scripted"),
    )


def declaration(n: int, **changes: object) -> Declaration:
    """Cleared, green, one container, 28 t; plate 51C1000n. `n` keeps plates and containers apart."""
    now = datetime.now(UTC)
    base = Declaration(
        number=f"10{n:010d}",
        status=DeclarationStatus.CLEARED,
        channel=Channel.GREEN,
        plates=(f"51C{10000 + n}",),
        containers=(ContainerLine(number=complete(f"TCLU{n:06d}"), seal=f"VN{n:06d}"),),
        gross_kg=28_000.0,
        valid_from=now - timedelta(days=1),
        valid_until=now + timedelta(days=1),
    )
    return base.model_copy(update=changes)


def camera_read(decl: Declaration, plate: str | None = None, confidence: float = 0.95) -> Identification:
    """What the cameras read for a truck carrying `decl`: its plate (or `plate`, a misread) and containers."""
    return Identification(
        plate=Read(ReadKind.PLATE, plate or decl.plates[0], confidence, valid=True, source="cam-plate"),
        containers=tuple(
            Read(ReadKind.CONTAINER, c.number, 0.93, valid=True, source="cam-top") for c in decl.containers
        ),
    )


class KioskGate:
    """DemoGate's simulators and daemon, plus the kiosk, started and stopped together."""

    def __init__(self, db: Path, kiosk: KioskConfig | None = None, config: GateConfig | None = None) -> None:
        self.demo = DemoGate(config or gate_config(db), out=io.StringIO())
        self.daemon = self.demo.daemon
        self.controller = self.demo.controller
        self.scale = self.demo.scale_sim
        self.kiosk_config = kiosk or KioskConfig(
            port=free_tcp_port(),
            login_free_failures=3,
            login_first_delay_s=60,  # a wait no slow box outlasts between two requests
            login_free_failures_per_address=1000,  # the fuzzers fail logins by the hundred from 127.0.0.1
            login_rate_per_minute=200,
        )
        self.base_url = f"http://127.0.0.1:{self.kiosk_config.port}"
        self.events: list[tuple[float, str, dict[str, object]]] = []
        self.daemon.uplink_status = None  # its uplink is not run here: /readyz would say inbound is down
        self.daemon.add_listener(lambda kind, data: self.events.append((time.time(), kind, data)))
        self._tasks: list[asyncio.Task[None]] = []
        self.sync_status: SyncStatus | None = None  # the uplink's status, for a test that runs one

    async def start(self) -> None:
        users = UsersRepo(self.daemon.store.conn)
        for name, password in PASSWORDS.items():
            users.add(name, ROLES[name], password, datetime.now(UTC))
        self.scale.start()
        await self.controller.start()
        self._tasks.append(asyncio.create_task(self.daemon.run()))
        await asyncio.wait_for(self.daemon.ready.wait(), 10)
        started = asyncio.Event()
        kiosk = serve_kiosk(self.daemon, self.kiosk_config, started=started, sync_status=self.sync_status)
        self._tasks.append(asyncio.create_task(kiosk))
        await asyncio.wait_for(started.wait(), 10)
        await self.wait_state(LaneState.IDLE)

    async def stop(self) -> None:
        if len(self._tasks) > 1:
            self._tasks[1].cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._tasks[1], 10)
        await self.daemon.stop()
        if self._tasks:
            await asyncio.wait_for(self._tasks[0], 30)
        await self.controller.stop()
        self.scale.stop()

    def seed(self, *decls: Declaration) -> None:
        for decl in decls:
            self.daemon.store.declarations.upsert(decl)

    async def wait_state(self, state: LaneState, timeout: float = 10.0) -> None:
        await eventually(lambda: self.daemon.view.state is state, timeout, f"lane {state}")

    async def arrive(self, ident: Identification, kg: float) -> None:
        """A truck stops on the stop line and the weighbridge; the cameras will read `ident`."""
        await self.wait_state(LaneState.IDLE)
        self.demo.identifier.current = ident
        await self.controller.vehicle_arrives()
        self.scale.drive_on(kg, settle_s=0.3)

    async def drive_through(self) -> None:
        self.scale.drive_off(0.2)
        await self.controller.vehicle_drives_through(timeout=5, speed=4.0)
        await self.wait_state(LaneState.IDLE)
        await self.daemon.settle()  # the lane process tells, the writer writes

    async def back_out(self) -> None:
        self.scale.drive_off(0.2)
        await self.controller.vehicle_backs_out()
        await self.wait_state(LaneState.IDLE)
        await self.daemon.settle()

    def first(self, kind: str, tx_id: str) -> float:
        """When the daemon first reported `kind` for `tx_id` (Unix seconds)."""
        return next(at for at, k, data in self.events if k == kind and data.get("tx_id") == tx_id)


eventually = poll_until(every_s=0.01, timeout=10.0)


async def login(client: httpx.AsyncClient, name: str) -> str:
    """Log `name` in on `client` (its cookie jar keeps the session); returns the CSRF token."""
    response = await client.post("/api/v1/login", json={"name": name, "password": PASSWORDS[name]})
    assert response.status_code == 200, response.text
    token: str = response.json()["csrf_token"]
    return token


@asynccontextmanager
async def as_user(gate: KioskGate, name: str) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    """A client logged in as `name`, and the CSRF header of its session."""
    async with httpx.AsyncClient(base_url=gate.base_url, timeout=10) as http:
        yield http, {"X-CSRF-Token": await login(http, name)}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def gate(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[KioskGate]:
    running = KioskGate(tmp_path_factory.mktemp("kiosk") / "gate.db")
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


@pytest_asyncio.fixture(loop_scope="module")
async def client(gate: KioskGate) -> AsyncIterator[httpx.AsyncClient]:
    """A client with no session."""
    async with httpx.AsyncClient(base_url=gate.base_url, timeout=10) as http:
        yield http
