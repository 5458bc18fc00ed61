"""A daemon killed (SIGKILL) or frozen (SIGSTOP) while the barrier closes must not close it onto a vehicle.

The real `gate-edge run` drives the simulated controller; at a random point of a close it is killed or
frozen and a vehicle drives into the photocell at a random moment after. SIGKILL goes to the daemon
only (its lane process must die with it); SIGSTOP freezes both, as a hung box would. Nothing of the
daemon can react then: only the controller's own watchdog, which the daemon armed, can stop the arm,
by dropping the close coil when the refreshes stop. The barrier controller's obstacle input is left
unwired here, so the watchdog alone is tested; it bounds how far the arm runs on after the daemon's
last refresh (timeout plus one refresh interval of travel), so the stops are taken in the part of the
close that leaves the arm above the vehicle by then. Below that, only the barrier's own obstacle input
protects: the last trials wire it and stop the daemon anywhere in the close.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from devices.config import ScaleProtocol
from devices.sim.lane_controller import LaneControllerSim
from devices.sim.net import free_tcp_port
from devices.sim.scale_peer import ScaleSimPeer
from edge.config import GateConfig

from .conftest import eventually, fast_config

#: A real barrier's travel time; the watchdog must stop the arm well before it has gone halfway.
CLOSE_S = 3.0
WATCHDOG_S = 0.3
#: Stops are taken while the arm is between these positions (1.0 up): at most ~0.4 s of travel later
#: (watchdog, a refresh interval, the simulator's tick) it is still above the contact position (0.5).
STOP_BETWEEN = (0.75, 0.97)
KILL_TRIALS = 4
FREEZE_TRIALS = 6
WIRED_TRIALS = 2


@pytest.fixture
def scale() -> Iterator[ScaleSimPeer]:
    peer = ScaleSimPeer(ScaleProtocol.TOLEDO, checksum=True, rate_hz=20, division_kg=20)
    peer.start()
    yield peer
    peer.stop()
    peer.close()


def _config(tmp_path: Path, port: int, scale_port: str) -> GateConfig:
    data = fast_config(tmp_path, port, scale_port).model_dump(mode="json")
    data["devices"]["barrier"]["move_timeout_s"] = 3 * CLOSE_S
    data["devices"]["io"]["timeout_s"] = 0.2  # a request must fit in the short watchdog used here
    data["devices"]["io"]["watchdog"].update(timeout_s=WATCHDOG_S, refresh_s=0.05)
    data["kiosk"]["enabled"] = data["sync"]["enabled"] = False
    return GateConfig.model_validate(data)


def _start_daemon(config_file: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "edge.cli", "--log-level", "ERROR", "run", "--config", str(config_file)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _family(pid: int) -> list[int]:
    """The daemon and its lane process (and anything they started), parents first."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop(0)
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError):
                todo.extend(int(c) for c in (task / "children").read_text().split())
    return found


def _signal_family(pid: int, sig: signal.Signals) -> None:
    """A hung daemon is all of it: the lane process stops with the main one."""
    for member in _family(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(member, sig)


def _end(daemon: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(daemon.pid, signal.SIGKILL)
    daemon.wait(timeout=10)


async def _standstill(controller: LaneControllerSim) -> None:
    """Wait until the arm is down or has not moved for 0.3 s."""
    last, still_since = controller.position, asyncio.get_running_loop().time()
    deadline = still_since + 3 * CLOSE_S
    while not controller.barrier_down:
        await asyncio.sleep(0.05)
        now = asyncio.get_running_loop().time()
        if controller.position != last:
            last, still_since = controller.position, now
        elif now - still_since >= 0.3:
            return
        if now > deadline:
            pytest.fail(f"arm still moving after {3 * CLOSE_S} s (at {controller.position:.2f})")


async def _stop_mid_close(
    controller: LaneControllerSim,
    rng: random.Random,
    stop: Callable[[], None],
    between: tuple[float, float] = STOP_BETWEEN,
) -> str:
    """Wait for the daemon's close, stop the daemon at a random point of it, drive into the photocell."""
    await eventually(
        lambda: controller.coils["barrier_close"] and controller.position < 1.0,
        timeout=30,
        what="the daemon closing the barrier",
    )
    at = rng.uniform(*between)
    await eventually(lambda: controller.position <= at, timeout=2 * CLOSE_S, what=f"arm at {at:.2f}")
    stop()
    stopped_at = controller.position
    await asyncio.sleep(rng.uniform(0.0, 0.25))
    entered_at = controller.position
    controller.set_photocell(True)
    await _standstill(controller)
    controller.set_photocell(False)
    halted_at = controller.position
    return f"stopped at {stopped_at:.2f}, vehicle in at {entered_at:.2f}, arm halted at {halted_at:.2f}"


async def test_killed_or_frozen_daemon_never_closes_the_barrier_onto_a_vehicle(
    tmp_path: Path, scale: ScaleSimPeer
) -> None:
    port = free_tcp_port()
    config = _config(tmp_path, port, scale.port_name)
    config_file = tmp_path / "gate.yaml"
    config_file.write_text(yaml.safe_dump(config.model_dump(mode="json")))
    rng = random.Random(20240611)  # fixed: the same kill points on every run
    controller = LaneControllerSim(
        config.devices, port=port, open_time_s=CLOSE_S, close_time_s=CLOSE_S, initial_position=1.0
    )
    trials: list[str] = []
    await controller.start()
    try:
        for _ in range(KILL_TRIALS):
            controller.move_arm_by_hand(1.0)  # the last trial left it halted mid-way
            daemon = _start_daemon(config_file)
            try:
                trials.append("SIGKILL " + await _stop_mid_close(controller, rng, daemon.kill))
            finally:
                _end(daemon)
            assert controller.collisions == 0, trials

        controller.move_arm_by_hand(1.0)
        daemon = _start_daemon(config_file)
        try:
            for trial in range(FREEZE_TRIALS + WIRED_TRIALS):
                wired = controller.obstacle_input_wired = trial >= FREEZE_TRIALS
                between = (0.05, STOP_BETWEEN[1]) if wired else STOP_BETWEEN
                stop = await _stop_mid_close(
                    controller, rng, lambda: _signal_family(daemon.pid, signal.SIGSTOP), between
                )
                trials.append(f"SIGSTOP {stop}{', obstacle input wired' if wired else ''}")
                assert controller.collisions == 0, trials
                # Thawed, it finds the watchdog expired, re-arms it and secures the lane: the next close.
                controller.move_arm_by_hand(1.0)
                _signal_family(daemon.pid, signal.SIGCONT)
            assert daemon.poll() is None, "the thawed daemon must keep running"
        finally:
            _signal_family(daemon.pid, signal.SIGCONT)
            _end(daemon)
    finally:
        await controller.stop()

    assert controller.collisions == 0, trials
    # Every halt was the controller's doing (a loaded box may add an expiry between trials, never fewer).
    assert controller.watchdog_expiries >= KILL_TRIALS + FREEZE_TRIALS + WIRED_TRIALS, trials
