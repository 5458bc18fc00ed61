"""The demo's RenderedIdentifier: generated trucks drawn as camera scenes and read by the real ONNX models."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from edge.demo.rendered import (
    PLATE_ROI,
    ROLL_PX,
    START_RANGE,
    RenderedIdentifier,
    render_frames,
    truck_look,
)
from edge.demo.traffic import Scenario, SimVehicle, TrafficGenerator
from vision.config import VisionConfig
from vision.identity import Identification, Read, ReadKind
from vision.pipeline import Recognizer, build_recognizer
from vision.render import render_plate
from vision.render_scene import random_look, truck_front


@pytest.fixture(scope="module")
def identifier() -> RenderedIdentifier:
    cfg = VisionConfig()
    recognizer: Recognizer = build_recognizer(cfg.model_copy(update={"yolo_model": None}))
    rendered = RenderedIdentifier(cfg, recognizer)
    rendered.warm_up()
    return rendered


def _vehicle(plate: str, containers: tuple[str, ...], scenario: Scenario = Scenario.CLEARED) -> SimVehicle:
    from edge.demo.traffic import EXPECTED

    scripted = Identification(plate=Read(ReadKind.PLATE, plate, 0.95, True, source="simulator"))
    return SimVehicle(plate, containers, 20000.0, scenario, EXPECTED[scenario], scripted)


async def test_rendered_vehicle_is_read_back_to_its_plate_and_containers(
    identifier: RenderedIdentifier,
) -> None:
    identifier.current = _vehicle("51C12345", ("MSKU3866036", "TCLU1234568"))
    ident = await identifier.identify("tx1", 30.0)  # a window no loaded test box outlasts
    assert ident.plate is not None
    assert (ident.plate.text, ident.plate.valid) == ("51C12345", True)
    assert ident.plate.evidence_jpeg is not None
    assert sorted((r.text, r.valid) for r in ident.containers) == [
        ("MSKU3866036", True),
        ("TCLU1234568", True),
    ]


async def test_a_sample_of_generated_trucks_reads_right_through_the_real_pipeline(
    identifier: RenderedIdentifier,
) -> None:
    # Each truck under its own light, angle and blur (seeded by its plate), with 0, 1 or 2 containers.
    traffic = TrafficGenerator(seed=2, declarations=40, mismatch_share=0.0)
    sample = [traffic.next_vehicle() for _ in range(8)]
    assert {len(v.containers) for v in sample} == {0, 1, 2}
    misread = []
    for vehicle in sample:
        identifier.current = vehicle
        ident = await identifier.identify("tx", 30.0)
        plate = (ident.plate.text, ident.plate.valid) if ident.plate else None
        boxes = sorted(r.text for r in ident.containers if r.valid)
        if plate != (vehicle.plate, True) or boxes != sorted(vehicle.containers):
            misread.append((vehicle.plate, vehicle.containers, plate, boxes))
    assert misread == []


def test_a_truck_renders_the_same_frames_every_time_and_trucks_differ_in_light_angle_and_blur() -> None:
    traffic = TrafficGenerator(seed=4, declarations=40, mismatch_share=0.0)
    first, second = traffic.next_vehicle(), traffic.next_vehicle()
    again = list(render_frames(first))
    assert all(np.array_equal(a.image, b.image) for a, b in zip(render_frames(first), again, strict=True))
    look_a, look_b = truck_look(first)[0], truck_look(second)[0]
    assert look_a.light != look_b.light
    assert look_a.yaw != look_b.yaw
    assert look_a.blur != look_b.blur
    assert {f.image.shape for f in again} == {(1080, 1920, 3)}


def test_the_first_three_frames_hold_two_of_the_containers_and_one_of_the_plate() -> None:
    # A loaded box reads three frames in the window: enough for a container number (two frames) and a
    # plate (one), only when the frames come in that mix.
    vehicle = _vehicle("51C12345", ("MSKU3866036",))
    first = [f.kind for f in itertools.islice(render_frames(vehicle), 3)]
    assert sorted(first) == sorted([ReadKind.CONTAINER, ReadKind.CONTAINER, ReadKind.PLATE])
    assert [f.kind for f in render_frames(_vehicle("51C12345", ()))] == [ReadKind.PLATE, ReadKind.PLATE]


def test_the_plate_on_the_bumper_stays_inside_the_plate_cameras_region_as_the_truck_rolls_in() -> None:
    rng = np.random.default_rng(0)
    plate = render_plate("51C12345", height=40)
    rx, ry, rw, rh = PLATE_ROI
    (x0, x1), (y0, y1) = START_RANGE
    for dx, dy in [(x0, y0), (x0, y1), (x1 + ROLL_PX[0], y0 + ROLL_PX[1]), (x1 + ROLL_PX[0], y1)]:
        _, (px, py, pw, ph) = truck_front(plate, random_look(rng), (dx, dy))
        assert rx <= px
        assert px + pw <= rx + rw
        assert ry <= py
        assert py + ph <= ry + rh


async def test_low_confidence_vehicle_is_never_read_valid_and_sure(identifier: RenderedIdentifier) -> None:
    identifier.current = _vehicle("29H54321", (), Scenario.LOW_CONFIDENCE)
    ident = await identifier.identify("tx2", 5.0)
    assert ident.plate is None or not (ident.plate.valid and ident.plate.confidence >= 0.8)
    assert ident.containers == ()


async def test_no_vehicle_on_the_stop_line_reads_nothing(identifier: RenderedIdentifier) -> None:
    identifier.current = None
    assert await identifier.identify("tx3", 0.05) == Identification(plate=None)
