"""The pipeline with both plate readers, through the real models on rendered plates and scenes."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from vision.config import CameraConfig, CameraRole, PlateReaderKind, VisionConfig
from vision.identity import ReadKind
from vision.pipeline import Recognizer, Timings, build_recognizer
from vision.plate_reader import PlateReader, SlotRead
from vision.read import Image
from vision.render import degrade, random_degradation, render_lao_plate, render_plate, render_scene

PPOCR, CCT = PlateReaderKind.PPOCR, PlateReaderKind.CCT


def test_both_readers_agree_on_a_rendered_plate_and_need_no_confirming_crop(recognizer: Recognizer) -> None:
    assert recognizer.readers.used == (PPOCR, CCT)
    found = recognizer.read_crop(render_plate("51C12345"), ReadKind.PLATE)
    assert found is not None
    assert (found.text, found.valid, found.agreed) == ("51C12345", True, True)
    found = recognizer.read_crop(render_plate("51C12345"), ReadKind.PLATE, readers=(PPOCR,))
    assert found is not None
    assert (found.text, found.valid, found.agreed) == ("51C12345", True, False)


def test_the_plate_reader_alone_reads_a_plate_in_a_rendered_scene(recognizer: Recognizer) -> None:
    scene = render_scene([(render_plate("29A44039", height=40), (700, 500))])
    found = recognizer.read_frame(scene, ReadKind.PLATE, readers=(CCT,))
    assert [c.text for c in found if c.valid][:1] == ["29A44039"]
    assert recognizer.timings.crops == 0  # PP-OCR read nothing
    assert recognizer.timings.slot_crops > 0


def test_a_two_row_plate_in_a_scene_is_read_by_both(recognizer: Recognizer) -> None:
    scene = render_scene([(render_plate("30E99999", two_line=True, height=36), (800, 700))])
    found = recognizer.read_frame(scene, ReadKind.PLATE)
    assert found
    assert (found[0].text, found[0].valid) == ("30E99999", True)


class _Says:
    """A plate reader that reads every crop as one text, sure of it: a reader that disagrees."""

    def __init__(self, real: PlateReader, text: str) -> None:
        self._read = real.read([render_plate(text, "generic")])[0]

    def read(self, crops: Sequence[Image]) -> list[SlotRead]:
        return [self._read] * len(crops)


def test_a_sure_plate_reader_that_reads_otherwise_makes_the_read_not_valid(recognizer: Recognizer) -> None:
    assert recognizer.plate_reader is not None
    disagreeing = Recognizer(
        recognizer.detector,
        recognizer.reader,
        recognizer.judge.grammar,
        plate_reader=_Says(recognizer.plate_reader, "B4567XY"),  # type: ignore[arg-type]
        readers=(PPOCR, CCT),
    )
    plate = render_plate("51C12345")
    alone = disagreeing.read_crop(plate, ReadKind.PLATE, readers=(PPOCR,))
    assert alone is not None
    assert alone.valid
    voted = disagreeing.read_crop(plate, ReadKind.PLATE)
    assert voted is not None
    assert not voted.valid
    assert voted.confidence < alone.confidence


def test_a_reader_not_loaded_is_refused_and_only_readers_in_use_are_loaded() -> None:
    ppocr_only = build_recognizer(VisionConfig(plate_readers=(PPOCR,), det_sizes=(640,)))
    assert ppocr_only.plate_reader is None
    with pytest.raises(ValueError, match="cct"):
        ppocr_only.read_crop(np.full((40, 120, 3), 200, np.uint8), ReadKind.PLATE, readers=(CCT,))
    camera = CameraConfig(id="rear", role=CameraRole.PLATE_REAR, source="0", plate_readers=(CCT,))
    mixed = build_recognizer(VisionConfig(plate_readers=(PPOCR,), cameras=(camera,), det_sizes=(640,)))
    assert mixed.plate_reader is not None
    assert mixed.readers.used == (PPOCR,)


@pytest.fixture(scope="module")
def lane() -> Recognizer:
    """A lane with Vietnamese and Chinese plates, readers by default: both for Vietnamese plates, PP-OCR
    for Chinese ones."""
    return build_recognizer(VisionConfig(threads=2, det_sizes=(640, 960), grammar=("vietnam", "china")))


def test_a_lane_with_chinese_plates_reads_vietnamese_ones_with_both_readers(lane: Recognizer) -> None:
    lane.timings = Timings()
    found = lane.read_crop(render_plate("51C12345"), ReadKind.PLATE)
    assert found is not None
    assert (found.text, found.valid, found.agreed, found.grammar) == ("51C12345", True, True, "vietnam")
    assert lane.timings.slot_crops == 1  # the plate reader read the crop, once


def test_a_lane_reads_chinese_plates_with_ppocr_alone(lane: Recognizer) -> None:
    lane.timings = Timings()
    found = lane.read_crop(render_plate("桂A12345", "china"), ReadKind.PLATE)
    assert found is not None
    assert (found.text, found.valid, found.agreed, found.grammar) == ("桂A12345", True, False, "china")
    assert lane.timings.slot_crops == 0  # not even for the confirming crop


class _Counting:
    """A reader that counts each crop it is given (by its pixels): a crop read twice shows."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.seen: list[bytes] = []

    def read(self, crops: Sequence[Image], **kw: Any) -> Any:
        self.seen += [hashlib.sha256(np.ascontiguousarray(c).tobytes()).digest() for c in crops]
        return self.real.read(crops, **kw)


def test_a_frame_with_both_countries_plates_reads_each_with_its_readers_and_no_crop_twice(
    lane: Recognizer,
) -> None:
    scene = render_scene(
        [
            (render_plate("51C12345", height=40), (500, 600)),
            (render_plate("粤B12345D", "china", height=44), (1200, 600)),
        ]
    )
    ppocr, slots = _Counting(lane.reader), _Counting(lane.plate_reader)
    counted = Recognizer(
        lane.detector,
        ppocr,  # type: ignore[arg-type]
        lane.judge.grammar,
        (640, 960),
        plate_reader=slots,  # type: ignore[arg-type]
        readers=lane.readers,
    )
    found = {c.text: c for c in counted.read_frame(scene, ReadKind.PLATE) if c.valid}
    assert set(found) == {"51C12345", "粤B12345D"}
    assert found["51C12345"].agreed  # both readers
    assert not found["粤B12345D"].agreed  # PP-OCR's, confirmed by its second crop
    assert slots.seen
    assert len(set(slots.seen)) == len(slots.seen)
    assert len(set(ppocr.seen)) == len(ppocr.seen)


def test_a_camera_that_names_ppocr_for_vietnamese_plates_reads_them_without_the_plate_reader(
    lane: Recognizer,
) -> None:
    camera = CameraConfig.model_validate(
        {"id": "rear", "role": "plate_rear", "source": "0", "plate_readers": {"vietnam": ["ppocr"]}}
    )
    config = VisionConfig(grammar=("vietnam", "china"), cameras=(camera,))
    lane.timings = Timings()
    found = lane.read_crop(render_plate("51C12345"), ReadKind.PLATE, readers=config.reading(camera))
    assert found is not None
    assert (found.text, found.valid, found.agreed) == ("51C12345", True, False)
    assert lane.timings.slot_crops == 0


def test_a_lao_plate_in_a_lane_of_three_countries_stays_of_no_plate_form() -> None:
    # The plate reader reads the Lao letters as a Cambodian form (`7Z1234`); PP-OCR's constrained guess
    # stays, of no form, so the officer is told the plate cannot be read (reasons.plate_not_readable).
    south = build_recognizer(VisionConfig(threads=2, grammar=("vietnam", "china", "cambodia")))
    rng = np.random.default_rng(5)
    plate = render_lao_plate("ກຂ 1234", height=44)
    for i in range(2):
        shot = degrade(plate, random_degradation(rng, 0.5), rng)
        found = south.read_frame(render_scene([(shot, (700 + 9 * i, 560))], seed=i), ReadKind.PLATE)
        assert found
        assert not any(c.valid for c in found)
        assert found[0].grammar == ""
