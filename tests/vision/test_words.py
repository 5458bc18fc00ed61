"""A plate read together with a word beside it is cut at the reader's word break, and only then;
a finer detection scale adds to what a coarser one read instead of replacing it."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import pytest

from vision.config import VisionConfig
from vision.detect import Region, TextDetector, quad_from_box
from vision.identity import ReadKind
from vision.pipeline import Recognizer, build_recognizer
from vision.plates import GENERIC, VIETNAM
from vision.read import Image, LineRead, TextReader


def _line(text: str, breaks: tuple[int, ...] = (), p: float = 0.99) -> LineRead:
    return LineRead(text, (p,) * len(text), (("0", 0.0),) * len(text), breaks)


def test_joined_lines_keep_their_breaks_and_break_where_they_meet() -> None:
    joined = _line("AB", (1,)) + _line("C12", (1,))
    assert (joined.text, joined.breaks) == ("ABC12", (1, 2, 3))
    assert (_line("") + _line("AB", (1,))).breaks == (1,)
    assert joined.segment(2, 5) == _line("C12", (1,))


def test_segments_are_runs_of_whole_words_but_not_the_whole_line() -> None:
    assert _line("ARONAANW2529", (5,)).segments() == [(0, 5), (5, 12)]
    assert _line("ABC", ()).segments() == []
    assert _line("ABCD", (1, 3)).segments() == [(0, 1), (0, 3), (1, 3), (1, 4), (3, 4)]


@pytest.fixture(scope="module")
def generic() -> Recognizer:
    cfg = VisionConfig()
    return build_recognizer(cfg.det_model, cfg.rec_model, GENERIC, threads=2)


def _typed(text: str) -> Image:
    img = np.full((60, 40 + 30 * len(text), 3), 235, np.uint8)
    cv2.putText(img, text, (15, 45), cv2.FONT_HERSHEY_SIMPLEX, 1.3, (20, 20, 20), 3)
    return img


def test_real_reader_marks_the_space_between_words(generic: Recognizer) -> None:
    line = generic.reader.read([_typed("ARONA ANW2529")])[0]
    assert line.text == "ARONAANW2529"
    assert line.breaks == (5,)


def test_plate_read_with_the_dealer_name_beside_it_is_cut_out_and_valid(generic: Recognizer) -> None:
    found = generic.read_crop(_typed("ARONA ANW2529"), ReadKind.PLATE)
    assert found is not None
    assert (found.text, found.valid) == ("ANW2529", True)


def test_a_read_no_longer_than_a_plate_is_never_cut_to_a_fragment(generic: Recognizer) -> None:
    # `HLO KTY1`: cut at its space it would give `KTY1`, a well-formed plate that is not this one.
    found = generic.read_crop(_typed("HLO KTY1"), ReadKind.PLATE)
    assert found is not None
    assert found.text == "HLOKTY1"


class ScaleDetector(TextDetector):
    """Finds the regions scripted for each detection size (no model)."""

    def __init__(self, by_size: dict[int, list[tuple[int, int, int, int]]]) -> None:
        self.by_size = by_size

    def detect(self, frame: Image, max_side: int | None = None) -> list[Region]:
        return [Region(quad_from_box(*b), 0.9) for b in self.by_size.get(max_side or 0, [])]


class ByWidthReader(TextReader):
    """Reads each crop as the text scripted for its width (a region's crop is its box plus 12 % of its
    height on each side, so the regions here are told apart by width)."""

    def __init__(self, by_width: dict[int, LineRead]) -> None:
        self.by_width = by_width

    def read(self, crops: Sequence[Image], background_pad: bool = False) -> list[LineRead]:
        out = []
        for crop in crops:
            width = min(self.by_width, key=lambda w: abs(w - crop.shape[1]))
            out.append(self.by_width[width])
        return out


def test_finer_scale_adds_to_the_coarser_reads_and_replaces_them_only_where_they_overlap() -> None:
    plate, other, sign = (100, 100, 120, 40), (500, 400, 240, 40), (120, 105, 90, 30)
    detector = ScaleDetector({480: [plate], 960: [other, sign]})
    reader = ByWidthReader(
        {
            130: _line("AB123", p=0.5),  # the plate at 480: read, not sure enough to be valid
            250: _line("SALE", p=0.99),  # a sign elsewhere, seen at 960 only
            97: _line("B12", p=0.6),  # part of the plate, seen again at 960
        }
    )
    recognizer = Recognizer(detector, reader, GENERIC, det_sizes=(480, 960))
    found = recognizer.read_frame(np.full((720, 1280, 3), 200, np.uint8), ReadKind.PLATE)
    texts = {c.text for c in found}
    assert "SALE" in texts  # the finer scale's own read
    assert "B12" in texts  # the finer read of the plate's place replaced the coarser one there
    assert "AB123" not in texts
    detector.by_size[960] = [other]
    found = recognizer.read_frame(np.full((720, 1280, 3), 200, np.uint8), ReadKind.PLATE)
    assert {c.text for c in found} == {"AB123", "SALE"}  # nothing finer there: the coarser read stays


def test_a_cut_out_part_is_taken_only_as_read_never_through_a_look_alike_swap() -> None:
    # `MSKU 3866036` (a container number in a plate camera's view): its serial would be the Vietnamese
    # plate `38G6036` with the 6 at the series position swapped for a G.
    cfg = VisionConfig()
    vietnam = build_recognizer(cfg.det_model, cfg.rec_model, VIETNAM, threads=2)
    crop = _typed("MSKU 3866036")
    assert vietnam.reader.read([crop])[0].breaks == (4,)
    frame = np.full((720, 1280, 3), 235, np.uint8)
    frame[300 : 300 + crop.shape[0], 400 : 400 + crop.shape[1]] = crop
    found = vietnam.read_frame(frame, ReadKind.PLATE)
    assert "MSKU3866036" in {c.text for c in found}  # the line was read...
    assert "38G6036" not in {c.text for c in found}  # ...and no plate was made of its serial
