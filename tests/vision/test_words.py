"""A plate read together with a word beside it is cut at the reader's word break, and only then;
a finer detection scale adds to what a coarser one read instead of replacing it."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import pytest

from vision.candidates import Judge
from vision.config import VisionConfig
from vision.detect import Region, TextDetector, quad_from_box
from vision.hypotheses import Hypothesis
from vision.identity import ReadKind
from vision.pipeline import Recognizer, build_recognizer
from vision.plates import GENERIC, GRAMMARS
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
    return build_recognizer(VisionConfig(grammar="generic", threads=2, det_sizes=(640,)))


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
    vietnam = build_recognizer(VisionConfig(grammar="vietnam", threads=2, det_sizes=(640,)))
    crop = _typed("MSKU 3866036")
    assert vietnam.reader.read([crop])[0].breaks == (4,)
    frame = np.full((720, 1280, 3), 235, np.uint8)
    frame[300 : 300 + crop.shape[0], 400 : 400 + crop.shape[1]] = crop
    found = vietnam.read_frame(frame, ReadKind.PLATE)
    assert "MSKU3866036" in {c.text for c in found}  # the line was read...
    assert "38G6036" not in {c.text for c in found}  # ...and no plate was made of its serial


class FixedReader(TextReader):
    """Reads every crop as the same line (no model): the grammar step on a line chosen by the test."""

    def __init__(self, line: LineRead) -> None:
        self.line = line

    def read(self, crops: Sequence[Image], background_pad: bool = False) -> list[LineRead]:
        return [self.line for _ in crops]


def _pieces_of(line: LineRead, grammar: str = "generic") -> list[tuple[str, bool]]:
    found = Judge(GRAMMARS[grammar]).score([line], [Hypothesis((0, 0, 200, 40), [0])], ReadKind.PLATE)
    return sorted((c.text, c.valid) for c in found)


def test_a_piece_never_stands_in_for_the_plate_it_is_part_of() -> None:
    # `AB12 CDE NORTHIAM` with the E unsure: AB12CDE is not valid, so neither is its surer part AB12.
    probs = (0.99,) * 6 + (0.90,) + (0.99,) * 8
    line = LineRead("AB12CDENORTHIAM", probs, (("0", 0.0),) * 15, (4, 7))
    assert not any(valid for _, valid in _pieces_of(line))
    assert ("AB12CDE", False) in _pieces_of(line)


def test_the_one_plate_of_a_long_line_is_valid_and_rival_pieces_are_not() -> None:
    sure = LineRead("ARONAANW2529", (0.99,) * 12, (("0", 0.0),) * 12, (5,))
    assert ("ANW2529", True) in _pieces_of(sure)
    # Two pieces that are plates and not parts of one another: neither is taken.
    rivals = LineRead("AB123CD456XYZ", (0.99,) * 13, (("0", 0.0),) * 13, (5, 10))
    assert not any(valid for _, valid in _pieces_of(rivals))


def test_a_container_number_in_a_plate_read_is_never_cut_into_plates() -> None:
    # The GMS grammar takes an all-digit plate: `3866137` would be one.
    line = LineRead("MSKU3866137", (0.99,) * 11, (("0", 0.0),) * 11, (4,))
    assert [text for text, _ in _pieces_of(line, "gms")] == ["MSKU3866137"]
