"""A container number with its ISO 6346 size-type code painted under it, as on every real container: the
two lines are one region to the detector (`TCLU 414002 0` over `42G1`), and the frame must give the number
alone, not also a second container cut from the number run into the code (`LUAJ4002042`, `AIAU0204261`)
or from its serial joined with the code (`SOGU9824261`), which the lane would hold the truck on."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from vision.candidates import Candidate, Judge, unshadowed
from vision.config import VisionConfig
from vision.hypotheses import Hypothesis
from vision.identity import ReadKind
from vision.pipeline import Recognizer, build_recognizer
from vision.read import LineRead
from vision.render import render_container_code
from vision.render_scene import SIZE, container_side, random_look, through_camera

NUMBER = "TCLU4140020"


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return build_recognizer(VisionConfig().model_copy(update={"yolo_model": None}))


@pytest.mark.parametrize("seed", [2, 5, 6, 7])
def test_a_forty_foot_box_with_its_size_type_code_reads_as_its_number_only(
    recognizer: Recognizer, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    look = random_look(rng)
    code = render_container_code(NUMBER, "42G1", "one_block", 46)
    frame = through_camera(container_side([code], look, (0, 0), SIZE), look, rng)
    found = recognizer.read_frame(frame, ReadKind.CONTAINER)
    assert {c.text for c in found} == {NUMBER}
    assert found[0].valid


@pytest.mark.parametrize("seed", [0, 3, 11])
def test_a_two_row_number_with_its_size_type_code_reads_as_its_number_only(
    recognizer: Recognizer, seed: int
) -> None:
    # `HLXU` over `5060982` over `42G1`: the serial joined with the code read `SOGU9824261` besides.
    rng = np.random.default_rng(seed)
    look = random_look(rng)
    code = render_container_code("HLXU5060982", "42G1", "two_row", 46)
    frame = through_camera(container_side([code], look, (0, 0), SIZE), look, rng)
    assert [(c.text, c.valid) for c in recognizer.read_frame(frame, ReadKind.CONTAINER)] == [
        ("HLXU5060982", True)
    ]


def test_a_read_not_valid_on_the_place_of_a_valid_one_is_dropped_and_one_beside_it_kept() -> None:
    def cand(text: str, valid: bool, box: tuple[int, int, int, int]) -> Candidate:
        return Candidate(ReadKind.CONTAINER, text, (0.9,) * 11, valid, box)

    number = cand("HLXU5060982", True, (1524, 207, 308, 156))
    on_it = cand("SOGU9824261", False, (1524, 278, 308, 135))
    beside = cand("MSKU3866030", False, (900, 207, 308, 156))  # the truck's other container, misread
    assert unshadowed([number, on_it, beside]) == [number, beside]
    assert unshadowed([replace(number, valid=False), on_it]) == [replace(number, valid=False), on_it]


def _line(text: str) -> LineRead:
    return LineRead(text, tuple(0.99 for _ in text), tuple(("", 0.0) for _ in text))


def _containers(text: str) -> list[Candidate]:
    judge = Judge(VisionConfig().plate_grammar)
    return judge.candidates([_line(text)], [Hypothesis((0, 0, 400, 120), [0])], ReadKind.CONTAINER)


def test_windows_sharing_characters_with_the_number_give_no_second_container() -> None:
    assert [(c.text, c.valid) for c in _containers("TCLU414002042G1")] == [(NUMBER, True)]


def test_two_numbers_read_as_one_line_both_stay() -> None:
    assert [c.text for c in _containers("TCLU4140020MSKU3866036")] == [NUMBER, "MSKU3866036"]


def test_a_misread_number_stays_the_one_read_of_its_line_not_valid() -> None:
    # The check digit read wrong: the number as read (no repair), not a shifted window repaired to shape.
    assert [(c.text, c.valid) for c in _containers("TCLU414002142G1")] == [("TCLU4140021", False)]
