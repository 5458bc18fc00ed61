"""Central's evidence desk on the test broker, connected before a test asks a gate for images; shared by
central's evidence tests and the kiosk daemon's (each names the gate it trusts)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from central.evidence import EvidenceDesk
from tests.central.evidence_gate import KEY, PREFIX
from tests.sync.broker import Mosquitto
from tests.sync.conftest import broker_config


def running_desk(broker: Mosquitto, gate_id: str, folder: Path) -> Iterator[EvidenceDesk]:
    """Start a desk that trusts `gate_id` (signed with KEY) and keeps images under `folder`; stop it after."""
    desk = EvidenceDesk(broker_config(broker), PREFIX, {gate_id: KEY}, folder)
    desk.start()
    assert desk.connected.wait(5)
    yield desk
    desk.stop()
