"""A real gate for the evidence tests: its uplink, store and evidence folder holding four images of tx-1
(as kept, too large for the cap, not a JPEG, pruned), and central's screen with an evidence desk."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from central.evidence import EvidenceDesk
from central.receiver import Central
from central.settings import open_store
from central.web.serve import ScreenServer
from central.web.settings import WebSettings
from edge.evidence import prune_evidence
from edge.store import Store
from edge.store.transactions import EvidenceImage
from edge.uplink import Uplink
from sync.config import SyncConfig
from sync.evidence_limits import EvidenceLimits
from tests.central.screen_gates import add_staff, free_port
from tests.sync.broker import Mosquitto
from tests.sync.conftest import broker_config, trusted
from tests.waiting import poll_until

PREFIX = "customs/v1/gates/{gate_id}/"
KEY = "0123456789abcdef0123456789abcdef"
FAST = {"backoff_initial_s": 0.05, "backoff_max_s": 0.3, "idle_poll_s": 0.05, "telemetry_period_s": 3600}
CAP = EvidenceLimits().max_image_bytes
until = poll_until(every_s=0.02, timeout=10.0)


def jpeg(width: int, height: int, noise: bool, quality: int = 95) -> bytes:
    """A real JPEG: a smooth gradient (small) or noise (large at high quality)."""
    if noise:
        pixels = np.random.default_rng(7).integers(0, 256, (height, width, 3), dtype=np.uint8)
    else:
        row = np.linspace(0, 255, width, dtype=np.uint8)
        pixels = np.dstack([np.tile(row, (height, 1))] * 3)
    ok, encoded = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return bytes(encoded.tobytes())


def keep(folder: Path, data: bytes) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    sha = hashlib.sha256(data).hexdigest()
    (folder / f"{sha}.jpg").write_bytes(data)
    return sha


class GateImages:
    """Tx-1's four images at the gate: a small one, a large photo, a large unreadable file, a pruned one."""

    def __init__(self, folder: Path, store: Store) -> None:
        self.small_bytes = jpeg(64, 48, noise=False)
        self.large_bytes = jpeg(1000, 800, noise=True)
        assert len(self.large_bytes) > CAP
        self.small = keep(folder, self.small_bytes)
        self.large = keep(folder, self.large_bytes)
        self.broken = keep(folder, os.urandom(CAP + 1024))  # not a JPEG: cannot be downscaled
        self.pruned = keep(folder, jpeg(32, 32, noise=False, quality=50))
        old = time.time() - 40 * 86400
        os.utime(folder / f"{self.pruned}.jpg", (old, old))
        assert prune_evidence(folder, 30 * 86400) == 1  # the gate's own pruning: kept 30 days
        store.transactions.start("tx-1", "lane-1", datetime.now(UTC))
        store.transactions.update_identification(
            "tx-1",
            datetime.now(UTC),
            evidence=[
                EvidenceImage("plate", "51C12345", self.small),
                EvidenceImage("container", "MSKU1234565", self.large),
                EvidenceImage("container", "TGHU7654321", self.broken),
                EvidenceImage("plate", "51C12345", self.pruned),
            ],
        )


def gate_config(broker: Mosquitto, **overrides: Any) -> SyncConfig:
    """The gate's sync settings: this broker, fast backoff, the command key (and ``overrides``)."""
    settings = {
        "broker": {"host": broker.host, "port": broker.port},
        **FAST,
        "clearance_keys": trusted(),
        "command_key": KEY,
        **overrides,
    }
    return SyncConfig.model_validate(settings)


@asynccontextmanager
async def gate_running(uplink: Uplink) -> AsyncIterator[Uplink]:
    task = asyncio.create_task(uplink.run())
    try:
        await asyncio.wait_for(uplink.sync.link.wait_connected(), 5)
        yield uplink
    finally:
        await uplink.stop()
        await asyncio.wait_for(task, 10)


def run_evidence_screen(
    tmp_path: Path, broker: Mosquitto, start_central: Callable[..., Central]
) -> Iterator[tuple[str, Central]]:
    """A fixture body: central receiving, its screen on a free port with an evidence desk for g1."""
    central = start_central()
    db = tmp_path / "central.db"
    store = open_store(db_path=db)
    try:
        add_staff(store)
    finally:
        store.close()
    port = free_port()
    desk = EvidenceDesk(broker_config(broker), PREFIX, {"g1": KEY}, tmp_path / "central-evidence")
    server = ScreenServer(lambda: open_store(db_path=db, mode="open"), WebSettings(port=port), desk)
    server.start()  # starts the desk too, as `gate-central run --http ... --evidence-keys` does
    assert desk.connected.wait(5)
    yield f"http://127.0.0.1:{port}", central
    server.stop()
