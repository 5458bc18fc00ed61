from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vision import iso6346

owner = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=3, max_size=3)
category = st.sampled_from("UJZ")
serial = st.text(alphabet="0123456789", min_size=6, max_size=6)


@given(owner, category, serial)
def test_completed_number_is_always_valid(o: str, c: str, s: str) -> None:
    assert iso6346.is_valid(iso6346.complete(o + c + s))


@given(owner, category, serial, st.integers(0, 9))
def test_number_with_wrong_check_digit_is_never_valid(o: str, c: str, s: str, digit: int) -> None:
    number = iso6346.complete(o + c + s)
    wrong = number[:10] + str(digit)
    assert iso6346.is_valid(wrong) == (wrong == number)
    assert iso6346.repair(wrong).valid == (wrong == number)


@given(
    owner, category, serial, st.lists(st.sampled_from("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"), max_size=11)
)
def test_repair_reports_valid_only_when_check_digit_holds(o: str, c: str, s: str, alts: list[str]) -> None:
    number = iso6346.complete(o + c + s)
    garbled = number[:5] + "8" + number[6:]
    result = iso6346.repair(garbled, alts)
    assert not result.valid or iso6346.is_valid(result.text)


def test_known_number_passes_and_look_alikes_are_repaired() -> None:
    assert iso6346.is_valid("MSKU3866036")
    assert iso6346.repair("MSK03866036") == iso6346.ContainerMatch("MSKU3866036", True, 1)
    assert iso6346.repair("MSKU38660З6").valid is False  # not 11 A-Z0-9 after normalising


def test_repair_rejects_when_two_runner_up_swaps_pass() -> None:
    # Runner-ups at every position: more than one variant passes, so none is trusted.
    result = iso6346.repair("MSKU3866037", list("0123456789A"))
    assert not result.valid


@pytest.mark.parametrize(
    ("code", "ok"), [("22G1", True), ("45R1", True), ("L5G1", True), ("22X1", False), ("9", False)]
)
def test_size_type_codes(code: str, ok: bool) -> None:
    assert iso6346.is_size_type(code) is ok


def test_size_type_is_described() -> None:
    assert iso6346.describe_size_type("45R1") == "40 ft, 9'6\", reefer"
