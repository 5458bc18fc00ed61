"""The pipeline with both plate readers, through the real models on rendered plates and scenes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from vision.config import CameraConfig, CameraRole, PlateReaderKind, VisionConfig
from vision.identity import ReadKind
from vision.pipeline import Recognizer, build_recognizer
from vision.plate_reader import PlateReader, SlotRead
from vision.read import Image
from vision.render import render_plate, render_scene

PPOCR, CCT = PlateReaderKind.PPOCR, PlateReaderKind.CCT


def test_both_readers_agree_on_a_rendered_plate_and_need_no_confirming_crop(recognizer: Recognizer) -> None:
    assert recognizer.readers == (PPOCR, CCT)
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
    assert mixed.readers == (PPOCR,)
