"""What the daemon's overseers read: the lane report, readiness, liveness checks and the metrics snapshot.

The kiosk's lane view and the uplink's telemetry read a `LaneReport`, the readiness probe a `Readiness`,
the watchdog the liveness checks, and /metrics a `GateSnapshot`: each taken on the daemon's main loop,
whose thread owns the store connection they read.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from edge.config import GateConfig
from edge.lane_health import DeviceHealth
from edge.lane_process import LaneLag, LaneProcess
from edge.lane_status import LaneStatus
from edge.metrics import CameraStats, GateSnapshot, ModbusStats, SerialStats, StoreStats, age_s
from edge.storage_health import StorageHealth
from edge.store import Store
from edge.watchdog import LivenessCheck, Watchdog, all_of, progress_check
from vision.identity import IdentificationSource

#: A camera reader that neither reads a frame nor retries for this long is stuck (OpenCV can block ~30 s
#: opening an unreachable RTSP source, and the reader backs off up to 10 s between attempts).
CAMERA_MAX_STALL_S = 60.0

UplinkStatus = Callable[[], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class LaneReport:
    """The lane status at one moment, typed: the kiosk's lane view and the uplink's telemetry read it."""

    gate_id: str
    lane: LaneStatus
    light: str | None  # the colour the lane last commanded; None before it commanded one
    devices: DeviceHealth  # copies: the picture stays as it was taken
    storage: StorageHealth
    faults: tuple[str, ...]
    outbox_depth: int
    outbox_oldest_at: datetime | None
    sync: dict[str, Any] | None  # the uplink's status, when sync runs beside the lane

    def as_dict(self) -> dict[str, Any]:
        """The lane status as plain data (`LaneDaemon.status()`, the uplink's telemetry)."""
        return {
            "faults": list(self.faults),
            "light": self.light,
            "gate_id": self.gate_id,
            "lane": self.lane.status(),
            "devices": self.devices.devices(),
            "storage": self.storage.as_dict(),
            "outbox_depth": self.outbox_depth,
            "sync": self.sync,
        }


@dataclass(frozen=True, slots=True)
class Readiness:
    """The facts the readiness probe answers from."""

    lane_started: bool
    lane_loop: bool
    controller_link: bool
    storage: str | None  # why the store is not ready (unreadable, writes failing, space low), or None
    inbound: bool | None  # central's clearances and commands are handled; None without an uplink

    @property
    def store(self) -> bool:
        return self.storage is None

    @property
    def ready(self) -> bool:
        lane = self.lane_started and self.lane_loop and self.controller_link
        return lane and self.store and self.inbound is not False


@dataclass
class Supervision:
    """Reads the lane's mirror, the store and the devices for the kiosk, the uplink, systemd and /metrics."""

    config: GateConfig
    lane: LaneProcess
    initial: LaneStatus
    store: Store
    storage: StorageHealth
    identifier: IdentificationSource
    watchdog: Watchdog
    started: asyncio.Event
    uplink: Callable[[], UplinkStatus | None]
    clock: Callable[[], float] = time.monotonic
    lag: LaneLag = field(init=False)

    def __post_init__(self) -> None:
        self.lag = LaneLag(self.lane)

    # What the lane process last reported.
    @property
    def view(self) -> LaneStatus:
        mirror = self.lane.mirror
        return mirror.view if mirror is not None else self.initial

    @property
    def health(self) -> DeviceHealth:
        mirror = self.lane.mirror
        return mirror.health if mirror is not None else DeviceHealth()

    @property
    def light(self) -> str | None:
        mirror = self.lane.mirror
        return mirror.light if mirror is not None else None

    def lane_alive(self) -> bool:
        """The lane process runs, reports, and its loop stepped an event within LANE_LOOP_MAX_AGE_S."""
        return self.lane.alive()

    def uplink_status(self) -> dict[str, Any] | None:
        status = self.uplink()
        return status() if status is not None else None

    def faults(self) -> list[str]:
        """Every device and storage fault now, in words, for the lane status and the kiosk."""
        found = self.health.fault_list(self.view.fault)
        storage = self.storage.fault()
        return [*found, f"store: {storage}"] if storage else found

    def report(self) -> LaneReport:
        """The lane status now (reads the store: main loop only)."""
        outbox = self.store.outbox
        return LaneReport(
            gate_id=self.config.gate_id,
            lane=self.view,
            light=self.light,
            devices=replace(self.health),
            storage=replace(self.storage),
            faults=tuple(self.faults()),
            outbox_depth=outbox.depth(),
            outbox_oldest_at=outbox.oldest_pending_at(),
            sync=self.uplink_status(),
        )

    def readiness(self) -> Readiness:
        """Whether the lane started, its loop runs, the controller answers, the store works, sync listens."""
        storage: str | None
        try:
            self.store.check_readable()
        except sqlite3.Error as exc:
            storage = f"unreadable: {exc}"
        else:
            storage = self.storage.fault()
        uplink = self.uplink_status()
        reported = uplink.get("inbound_alive") if uplink is not None else None
        return Readiness(
            lane_started=self.started.is_set(),
            lane_loop=self.lane_alive(),
            controller_link=self.view.link_up,
            storage=storage,
            inbound=reported if isinstance(reported, bool) else None,
        )

    def metrics_snapshot(self) -> GateSnapshot:
        """What /metrics reads at each scrape (on the main loop: the store connection is its thread's)."""
        cameras = getattr(self.identifier, "stats", None)
        uplink = self.uplink_status()
        mirror = self.lane.mirror
        return GateSnapshot(
            lane_state=self.view.state.value,
            modbus=ModbusStats.of(mirror.io_stats, mirror.io_link_up) if mirror else None,
            scale=SerialStats.of(mirror.scale_stats, faulted=not mirror.health.scale_ok) if mirror else None,
            cameras=(
                {
                    name: CameraStats(str(s.state) == "OK", s.fps, s.last_frame_age_s)
                    for name, s in cameras().items()
                }
                if callable(cameras)
                else None
            ),
            outbox_depth=self.store.outbox.depth(),
            outbox_oldest_age_s=age_s(self.store.outbox.oldest_pending_at(), datetime.now(UTC)),
            liveness=self.watchdog.status(),
            store=StoreStats.of(self.storage),
            mqtt_connected=bool(uplink["connected"]) if uplink is not None else None,
            clearance_cache_age_s=uplink.get("clearance_age_s") if uplink is not None else None,
            lane_lag=self.lag.summary(),
        )

    def liveness_checks(self) -> dict[str, LivenessCheck]:
        """What must be alive for the watchdog to ping: the lane loop, the pollers, the camera readers."""
        link = self.config.devices.io
        # One full reconnect backoff (with jitter) plus a connect and a request guard, with room.
        io_stall_s = link.backoff_max_s * 1.1 + 2 * (link.timeout_s * 2 + 0.1) + 2.0
        lane = self.lane

        def io_progress() -> int:
            io = lane.mirror.io_stats if lane.mirror else None
            return io.polls + io.errors + io.reconnects if io else 0

        checks: dict[str, LivenessCheck] = {
            "lane-loop": self.lane_alive,
            "modbus-poller": all_of(
                lambda: lane.mirror is not None and lane.mirror.io_running,
                progress_check(io_progress, io_stall_s, self.clock),
            ),
        }
        # A read returns within its timeout, a reopen attempt comes every reconnect_s: a stall is a hang.
        checks["scale-reader"] = progress_check(
            lambda: lane.mirror.scale_turns if lane.mirror else 0,
            self.config.devices.scale.reconnect_s + 3.0,
            self.clock,
        )
        cameras = getattr(self.identifier, "stats", None)
        if callable(cameras):
            for name in cameras():
                checks[f"camera:{name}"] = progress_check(_camera_progress(cameras, name), CAMERA_MAX_STALL_S)
        return checks


def _camera_progress(stats: Callable[[], dict[str, Any]], name: str) -> Callable[[], int]:
    """Frames read plus reconnect attempts of one camera: grows while its reader thread is alive."""
    return lambda: int(stats()[name].frames + stats()[name].reconnects)
