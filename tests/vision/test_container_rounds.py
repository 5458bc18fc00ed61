"""Container frames read in rounds through the real models: a vertical code read from the first
detection scale, the frame left as soon as a valid number is read alike by two views, and never a
wrong number valid for it."""

from __future__ import annotations

import numpy as np
import pytest

from vision.candidates import Judge
from vision.config import VisionConfig
from vision.detect import Region, quad_from_box
from vision.hypotheses import Hypothesis, add_column_room
from vision.identity import ReadKind
from vision.pipeline import Recognizer, build_recognizer
from vision.plates import VIETNAM
from vision.read import LineRead
from vision.render import CONTAINER_LAYOUTS, render_container_code, render_scene

NUMBER = "MSKU3866036"


@pytest.fixture(scope="module")
def deployed() -> Recognizer:
    """The recognizer as a gate runs it: detection at 480 px first, 960 px only when nothing is valid."""
    return build_recognizer(VisionConfig(threads=2))


def _scene(layout: str, number: str = NUMBER) -> np.ndarray:
    return render_scene([(render_container_code(number, layout=layout, height=40), (700, 150))], seed=1)


def test_a_vertical_code_is_read_valid_from_the_first_detection_scale(deployed: Recognizer) -> None:
    # At 480 px the detector ends the column at `MSKU3866`: the column is cut again with its rest, so no
    # second detection at 960 px is needed.
    found = deployed.read_frame(_scene("vertical"), ReadKind.CONTAINER)
    assert (found[0].text, found[0].valid) == (NUMBER, True)
    assert deployed.timings.detections == 1


# The vertical code is settled by its column lengthened, in the second round, and the door's column in
# the first: the rows round has nothing to read on them (no region reads 4 characters as a line), so
# leaving early saves no crop there.
@pytest.mark.parametrize(
    ("layout", "saves"),
    [("one_block", True), ("two_row", True), ("door_vertical", False), ("vertical", False)],
)
def test_a_frame_is_left_once_two_views_read_its_number_alike(
    deployed: Recognizer, layout: str, saves: bool
) -> None:
    frame = _scene(layout)
    deployed.early_exit = False
    try:
        every = deployed.read_frame(frame, ReadKind.CONTAINER)
        all_crops = deployed.timings.crops
    finally:
        deployed.early_exit = True
    found = deployed.read_frame(frame, ReadKind.CONTAINER)
    assert deployed.timings.early_exit
    assert deployed.timings.crops < all_crops if saves else deployed.timings.crops <= all_crops
    assert (found[0].text, found[0].valid) == (every[0].text, every[0].valid) == (NUMBER, True)


def test_a_number_one_view_reads_valid_and_the_second_reads_otherwise_is_read_to_the_end(
    deployed: Recognizer,
) -> None:
    # The door layout: the serial widened reads `3866036` at 0.93 (valid joined with `MSKU`), the same
    # place cut again and stretched at 0.65 (not valid): no second view, so the rows are read as well and
    # the number is judged against them, as without the early exit.
    found = deployed.read_frame(_scene("door"), ReadKind.CONTAINER)
    assert not deployed.timings.early_exit
    assert (found[0].text, found[0].valid) == (NUMBER, True)


def test_without_early_exit_every_round_is_read(deployed: Recognizer) -> None:
    deployed.early_exit = False
    try:
        deployed.read_frame(_scene("one_block"), ReadKind.CONTAINER)
        assert not deployed.timings.early_exit
    finally:
        deployed.early_exit = True


@pytest.mark.parametrize("layout", CONTAINER_LAYOUTS)
def test_a_wrong_check_digit_is_never_valid_in_any_round(deployed: Recognizer, layout: str) -> None:
    found = deployed.read_frame(_scene(layout, "MSKU3866035"), ReadKind.CONTAINER)
    assert not any(c.valid for c in found)


def test_a_column_cut_short_is_cut_again_with_its_rest_and_reads_whole(deployed: Recognizer) -> None:
    frame = _scene("vertical")
    code = deployed.read_frame(frame, ReadKind.CONTAINER)[0].box
    x, y, w, h = code
    short = (x, y, w, round(h * 8 / 11))  # the detector's column ending after `MSKU3866`
    regions = [Region(quad_from_box(*short), 0.9)]
    hyps = [Hypothesis(short, [0])]
    lines = [LineRead("MSKU3866", (0.99,) * 8, (("", 0.0),) * 8)]
    extended, crops = add_column_room(frame, regions, lines, 1, hyps)
    assert len(extended) == 1
    _, y1, _, h1 = extended[0].box
    assert y1 == y  # an owner code at its top: lengthened downwards only
    assert y1 + h1 >= y + h
    reads = deployed.reader.read(crops, background_pad=True)
    judge = Judge(VIETNAM)
    cands = judge.score([lines[0], *reads], hyps[1:], ReadKind.CONTAINER)
    assert (cands[0].text, cands[0].valid) == (NUMBER, True)


def test_a_whole_column_or_a_line_is_not_cut_again() -> None:
    frame = np.zeros((1080, 1920, 3), np.uint8)
    column = (700, 150, 40, 550)
    for text in (NUMBER, "MSK"):
        regions = [Region(quad_from_box(*column), 0.9)]
        lines = [LineRead(text, (0.99,) * len(text), (("", 0.0),) * len(text))]
        assert add_column_room(frame, regions, lines, 1, [Hypothesis(column, [0])]) == ([], [])
    line = (700, 150, 550, 40)
    lines = [LineRead("MSKU3866", (0.99,) * 8, (("", 0.0),) * 8)]
    regions = [Region(quad_from_box(*line), 0.9)]
    assert add_column_room(frame, regions, lines, 1, [Hypothesis(line, [0])]) == ([], [])
