"""Plate readers in the configuration: per section and camera, refused for a grammar they cannot write."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from edge.cli import main
from vision import plates
from vision.config import CameraConfig, CameraRole, PlateReaderKind, VisionConfig, grammar_characters
from vision.plates import Grammar

PPOCR, CCT = PlateReaderKind.PPOCR, PlateReaderKind.CCT
# A grammar whose plates start with a Chinese province character, as vision/plates.py's china grammar
# writes them (the test's own, so it holds whatever that grammar's pattern becomes).
HAN = Grammar("han-test", re.compile(r"[京沪粤皖][A-Z][A-Z0-9]{5}"))


@pytest.fixture
def han(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(plates.GRAMMARS, HAN.name, HAN)
    return HAN.name


def _camera(readers: list[str] | dict[str, list[str]] | None = None) -> CameraConfig:
    return CameraConfig.model_validate(
        {"id": "front", "role": CameraRole.PLATE_FRONT, "source": "0", "plate_readers": readers}
    )


def test_both_readers_read_the_latin_grammars_by_default() -> None:
    for name in ("vietnam", "generic", "gms"):
        assert VisionConfig(grammar=name).readers() == (PPOCR, CCT)


def test_a_grammar_names_the_characters_beyond_latin_its_plates_hold() -> None:
    assert grammar_characters(HAN) == "京沪皖粤"
    assert grammar_characters(plates.VIETNAM) == ""


def test_the_plate_reader_is_refused_for_a_grammar_it_cannot_write(han: str) -> None:
    with pytest.raises(
        ValidationError, match=r"plate_readers: .*'cct' cannot read the 'han-test'.* has no 京"
    ):
        VisionConfig(grammar=han, plate_readers=(PPOCR, CCT))
    assert VisionConfig(grammar=han, plate_readers=(PPOCR,)).readers() == (PPOCR,)


def test_by_default_a_grammar_is_read_by_the_readers_that_can_write_it(han: str) -> None:
    assert VisionConfig(grammar=han).readers() == (PPOCR,)
    assert VisionConfig(grammar=han).readers_in_use() == {PPOCR}


def test_a_camera_override_is_checked_against_the_grammar_and_names_the_camera(han: str) -> None:
    with pytest.raises(ValidationError, match=r"cameras\[front\]\.plate_readers: plate reader 'cct'"):
        VisionConfig(grammar=han, cameras=(_camera(["cct"]),))


def test_a_camera_reads_with_its_own_readers_else_the_sections() -> None:
    config = VisionConfig(grammar="generic", plate_readers=(PPOCR,), cameras=(_camera(["cct"]), _camera()))
    assert config.readers(config.cameras[0]) == (CCT,)
    assert config.readers(config.cameras[1]) == (PPOCR,)
    assert config.readers_in_use() == {PPOCR, CCT}


def test_an_empty_or_unknown_reader_list_is_refused() -> None:
    with pytest.raises(ValidationError, match="plate_readers"):
        VisionConfig(plate_readers=())
    with pytest.raises(ValidationError, match="plate_readers"):
        VisionConfig.model_validate({"plate_readers": ["tesseract"]})


@pytest.mark.parametrize("name", [n for n in plates.GRAMMARS if grammar_characters(plates.GRAMMARS[n])])
def test_shipped_grammars_beyond_latin_refuse_the_plate_reader(name: str) -> None:
    with pytest.raises(ValidationError, match="'cct' cannot read"):
        VisionConfig(grammar=name, plate_readers=(CCT,))


def test_characters_a_grammar_declares_count_as_well_as_those_its_pattern_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    declared = Grammar("declared-test", re.compile(r"[A-Z0-9]{2,8}"), script="挂")
    monkeypatch.setitem(plates.GRAMMARS, declared.name, declared)
    assert grammar_characters(declared) == "挂"
    with pytest.raises(ValidationError, match="has no 挂"):
        VisionConfig(grammar=declared.name, plate_readers=(CCT,))


LANE = ("vietnam", "china")


def test_a_lane_with_chinese_plates_keeps_both_readers_for_its_vietnamese_ones_by_default() -> None:
    config = VisionConfig(grammar=LANE)
    assert config.readers(grammar="vietnam") == (PPOCR, CCT)
    assert config.readers(grammar="china") == (PPOCR,)
    assert config.readers() == (PPOCR, CCT)  # both loaded
    reading = config.reading()
    assert (reading.of("vietnam"), reading.of("china")) == ((PPOCR, CCT), (PPOCR,))
    assert reading.of("") == (PPOCR, CCT)  # a read of no grammar's form: every reader of the lane


def test_readers_are_named_per_grammar_and_a_grammar_not_named_keeps_its_default() -> None:
    config = VisionConfig.model_validate(
        {"grammar": ["vietnam", "china", "cambodia"], "plate_readers": {"vietnam": ["ppocr"]}}
    )
    assert config.readers(grammar="vietnam") == (PPOCR,)
    assert config.readers(grammar="cambodia") == (PPOCR, CCT)
    assert config.readers(grammar="china") == (PPOCR,)


def test_a_camera_overrides_the_sections_readers_per_grammar_or_for_all() -> None:
    section = {"vietnam": ["ppocr", "cct"], "china": ["ppocr"]}
    per_grammar = _camera({"vietnam": ["ppocr"]})
    listed = _camera(["ppocr"])
    config = VisionConfig.model_validate(
        {"grammar": LANE, "plate_readers": section, "cameras": (per_grammar, listed, _camera())}
    )
    assert config.reading(per_grammar).of("vietnam") == (PPOCR,)
    assert config.reading(per_grammar).of("china") == (PPOCR,)
    assert config.reading(listed).used == (PPOCR,)
    assert config.reading(config.cameras[2]).of("vietnam") == (PPOCR, CCT)


def test_the_old_list_form_still_reads_every_grammar_alike_and_says_how_to_name_them_apart() -> None:
    assert VisionConfig(grammar=LANE, plate_readers=(PPOCR,)).reading().of("vietnam") == (PPOCR,)
    with pytest.raises(
        ValidationError, match=r"plate_readers: .*'vietnam\+china'.*name the readers per grammar"
    ):
        VisionConfig(grammar=LANE, plate_readers=(PPOCR, CCT))


@pytest.mark.parametrize(
    ("choice", "says"),
    [
        (
            {"china": ["ppocr", "cct"]},
            r"plate_readers\.china: plate reader 'cct' cannot read the 'china' grammar's plates: its",
        ),
        (
            {"cambodia": ["ppocr"]},
            r"plate_readers\.cambodia: not one of the lane's grammars \(vietnam, china\)",
        ),
        ({"vietnam": []}, r"plate_readers\.vietnam: name one reader at least"),
        ({"vietnam": ["tesseract"]}, r"vietnam: unknown plate reader 'tesseract'; known: ppocr, cct"),
        ({"vietnam": "cct"}, r"vietnam: give a list of readers"),
        ("cct", r"give a list of readers"),
        ({}, r"plate_readers"),
    ],
)
def test_a_bad_per_grammar_choice_is_refused_naming_the_key(choice: object, says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        VisionConfig.model_validate({"grammar": list(LANE), "plate_readers": choice})


def test_check_config_names_a_reader_refused_for_a_cameras_grammar(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        "devices:\n  io:\n    watchdog:\n      enabled: false\n      waive_reason: bench lane\n"
        "vision:\n  grammar: [vietnam, china]\n  plate_readers: {vietnam: [ppocr, cct], china: [ppocr]}\n"
        "  cameras:\n    - id: front\n      role: plate_front\n      source: '0'\n"
    )
    path = tmp_path / "gate.yaml"
    path.write_text(text)
    assert main(["check-config", str(path)]) == 0
    path.write_text(text + "      plate_readers: {china: [cct]}\n")
    assert main(["check-config", str(path)]) == 1
    err = capsys.readouterr().err
    assert (
        "cameras[front].plate_readers.china: plate reader 'cct' cannot read the 'china' grammar's plates"
        in err
    )
