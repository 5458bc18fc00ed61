"""The real PP-OCR ONNX models on images the project renders itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vision.identity import ReadKind
from vision.pipeline import Recognizer
from vision.read import ModelError, TextReader
from vision.render import (
    Degradation,
    degrade,
    random_degradation,
    render_container_code,
    render_plate,
    render_scene,
)


@pytest.mark.parametrize(
    ("text", "two_line"), [("51C12345", False), ("29LD1234", True), ("30E99999", True), ("19N1866", False)]
)
def test_rendered_vietnamese_plate_is_read_exactly(recognizer: Recognizer, text: str, two_line: bool) -> None:
    rng = np.random.default_rng(7)
    crop = degrade(render_plate(text, two_line=two_line), random_degradation(rng), rng)
    found = recognizer.read_crop(crop, ReadKind.PLATE)
    assert found is not None
    assert (found.text, found.valid) == (text, True)


def test_rendered_container_code_is_read_with_check_digit(recognizer: Recognizer) -> None:
    crop = render_container_code("TEMU5037029", layout="one_block")
    found = recognizer.read_crop(crop, ReadKind.CONTAINER)
    assert found is not None
    assert (found.text, found.valid) == ("TEMU5037029", True)


def test_vertical_container_code_is_stacked_and_read(recognizer: Recognizer) -> None:
    crop = render_container_code("TEMU5037029", layout="vertical")
    found = recognizer.read_crop(crop, ReadKind.CONTAINER)
    assert found is not None
    assert found.text == "TEMU5037029"


def test_container_number_with_failing_check_digit_is_never_valid(recognizer: Recognizer) -> None:
    crop = render_container_code("TEMU5037028", layout="one_block")  # 8 is not its check digit
    found = recognizer.read_crop(crop, ReadKind.CONTAINER)
    assert found is None or not found.valid


def test_scene_yields_plate_and_container_in_their_regions(recognizer: Recognizer) -> None:
    plate = render_plate("51C12345", height=36)
    code = render_container_code("MSKU3866036", height=48)
    scene = render_scene([(plate, (800, 800)), (code, (400, 300))])
    plates = recognizer.read_frame(scene, ReadKind.PLATE)
    assert plates[0].text == "51C12345"
    assert plates[0].valid
    x, y, _, _ = plates[0].box
    assert 750 < x < 850
    assert 750 < y < 850
    containers = [c for c in recognizer.read_frame(scene, ReadKind.CONTAINER) if c.valid]
    assert [c.text for c in containers] == ["MSKU3866036"]


def test_region_of_interest_limits_the_search(recognizer: Recognizer) -> None:
    plate = render_plate("51C12345", height=36)
    scene = render_scene([(plate, (800, 800))])
    assert recognizer.read_frame(scene, ReadKind.PLATE, roi=(0, 0, 600, 600)) == [] or not any(
        c.text == "51C12345" for c in recognizer.read_frame(scene, ReadKind.PLATE, roi=(0, 0, 600, 600))
    )
    inside = recognizer.read_frame(scene, ReadKind.PLATE, roi=(600, 600, 800, 400))
    assert inside[0].text == "51C12345"
    assert inside[0].box[0] > 600  # boxes are in full-frame pixels


def test_blank_and_tiny_images_give_no_read(recognizer: Recognizer) -> None:
    assert recognizer.read_crop(np.zeros((2, 2, 3), np.uint8), ReadKind.PLATE) is None
    assert recognizer.read_frame(np.full((1080, 1920, 3), 128, np.uint8), ReadKind.PLATE) == []


def test_missing_model_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        TextReader(tmp_path / "nope.onnx")


def test_non_onnx_model_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "rec.onnx"
    bad.write_bytes(b"this is not a protobuf")
    with pytest.raises(ModelError, match="cannot load"):
        TextReader(bad)


def test_clean_render_is_unchanged_by_a_null_degradation() -> None:
    plate = render_plate("51C12345")
    assert np.array_equal(degrade(plate, Degradation(), np.random.default_rng(0)), plate)


@pytest.mark.parametrize("text", ["29LD1234", "51C12345"])
def test_two_line_plate_in_a_scene_is_read_by_joining_its_rows(recognizer: Recognizer, text: str) -> None:
    scene = render_scene([(render_plate(text, two_line=True, height=36), (800, 700))])
    found = recognizer.read_frame(scene, ReadKind.PLATE)
    assert (found[0].text, found[0].valid) == (text, True)


def test_fragment_of_a_longer_valid_read_is_not_valid(recognizer: Recognizer) -> None:
    scene = render_scene([(render_plate("51C12345", height=36), (800, 800))])
    for c in recognizer.read_frame(scene, ReadKind.PLATE):
        assert not c.valid or c.text == "51C12345"
