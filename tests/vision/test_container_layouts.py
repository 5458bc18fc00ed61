"""Container codes as painted on doors and side walls: parts apart, the check digit boxed, columns
tilted; the boxes below are the ones the detector gave on a real side-camera photo."""

from __future__ import annotations

import numpy as np
import pytest

from vision.detect import Region, crop_quad, quad_from_box
from vision.hypotheses import Hypothesis, add_columns, add_neighbours, crop_margin, upright_quad
from vision.identity import ReadKind
from vision.pipeline import Recognizer
from vision.render import render_container_code, render_scene

OWNER_COLUMN = (828, 272, 60, 266)  # `BEAU`, one letter under another
SERIAL_COLUMN = (833, 529, 68, 363)  # `257687`
DIGIT_BOX = (854, 874, 46, 77)  # `8` in its box


def _one_line_each(boxes: list[tuple[int, int, int, int]]) -> tuple[list[Region], list[Hypothesis]]:
    regions = [Region(quad_from_box(*b), 0.9) for b in boxes]
    return regions, [Hypothesis(b, [i]) for i, b in enumerate(boxes)]


def test_a_vertical_code_joins_down_its_column_to_the_boxed_check_digit() -> None:
    regions, hyps = _one_line_each([OWNER_COLUMN, SERIAL_COLUMN, DIGIT_BOX])
    add_neighbours(regions, hyps, ReadKind.CONTAINER)
    assert [0, 1, 2] in [h.parts for h in hyps]


def test_plates_keep_to_pairs_and_never_join_a_column() -> None:
    regions, hyps = _one_line_each([OWNER_COLUMN, SERIAL_COLUMN, DIGIT_BOX])
    add_neighbours(regions, hyps, ReadKind.PLATE)
    assert all(len(h.parts) <= 2 for h in hyps)
    assert [1, 2] not in [h.parts for h in hyps]


def test_a_row_of_owner_serial_and_a_smaller_check_digit_box_is_joined() -> None:
    # `TRHU` `170036` `9`: the digit's box is found smaller (67 px) than the words' (104 px).
    regions, hyps = _one_line_each([(928, 565, 168, 93), (1147, 564, 238, 104), (1404, 591, 52, 67)])
    add_neighbours(regions, hyps, ReadKind.CONTAINER)
    assert [0, 1, 2] in [h.parts for h in hyps]


def test_words_one_under_another_are_not_read_as_a_vertical_stack() -> None:
    # A serial over its size/type code over a sticker: words, not characters of a column.
    regions = [
        Region(quad_from_box(*b), 0.9)
        for b in [(1147, 564, 238, 104), (1139, 646, 164, 93), (1140, 740, 180, 90)]
    ]
    crops: list[np.ndarray] = []
    hyps: list[Hypothesis] = []
    add_columns(np.zeros((1080, 1920, 3), np.uint8), regions, crops, hyps)
    assert hyps == []


def test_a_tilted_column_given_lying_on_its_side_is_cut_out_standing() -> None:
    # The detector's corners for a 6.9 degree tilted 661 px column, from its bottom-left along its long side.
    lying = np.array([[1183, 1025], [1262, 372], [1326, 380], [1248, 1033]], np.float32)
    region = Region(lying, 0.9)
    frame = np.zeros((1080, 1920, 3), np.uint8)
    lying_crop = crop_quad(frame, region.quad)
    assert lying_crop.shape[1] > 8 * lying_crop.shape[0]  # as given: lying on its side
    standing = crop_quad(frame, upright_quad(region, ReadKind.CONTAINER))
    assert standing.shape[0] > 8 * standing.shape[1]
    assert np.array_equal(upright_quad(region, ReadKind.PLATE), lying)  # plates are never vertical codes


def test_a_character_sized_container_region_is_cut_tight_and_others_with_a_margin() -> None:
    assert crop_margin(Region(quad_from_box(*DIGIT_BOX), 0.9), ReadKind.CONTAINER) == 0.0
    assert crop_margin(Region(quad_from_box(*DIGIT_BOX), 0.9), ReadKind.PLATE) > 0
    assert crop_margin(Region(quad_from_box(1147, 564, 238, 104), 0.9), ReadKind.CONTAINER) > 0


HEIGHTS = (36, 40, 44, 48, 52)  # character heights in pixels


@pytest.mark.parametrize(("number", "layout"), [("TRHU1700369", "door"), ("BEAU2576878", "door_vertical")])
def test_door_codes_are_read_whole_in_a_scene_and_never_valid_when_wrong(
    recognizer: Recognizer, number: str, layout: str
) -> None:
    exact = 0
    for height in HEIGHTS:
        scene = render_scene([(render_container_code(number, layout=layout, height=height), (700, 150))])
        found = recognizer.read_frame(scene, ReadKind.CONTAINER)
        exact += bool(found) and found[0].text == number
        assert all(c.text == number for c in found if c.valid)
    assert exact >= len(HEIGHTS) - 1


def test_a_door_code_crop_whose_line_read_drops_the_boxed_digit_is_read_by_its_parts(
    recognizer: Recognizer,
) -> None:
    # Read as lines, `QHOU 898349 [9]` gives `QHOU898349` (the boxed digit dropped; the size code's
    # 2 may stand in for it, and the check digit then fails); its parts, found as regions of their own
    # inside the crop, give the whole number. Valid only where no near rival of the line reads is as
    # sure: never a wrong number valid.
    exact = 0
    for height in HEIGHTS:
        crop = render_container_code("QHOU8983499", layout="door", height=height)
        found = recognizer.read_crop(crop, ReadKind.CONTAINER)
        assert found is not None
        assert found.text == "QHOU8983499" or not found.valid
        exact += found.text == "QHOU8983499"
    assert exact >= len(HEIGHTS) - 1
