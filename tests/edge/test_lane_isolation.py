"""The lane loop runs alone: a daemon that is stuck or busy (a slow request, a flood) cannot delay it.

The controller simulator runs on a thread of its own here, as the real controller is a box of its own: what
is blocked is only the daemon's main process, where the kiosk, the uplink and recognition live.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from devices.config import ScaleProtocol
from devices.sim.lane_controller import LaneControllerSim
from devices.sim.net import free_tcp_port
from devices.sim.scale_peer import ScaleSimPeer
from edge.daemon import LaneDaemon, LaneProcessEnded
from edge.lane import LaneState
from edge.lane_core import MAX_EXTERNAL_PENDING, LaneBusy
from edge.lane_events import Tick

from .conftest import FixedIdentifier, eventually, fast_config

T = TypeVar("T")


class ThreadedController:
    """The lane controller simulator on its own thread and loop."""

    def __init__(self, sim: LaneControllerSim) -> None:
        self.sim = sim
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sim", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self.run(self.sim.start())

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def call(self, fn: Callable[[], object]) -> None:
        self._loop.call_soon_threadsafe(fn)

    def stop(self) -> None:
        try:
            self.run(self.sim.stop())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
            self._loop.close()


@dataclass
class Isolated:
    daemon: LaneDaemon
    controller: ThreadedController
    run: asyncio.Task[None]


@pytest.fixture
async def isolated(tmp_path: Path) -> AsyncIterator[Isolated]:
    io_port = free_tcp_port()
    scale = ScaleSimPeer(ScaleProtocol.TOLEDO, checksum=True, rate_hz=20, division_kg=20)
    config = fast_config(tmp_path, io_port, scale.port_name)
    controller = ThreadedController(
        LaneControllerSim(config.devices, port=io_port, open_time_s=0.3, close_time_s=2.0)
    )
    controller.start()
    scale.start()
    daemon = LaneDaemon(config, FixedIdentifier())
    task = asyncio.create_task(daemon.run())
    try:
        await asyncio.wait_for(daemon.ready.wait(), 10)
        yield Isolated(daemon, controller, task)
    finally:
        await daemon.stop()
        with contextlib.suppress(LaneProcessEnded):  # a test killed the lane on purpose
            await asyncio.wait_for(task, 30)
        controller.stop()
        scale.stop()
        scale.close()


async def test_the_lane_polls_and_ticks_while_the_main_loop_is_blocked(isolated: Isolated) -> None:
    daemon = isolated.daemon
    await eventually(lambda: daemon.view.state is LaneState.IDLE, what="lane idle")
    daemon.lag.reset()
    await asyncio.sleep(0.2)  # the reset reached the lane
    time.sleep(2.0)  # a handler stuck on the main loop (a lock, a slow query): the lane must not notice
    await asyncio.sleep(2.5)  # the lane's figures of that time arrive (once a second)
    late = daemon.lag.summary()["tick_late"]
    assert late["n"] > 20
    assert late["max_ms"] < 1000, late  # on one loop the tick waits the whole 2 s
    assert daemon.view.link_up


async def test_the_lane_ticks_on_time_while_the_daemon_holds_the_interpreter(isolated: Isolated) -> None:
    """One C call that never lets go of the GIL (a huge parse, a big sum): a lane thread would stop dead."""
    daemon = isolated.daemon
    await eventually(lambda: daemon.view.state is LaneState.IDLE, what="lane idle")
    daemon.lag.reset()
    await asyncio.sleep(0.2)  # the reset reached the lane
    per_million_s = 1.0
    for _ in range(5):  # the fastest of five: a probe descheduled on a loaded box would shrink the hog
        probe = time.monotonic()
        sum(range(1_000_000))
        per_million_s = min(per_million_s, max(time.monotonic() - probe, 1e-4))
    started = time.monotonic()
    sum(range(int(1_000_000 * 1.2 / per_million_s)))  # the GIL held in C, no switch possible, ~1.2 s
    held_s = time.monotonic() - started
    await asyncio.sleep(2.5)  # the lane's figures of that time arrive (once a second)
    assert held_s > 0.5, f"the hog took only {held_s:.2f} s: make it bigger for this machine"
    late = daemon.lag.summary()["tick_late"]
    assert late["n"] > 20
    assert late["max_ms"] < held_s * 1000 / 2, (held_s, late)  # a lane thread's tick waits the whole hold


async def test_the_arm_reverses_on_a_vehicle_while_the_main_loop_is_blocked(isolated: Isolated) -> None:
    daemon, controller = isolated.daemon, isolated.controller
    sim = controller.sim
    await eventually(lambda: daemon.view.state is LaneState.IDLE, what="lane idle")
    daemon.officer.open("supervisor-1", "isolation test")  # opens, then closes once the path is clear
    await eventually(lambda: sim.barrier_up, what="barrier up")
    await eventually(lambda: daemon.view.barrier_commanded == "closed", what="closing")
    await eventually(lambda: sim.position < 0.95, what="arm moving down")
    # A car noses into the photocell just as the main loop gets stuck for 2.5 s.
    controller.call(lambda: sim.set_photocell(True))
    time.sleep(2.5)
    assert sim.collisions == 0
    assert sim.position > 0.5  # reversed well before the contact point
    controller.call(lambda: sim.set_photocell(False))


async def test_a_stuck_lane_loop_is_not_alive_and_a_dead_one_stops_the_daemon(
    isolated: Isolated, caplog: pytest.LogCaptureFixture
) -> None:
    daemon = isolated.daemon
    await eventually(lambda: daemon.view.state is LaneState.IDLE, what="lane idle")
    assert daemon.lane_alive()
    daemon.lane_process.control("hang", 7.0)  # the lane loop hangs (a driver bug): the watchdog must see it
    await eventually(lambda: not daemon.lane_alive(), timeout=10, what="stuck lane loop seen")
    assert not daemon.watchdog.status()["lane-loop"]
    await eventually(daemon.lane_alive, timeout=10, what="lane loop back")
    pid = daemon.lane_process.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(LaneProcessEnded):  # the daemon stops, and says it failed: systemd restarts it
        await asyncio.wait_for(isolated.run, 20)
    assert any("lane process ended by itself" in r.getMessage() for r in caplog.records)


async def test_while_the_lane_is_stuck_the_daemon_refuses_offers_past_the_bound_and_drops_none(
    isolated: Isolated, caplog: pytest.LogCaptureFixture
) -> None:
    daemon = isolated.daemon
    await eventually(lambda: daemon.view.state is LaneState.IDLE, what="lane idle")
    daemon.lane_process.control("hang", 3.0)
    await asyncio.sleep(0.3)
    for _ in range(MAX_EXTERNAL_PENDING):
        daemon.submit(Tick())
        await asyncio.sleep(0.005)  # each offer reaches the lane process before the next
    await asyncio.sleep(0.5)
    with pytest.raises(LaneBusy):  # the parent counts what the stuck lane has not stepped yet
        daemon.submit(Tick())
    await eventually(lambda: daemon.lane_process.pending() == 0, timeout=15, what="every offer stepped")
    daemon.submit(Tick())  # room again
    assert not any("not taken by the lane" in r.getMessage() for r in caplog.records)
