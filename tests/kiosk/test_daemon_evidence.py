"""A real gate daemon (the demo gate's simulators, the lane process, the store) with its uplink as
`gate-edge run` wires it (Uplink.for_daemon): a truck is read, the daemon keeps the camera's evidence JPEG,
and central's evidence desk gets that very JPEG back by the transaction's id through Mosquitto."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from central.evidence import EvidenceDesk
from edge.uplink import Uplink
from sync.config import SyncConfig
from tests.central.evidence_desk import running_desk
from tests.central.evidence_gate import FAST, KEY, jpeg
from tests.kiosk.conftest import KioskGate, camera_read, declaration, eventually, gate_config
from tests.sync.broker import Mosquitto
from tests.sync.conftest import broker, trusted

GATE = "kiosk-test-gate"
__all__ = ["broker"]  # the fixture: a real Mosquitto


@pytest.fixture
def desk(tmp_path: Path, broker: Mosquitto) -> Iterator[EvidenceDesk]:
    yield from running_desk(broker, GATE, tmp_path / "central-evidence")


async def test_central_gets_the_daemons_own_evidence_jpeg_by_transaction(
    tmp_path: Path, broker: Mosquitto, desk: EvidenceDesk
) -> None:
    config = gate_config(tmp_path / "gate.db")
    folder = tmp_path / "gate-evidence"
    config = config.model_copy(update={"store": config.store.model_copy(update={"evidence_dir": folder})})
    lane = KioskGate(tmp_path / "gate.db", config=config)
    sync = SyncConfig.model_validate(
        {
            "broker": {"host": broker.host, "port": broker.port},
            **FAST,
            "clearance_keys": trusted(),
            "command_key": KEY,
        }
    )
    uplink = Uplink.for_daemon(lane.daemon, sync)
    uplinking = asyncio.create_task(uplink.run())
    await lane.start()
    try:
        await asyncio.wait_for(uplink.sync.link.wait_connected(), 5)
        decl = declaration(41)
        lane.seed(decl)
        photo = jpeg(120, 40, noise=False)
        sha = hashlib.sha256(photo).hexdigest()
        ident = camera_read(decl)
        assert ident.plate is not None
        ident = replace(ident, plate=replace(ident.plate, evidence_jpeg=photo, evidence_sha256=sha))
        await lane.arrive(ident, 28_000)
        await eventually(lambda: lane.daemon.view.tx_id is not None, what="a transaction")
        tx_id = lane.daemon.view.tx_id
        assert tx_id is not None

        def listed() -> bool:
            record = lane.daemon.store.transactions.get(tx_id)
            return record is not None and sha in [image.sha256 for image in record.evidence]

        await eventually(lambda: (folder / f"{sha}.jpg").exists(), what="the evidence kept")
        await eventually(listed, what="the evidence listed with the transaction")

        answer = await asyncio.to_thread(desk.request, GATE, "vera", transaction_id=tx_id)
    finally:
        await uplink.stop()
        await asyncio.wait_for(uplinking, 10)
        await lane.stop()
    assert answer.status == "accepted"
    assert [(i["sha256"], i["state"]) for i in answer.images] == [(sha, "held")]
    kept = desk.image_path(GATE, sha)
    assert kept is not None
    assert kept.read_bytes() == photo
