"""A lane that expects several countries' plates: its grammars by configuration, and rendered Chinese,
Cambodian and Vietnamese plates read through the real PP-OCR models end to end."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from edge.config import ConfigError, parse_config
from vision.config import PlateReaderKind, VisionConfig
from vision.identity import ReadKind
from vision.pipeline import Recognizer, build_recognizer
from vision.render import CN_BLUE, degrade, random_degradation, render_plate, render_scene

LANE = ("vietnam", "china", "cambodia", "generic")


@pytest.fixture(scope="module")
def lane() -> Recognizer:
    return build_recognizer(VisionConfig(threads=2, det_sizes=(640, 960), grammar=LANE))


def test_a_lane_lists_its_grammars_and_an_old_single_name_still_works() -> None:
    config = parse_config({"vision": {"grammar": list(LANE)}})
    assert config.vision.plate_grammar.name == "vietnam+china+cambodia+generic"
    assert [g.name for g in config.vision.plate_grammar.members] == list(LANE)
    assert parse_config({"vision": {"grammar": "gms"}}).vision.plate_grammar.name == "gms"


def test_an_unknown_or_empty_grammar_list_is_named() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"vision": {"grammar": ["vietnam", "laos"]}})
    assert "vision.grammar" in info.value.errors[0]
    assert "unknown grammar 'laos'" in info.value.errors[0]
    with pytest.raises(ValidationError, match="name one grammar at least"):
        VisionConfig(grammar=())


def test_the_plate_trained_reader_is_not_used_for_chinese_plates() -> None:
    # It has no province characters: a lane with China's plates reads them with PP-OCR alone by default
    # (its Latin plates with both: vision/reader_choice.py)...
    assert VisionConfig(grammar=LANE).readers(grammar="china") == (PlateReaderKind.PPOCR,)
    assert PlateReaderKind.CCT in VisionConfig(grammar=LANE).readers(grammar="vietnam")
    # ...and naming it is refused, with the characters it lacks.
    with pytest.raises(ValidationError, match="cannot read the 'vietnam\\+china' grammar's plates"):
        VisionConfig(grammar=("vietnam", "china"), plate_readers=(PlateReaderKind.CCT,))


def test_a_lane_reader_keeps_the_province_characters_and_a_vietnamese_one_does_not(lane: Recognizer) -> None:
    assert "桂" in lane.reader.extra
    assert "挂" in lane.reader.extra
    assert build_recognizer(VisionConfig(threads=1)).reader.extra == ""


@pytest.mark.parametrize(
    ("text", "grammar", "drawn", "two_line"),
    [
        ("桂A12345", "china", "china", False),
        ("云A8K49D", "china", "china", False),
        ("粤BD12345", "china", "china", False),  # new energy, green
        ("桂A1234挂", "china", "china", False),  # a trailer
        ("2D0008", "cambodia", "cambodia", False),
        ("51C12345", "vietnam", "vietnam", False),
        ("29LD1234", "vietnam", "vietnam", True),
    ],
)
def test_rendered_plates_of_each_grammar_are_read_valid_and_say_which(
    lane: Recognizer, text: str, grammar: str, drawn: str, two_line: bool
) -> None:
    rng = np.random.default_rng(11)
    crop = degrade(render_plate(text, drawn, two_line=two_line), random_degradation(rng, 0.7), rng)
    found = lane.read_crop(crop, ReadKind.PLATE)
    assert found is not None
    assert (found.text, found.valid, found.grammar) == (text, True, grammar)


def test_a_blue_chinese_plate_in_a_scene_is_read(lane: Recognizer) -> None:
    scene = render_scene([(render_plate("皖A0V790", "china", height=44, colours=CN_BLUE), (760, 600))])
    found = lane.read_frame(scene, ReadKind.PLATE)
    assert found
    assert (found[0].text, found[0].valid, found[0].grammar) == ("皖A0V790", True, "china")


def test_a_chinese_plate_without_its_province_character_is_not_valid(lane: Recognizer) -> None:
    # The province character painted over: A12345 alone is a generic plate, but not in this lane.
    plate = render_plate("桂A12345", "china")
    plate[:, : plate.shape[1] * 17 // 100] = plate[3, -3]
    found = lane.read_crop(plate, ReadKind.PLATE)
    assert found is None or not found.valid
