"""The demo's RenderedIdentifier: generated trucks drawn into frames and read by the real ONNX models."""

from __future__ import annotations

import pytest

from edge.demo.rendered import RenderedIdentifier
from edge.demo.traffic import Scenario, SimVehicle
from vision.config import VisionConfig
from vision.identity import Identification, Read, ReadKind
from vision.pipeline import Recognizer, build_recognizer


@pytest.fixture(scope="module")
def identifier() -> RenderedIdentifier:
    cfg = VisionConfig()
    recognizer: Recognizer = build_recognizer(cfg)
    return RenderedIdentifier(cfg, recognizer)


def _vehicle(plate: str, containers: tuple[str, ...], scenario: Scenario = Scenario.CLEARED) -> SimVehicle:
    from edge.demo.traffic import EXPECTED

    scripted = Identification(plate=Read(ReadKind.PLATE, plate, 0.95, True, source="simulator"))
    return SimVehicle(plate, containers, 20000.0, scenario, EXPECTED[scenario], scripted)


async def test_rendered_vehicle_is_read_back_to_its_plate_and_containers(
    identifier: RenderedIdentifier,
) -> None:
    identifier.current = _vehicle("51C12345", ("MSKU3866036", "TCLU1234568"))
    ident = await identifier.identify("tx1", 5.0)
    assert ident.plate is not None
    assert (ident.plate.text, ident.plate.valid) == ("51C12345", True)
    assert ident.plate.evidence_jpeg is not None
    assert sorted((r.text, r.valid) for r in ident.containers) == [
        ("MSKU3866036", True),
        ("TCLU1234568", True),
    ]


async def test_low_confidence_vehicle_is_never_read_valid_and_sure(identifier: RenderedIdentifier) -> None:
    identifier.current = _vehicle("29H54321", (), Scenario.LOW_CONFIDENCE)
    ident = await identifier.identify("tx2", 5.0)
    assert ident.plate is None or not (ident.plate.valid and ident.plate.confidence >= 0.8)
    assert ident.containers == ()


async def test_no_vehicle_on_the_stop_line_reads_nothing(identifier: RenderedIdentifier) -> None:
    identifier.current = None
    assert await identifier.identify("tx3", 0.05) == Identification(plate=None)
