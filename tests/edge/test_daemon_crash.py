"""Power-loss safety: the daemon killed with SIGKILL mid-transaction comes back safe and loses nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from devices.config import ScaleProtocol
from devices.sim.lane_controller import LaneControllerSim
from devices.sim.net import free_tcp_port
from devices.sim.scale_peer import ScaleSimPeer
from edge.config import GateConfig

from .conftest import eventually, fast_config


def _rows(db: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db, timeout=5)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def _has(db: Path, sql: str) -> bool:
    """True once the query returns a row; the daemon may still be creating the schema."""
    try:
        return db.exists() and bool(_rows(db, sql))
    except sqlite3.OperationalError:
        return False


def _start_daemon(config_file: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "edge.cli", "--log-level", "WARNING", "run", "--config", str(config_file)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


async def _daemon_up(db: Path) -> None:
    """The daemon process has written its lane's first transition."""
    await eventually(
        lambda: _has(db, "SELECT 1 FROM outbox WHERE kind = 'lane.transition'"), timeout=20, what="daemon up"
    )


@dataclass
class Simulators:
    config: GateConfig
    config_file: Path
    controller: LaneControllerSim
    scale: ScaleSimPeer


@pytest.fixture
async def sims(tmp_path: Path) -> AsyncIterator[Simulators]:
    """The controller and scale simulators, started, and the gate.yaml a daemon process runs them with."""
    port = free_tcp_port()
    scale = ScaleSimPeer(ScaleProtocol.TOLEDO, checksum=True, rate_hz=20, division_kg=20)
    config = fast_config(tmp_path, port, scale.port_name)
    config_file = tmp_path / "gate.yaml"
    config_file.write_text(yaml.safe_dump(config.model_dump(mode="json")))
    controller = LaneControllerSim(config.devices, port=port, open_time_s=0.3, close_time_s=0.3)
    scale.start()
    await controller.start()
    try:
        yield Simulators(config, config_file, controller, scale)
    finally:
        await controller.stop()
        scale.stop()
        scale.close()


async def test_sigkill_mid_transaction_restarts_safe_and_keeps_committed_work(sims: Simulators) -> None:
    db, controller, scale = sims.config.store.path, sims.controller, sims.scale
    coil_log: list[bool] = []
    daemon = _start_daemon(sims.config_file)
    try:
        await _daemon_up(db)
        # Vehicle 1 arrives and backs away: a completed transaction that must survive the crash.
        await controller.vehicle_arrives()
        await eventually(lambda: bool(_rows(db, "SELECT 1 FROM transactions")), what="tx 1 started")
        await asyncio.sleep(0.3)
        await controller.vehicle_backs_out()
        await eventually(
            lambda: bool(_rows(db, "SELECT 1 FROM transactions WHERE status = 'completed'")), what="tx 1 done"
        )
        # Vehicle 2 is held (no cameras configured: every vehicle goes to an officer); kill the daemon there.
        await controller.vehicle_arrives()
        scale.drive_on(20_000, settle_s=0.5)
        await eventually(
            lambda: bool(_rows(db, "SELECT 1 FROM transactions WHERE status = 'open' AND state = 'HOLD'")),
            what="tx 2 held",
        )
        [(tx2,)] = _rows(db, "SELECT id FROM transactions WHERE status = 'open'")
        events_before = _rows(db, "SELECT seq, event_id FROM outbox ORDER BY seq")
        daemon.send_signal(signal.SIGKILL)
        daemon.wait(timeout=10)

        daemon = _start_daemon(sims.config_file)
        for _ in range(60):  # 3 s of the restarted lane with the held truck still on the entry loop
            coil_log.append((await controller.read_coils())["barrier_open"])
            await asyncio.sleep(0.05)
        await eventually(
            lambda: bool(_rows(db, "SELECT 1 FROM transactions WHERE status = 'open' AND id != ?", tx2)),
            what="new transaction for the waiting truck",
        )
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(daemon.pid, signal.SIGKILL)

    assert daemon.returncode == 0, daemon.stderr.read() if daemon.stderr else ""
    assert not any(coil_log), "barrier commanded open after restart"
    assert controller.barrier_down
    assert _rows(db, "SELECT status FROM transactions WHERE id = ?", tx2) == [("interrupted",)]
    interrupted = _rows(db, "SELECT payload FROM outbox WHERE kind = 'transaction.interrupted'")
    assert len(interrupted) == 1
    assert tx2 in str(interrupted[0][0])
    assert len(_rows(db, "SELECT 1 FROM transactions WHERE status = 'completed'")) == 1
    events_after = _rows(db, "SELECT seq, event_id FROM outbox ORDER BY seq")
    assert events_after[: len(events_before)] == events_before  # nothing committed was lost or renumbered
    assert _rows(db, "PRAGMA integrity_check") == [("ok",)]


def _lane_child(pid: int) -> int | None:
    """The daemon's lane process: its child running the spawned interpreter."""
    for task in Path(f"/proc/{pid}/task").glob("*"):
        for child in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            if b"spawn_main" in cmdline and b"resource_tracker" not in cmdline:
                return int(child)
    return None


async def test_a_lane_process_killed_makes_run_exit_non_zero_so_systemd_restarts_it(sims: Simulators) -> None:
    daemon = _start_daemon(sims.config_file)
    try:
        await _daemon_up(sims.config.store.path)
        child = _lane_child(daemon.pid)
        assert child is not None, "no lane process under the daemon"
        os.kill(child, signal.SIGKILL)
        await eventually(lambda: daemon.poll() is not None, timeout=20, what="daemon ended")
    finally:
        if daemon.poll() is None:
            os.kill(daemon.pid, signal.SIGKILL)
            daemon.wait(timeout=10)
    assert daemon.returncode == 1  # Restart=on-failure restarts only a failed exit
