"""The Chinese and Cambodian plate grammars, lanes that combine grammars, and plates kept in NFC."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vision.plates import (
    CAMBODIA,
    CHINA,
    CN_PROVINCES,
    CN_TRAILER,
    display,
    grammar,
    normalise_plate,
)

CN_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I, no O
province = st.sampled_from(CN_PROVINCES)
letter = st.sampled_from(CN_LETTERS)
serial = st.text(alphabet="0123456789" + CN_LETTERS, min_size=5, max_size=5)
LANE = grammar(["vietnam", "china", "cambodia", "generic"])


def test_there_are_thirty_one_province_characters() -> None:
    assert len(set(CN_PROVINCES)) == 31
    assert {"桂", "云", "粤", "京", "新", "藏"} <= set(CN_PROVINCES)


@given(province, letter, serial)
def test_chinese_plates_are_valid_as_read(p: str, office: str, rest: str) -> None:
    plate = p + office + rest
    match = CHINA.check(plate)
    assert (match.text, match.valid, match.corrections, match.grammar) == (plate, True, 0, "china")


@given(province, letter, st.text(alphabet="0123456789" + CN_LETTERS, min_size=4, max_size=4))
def test_trailer_plates_end_with_gua(p: str, office: str, rest: str) -> None:
    assert CHINA.check(p + office + rest + CN_TRAILER).valid
    # 挂 anywhere else, or a fifth serial character before it, is no plate
    assert not CHINA.check(p + office + CN_TRAILER + rest).valid
    assert not CHINA.check(p + office + rest[:2] + CN_TRAILER + rest[2:]).valid
    assert not CHINA.check(p + office + rest + "1" + CN_TRAILER).valid


@pytest.mark.parametrize("plate", ["粤BD12345", "粤BFA1234", "粤B12345D", "桂A12345F"])
def test_new_energy_plates_have_six_characters_after_the_letter(plate: str) -> None:
    assert CHINA.check(plate).valid


@pytest.mark.parametrize(
    ("plate", "why"),
    [
        ("桂I12345", "I at the letter's place"),
        ("桂O12345", "O at the letter's place"),
        ("桂112345", "a digit at the letter's place"),
        ("桂A1234", "too short"),
        ("桂A123456", "seven after the letter, not new-energy"),
        ("粤BX12345", "new-energy marker not D or F"),
        ("粤B1234XD", "new-energy serial with a letter"),
        ("越A12345", "not a province"),
        ("A12345", "no province character"),
        ("桂桂A1234", "two province characters"),
        ("挂A12345", "挂 is no province"),
    ],
)
def test_near_misses_of_a_chinese_plate_are_refused(plate: str, why: str) -> None:
    assert not CHINA.check(plate).valid, why


def test_i_and_o_in_the_serial_are_the_digits_one_and_zero() -> None:
    match = CHINA.check("桂AO1I45")
    assert (match.text, match.valid, match.corrections) == ("桂A01145", True, 2)


def test_cambodian_plates_are_a_class_digit_one_or_two_letters_four_digits() -> None:
    assert CAMBODIA.check("2D-0008").text == "2D0008"
    assert CAMBODIA.check("2D-0008").valid
    assert CAMBODIA.check("3AB-1234").valid
    assert CAMBODIA.check("2D-OOO8").text == "2D0008"  # O where a digit must be
    for near in ("2D-777", "2D-77777", "2ABC-7777", "XD-7777", "2-7777", "27D-7777"):
        assert not CAMBODIA.check(near).valid, near


def test_plates_print_as_their_country_writes_them() -> None:
    assert display("桂A12345", "china") == "桂A·12345"
    assert display("2D0008", "cambodia") == "2D-0008"
    assert display("51C12345", "vietnam+china") == "51C-123.45"
    assert display("桂A12345", "vietnam+china") == "桂A·12345"


def test_a_lane_combines_grammars_and_says_which_holds() -> None:
    assert (LANE.check("51C-123.45").grammar, LANE.check("51C-123.45").valid) == ("vietnam", True)
    assert (LANE.check("桂A·12345").grammar, LANE.check("桂A·12345").valid) == ("china", True)
    assert (LANE.check("2D-0008").grammar, LANE.check("2D-0008").valid) == ("cambodia", True)
    assert (LANE.check("7ABC123").grammar, LANE.check("7ABC123").valid) == ("generic", True)
    assert LANE.check("7ABC123").min_char_confidence == 0.92  # generic's, not vietnam's
    assert LANE.check("51C12345").min_char_confidence == 0.0
    assert not LANE.check("ກຂ1234").valid
    assert LANE.check("ກຂ1234").grammar == ""


def test_the_lanes_order_decides_between_grammars_that_hold_alike() -> None:
    # 51C12345 is a Vietnamese plate and a generic one, as read: the lane's first grammar says which.
    assert grammar(["vietnam", "generic"]).check("51C12345").grammar == "vietnam"
    assert grammar(["generic", "vietnam"]).check("51C12345").grammar == "generic"


def test_two_countries_plates_in_the_same_characters_are_not_chosen_between() -> None:
    lane = grammar(["vietnam", "cambodia"])
    # 51C1234 is Vietnamese as read (Cambodian only with 1 read as I): Vietnamese
    assert (lane.check("51C1234").text, lane.check("51C1234").grammar) == ("51C1234", "vietnam")
    # 5DZ1630 is Cambodian as read, Vietnamese 50Z1630 with D read as 0 (pbl4's 50Z1630_0200_0.jpg,
    # read 5DZ1630): the reader cannot tell which
    assert (lane.check("5DZ1630").valid, lane.check("5DZ1630").grammar) == (False, "cambodia")
    assert grammar("vietnam").check("5DZ1630").text == "50Z1630"
    assert grammar("cambodia").check("5DZ1630").valid
    # 50Z163D is Vietnamese with one swap, Cambodian (5OZ1630) with two: Vietnamese
    assert (lane.check("50Z163D").text, lane.check("50Z163D").valid) == ("50Z1630", True)
    # the same in the other order: Cambodian as read, first
    assert grammar(["cambodia", "vietnam"]).check("5DZ1630").grammar == "cambodia"


def test_a_chinese_plate_without_its_province_is_no_latin_plate() -> None:
    # The reader missed the province character of 桂A12345: generic alone would take A12345.
    assert grammar("generic").check("A12345").valid
    assert not LANE.check("A12345").valid
    assert not grammar(["china", "gms"]).check("B8K498").valid
    assert grammar(["vietnam", "generic"]).check("A12345").valid  # no Chinese plates in that lane
    # the province character read as a letter (cn-0483.jpg, 皖AHG892 read MAHG892, M at 0.99)
    assert grammar("generic").check("MAHG892").valid
    assert not LANE.check("MAHG892").valid
    assert LANE.check("7ABC123").valid  # a digit first: no Chinese plate's
    # a trailer's plate without 桂 and 挂
    assert grammar("generic").check("A1234").valid
    assert not LANE.check("A1234").valid


def test_unknown_or_no_grammar_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"'laos'.*known: vietnam, china, cambodia"):
        grammar(["vietnam", "laos"])
    with pytest.raises(ValueError, match="no plate grammar"):
        grammar([])


def test_a_combined_grammar_holds_every_members_script_and_longest() -> None:
    assert CN_PROVINCES[0] in LANE.script
    assert CN_TRAILER in LANE.script
    assert LANE.longest == 9
    assert grammar(["china", "cambodia"]).longest == 8
    assert grammar(["vietnam", "vietnam"]) is grammar("vietnam")


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("桂A12345", "桂A12345"),
        ("桂A·12345", "桂A12345"),
        ("桂a 123-45", "桂A12345"),
        ("桂Ａ１２３４５", "桂A12345"),  # full-width, as a Chinese input method types it
        ("桂A1234挂", "桂A1234挂"),
        ("51c-123.45", "51C12345"),
        ("2D-0008", "2D0008"),
    ],
)
def test_plates_are_stored_in_nfc_with_the_province_character_kept(typed: str, stored: str) -> None:
    assert normalise_plate(typed) == stored
    assert unicodedata.is_normalized("NFC", normalise_plate(typed))


def test_a_decomposed_typed_plate_is_stored_composed() -> None:
    # Compatibility ideographs (U+F900 block) look like the province character and are stored as it.
    assert normalise_plate("\uf9a9A12345") == unicodedata.normalize("NFKC", "\uf9a9") + "A12345"
    assert normalise_plate(unicodedata.normalize("NFD", "桂A12345")) == "桂A12345"


@given(st.text(max_size=20))
def test_normalising_twice_changes_nothing(text: str) -> None:
    once = normalise_plate(text)
    assert normalise_plate(once) == once
    assert unicodedata.is_normalized("NFC", once)
