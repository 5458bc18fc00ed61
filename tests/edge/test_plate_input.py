"""Typed plates (declarations import, the watchlist): a character no plate has is refused with its code point,
never dropped to make another plate (Cyrillic 51С12345 is not 5112345); separators and full-width forms are
read as a clerk means them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from edge.declaration import Channel, Declaration, DeclarationStatus
from edge.store import Store
from sync.clearances import PLATE_PATTERN
from tests.edge.store_config_file import config_file
from vision.plates import normalise_plate, parse_plate

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

# Each typed text the security review found collapsed to another plate or accepted, and what the error says.
REFUSED = [
    pytest.param("9" * 100_000, "at most 64 characters as typed (100000 given)", id="100k-characters"),
    pytest.param("9" * 17, "at most 16 characters without separators (17 given)", id="17-characters"),
    pytest.param("", "a plate needs at least one letter, digit or Chinese character", id="empty"),
    pytest.param("-. ·/", "a plate needs at least one letter, digit or Chinese character", id="separators"),
    pytest.param("\u216b\u216b", "U+216B ROMAN NUMERAL TWELVE is not a plate character", id="roman-XIIXII"),
    pytest.param("51\u0421-123.45", "U+0421 CYRILLIC CAPITAL LETTER ES is not", id="cyrillic-es"),
    pytest.param("\u0e99\u0ea7 1234", "U+0E99 LAO LETTER NO is not", id="lao"),
    pytest.param("51C1234\u03a9", "U+03A9 GREEK CAPITAL LETTER OMEGA is not", id="greek-omega"),
    pytest.param("\U00020000A12345", "U+20000 CJK UNIFIED IDEOGRAPH-20000 is not", id="cjk-extension-b"),
    pytest.param("51C12345\x1b[2J", "U+001B a control character is not", id="terminal-escape"),
    pytest.param("51C\u200b12345", "U+200B ZERO WIDTH SPACE is not", id="zero-width-space"),
    pytest.param(
        "\u212a51", "U+212A KELVIN SIGN is not a plate character (a compatibility form of 'K')", id="kelvin"
    ),
    pytest.param("51C\u00b2345", "U+00B2 SUPERSCRIPT TWO is not", id="superscript"),
    pytest.param("51C\u2460", "U+2460 CIRCLED DIGIT ONE is not", id="circled-digit"),
    pytest.param("A\u030112", "U+0301 COMBINING ACUTE ACCENT is not", id="combining-mark"),
    pytest.param("\u2f34A12345", "U+2F34 KANGXI RADICAL DOTTED CLIFF is not", id="kangxi-radical"),
    pytest.param("51C#12345", "U+0023 NUMBER SIGN is not", id="symbol"),
    pytest.param("51C\ud80012345", "U+D800 a lone surrogate is not", id="lone-surrogate"),
]
ACCEPTED = [
    ("51C-123.45", "51C12345"),
    ("51c 123/45", "51C12345"),
    ("桂A·１２３４５", "桂A12345"),
    ("桂Ａ１２３４挂", "桂A1234挂"),
    ("粤b d12345", "粤BD12345"),
    ("\u3000桂A\uff0d12345", "桂A12345"),  # an ideographic space and a full-width dash are separators too
    ("XIIXII", "XIIXII"),  # typed in letters, it is letters
    ("9" * 16, "9" * 16),
    (" 2D-0008 ", "2D0008"),
]


@pytest.mark.parametrize(("typed", "message"), REFUSED)
def test_a_typed_plate_with_a_character_no_plate_has_is_refused_with_its_code_point(
    typed: str, message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_plate(typed)


@pytest.mark.parametrize(("typed", "stored"), ACCEPTED)
def test_a_typed_plate_is_stored_as_the_readers_write_it(typed: str, stored: str) -> None:
    assert parse_plate(typed) == stored
    assert normalise_plate(typed) == stored


def test_the_error_never_shows_the_typed_text() -> None:
    with pytest.raises(ValueError, match="U\\+001B") as info:
        parse_plate("51C\x1b]0;owned\x07")
    assert "\x1b" not in str(info.value)
    assert "owned" not in str(info.value)


_TYPED = st.text(
    st.sampled_from("51CAbz桂挂·-./ \u3000１Ａｚ\uf9a9") | st.characters(codec="utf-8"), max_size=24
)


@given(_TYPED)
def test_a_parsed_plate_is_a_wire_plate_and_what_the_readers_normalise_it_to(typed: str) -> None:
    try:
        plate = parse_plate(typed)
    except ValueError:
        return
    assert re.fullmatch(PLATE_PATTERN, plate)
    assert unicodedata.is_normalized("NFC", plate)
    assert parse_plate(plate) == plate == normalise_plate(typed)


def _declaration(number: str, *plates: str) -> dict[str, Any]:
    return {
        "number": number,
        "status": "cleared",
        "channel": "green",
        "plates": list(plates),
        "valid_from": (NOW - timedelta(days=1)).isoformat(),
        "valid_until": (NOW + timedelta(days=1)).isoformat(),
    }


@pytest.mark.parametrize(("typed", "message"), REFUSED)
def test_a_declaration_with_a_bad_plate_is_refused_naming_the_plate(typed: str, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        Declaration.model_validate(_declaration("1", "29A00001", typed))
    (error,) = info.value.errors()
    assert error["loc"] == ("plates", 1)
    assert message in error["msg"]


def test_a_declaration_keeps_typed_plates_normalised_and_needs_one() -> None:
    decl = Declaration(
        number="1",
        status=DeclarationStatus.CLEARED,
        channel=Channel.GREEN,
        plates=tuple(typed for typed, _ in ACCEPTED),
        valid_from=NOW,
        valid_until=NOW + timedelta(hours=1),
    )
    assert decl.plates == tuple(stored for _, stored in ACCEPTED)
    with pytest.raises(ValidationError, match="at least one plate is required"):
        Declaration.model_validate(_declaration("1"))


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edge.cli", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )


# A lone surrogate can be neither passed as an argument nor read from a JSON file (decode_json refuses the
# file); the 100,000-character argument has its own test.
IMPORT_REFUSED = [p for p in REFUSED if p.id != "lone-surrogate"]
CLI_REFUSED = [p for p in IMPORT_REFUSED if p.id != "100k-characters"]


def test_declarations_import_names_each_bad_plate_by_its_key_path_and_imports_nothing(tmp_path: Path) -> None:
    config = config_file(tmp_path)
    items = [_declaration("GOOD", "51C-123.45")]
    items += [_declaration(f"BAD-{i}", "29A00001", p.values[0]) for i, p in enumerate(IMPORT_REFUSED)]
    file = tmp_path / "decls.json"
    file.write_text(json.dumps(items))
    result = _cli("declarations", "import", str(file), "--config", str(config))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    for index, param in enumerate(IMPORT_REFUSED, start=1):
        expected = f"{file}: declarations[{index}].plates[1]: "
        (line,) = [line for line in lines if line.startswith(expected)]
        assert param.values[1] in line, line
    assert f"{len(IMPORT_REFUSED)} of {len(items)} declarations invalid; nothing imported" in result.stderr
    assert "\x1b" not in result.stderr
    assert len(result.stderr) < 10_000  # the 100,000-character plate is not echoed
    assert "Traceback" not in result.stderr
    with Store(tmp_path / "gate.db") as store:
        assert store.declarations.count() == 0


def test_declarations_import_stores_typed_plates_as_the_readers_write_them(tmp_path: Path) -> None:
    config = config_file(tmp_path)
    file = tmp_path / "decls.json"
    file.write_text(json.dumps([_declaration("VN", "51C-123.45"), _declaration("CN", "桂A·１２３４５")]))
    result = _cli("declarations", "import", str(file), "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "2 of 2 declarations applied" in result.stdout
    with Store(tmp_path / "gate.db") as store:
        assert [d.number for d in store.declarations.find_by_plate("51C12345")] == ["VN"]
        assert [d.number for d in store.declarations.find_by_plate("桂A12345")] == ["CN"]


@pytest.mark.parametrize(("typed", "message"), CLI_REFUSED)
def test_watchlist_add_refuses_a_plate_it_would_have_cut_down_to_another(
    tmp_path: Path, typed: str, message: str
) -> None:
    db = tmp_path / "gate.db"
    result = _cli("watchlist", "add", typed, "--reason", "stolen", "--db", str(db))
    assert result.returncode == 1
    assert "watchlist: the text given is not a plate: " in result.stderr
    assert message in result.stderr
    assert "\x1b" not in result.stderr
    assert "Traceback" not in result.stderr
    assert not db.exists()  # nothing listed: not 5112345 for 51С12345, nor 1234 for ນວ 1234


def test_watchlist_add_refuses_a_100k_character_plate_without_echoing_it(tmp_path: Path) -> None:
    db = tmp_path / "gate.db"
    result = _cli("watchlist", "add", "9" * 100_000, "--reason", "stolen", "--db", str(db))
    assert result.returncode == 1
    assert "at most 64 characters as typed (100000 given)" in result.stderr
    assert len(result.stderr) < 1000
    assert not db.exists()


@pytest.mark.parametrize(("typed", "stored"), [("51C-123.45", "51C12345"), ("桂A·１２３４５", "桂A12345")])
def test_watchlist_add_lists_a_typed_plate_as_the_readers_write_it(
    tmp_path: Path, typed: str, stored: str
) -> None:
    db = tmp_path / "gate.db"
    result = _cli("watchlist", "add", typed, "--reason", "stolen", "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert f"watchlist: {stored} added (stolen)" in result.stdout
    with Store(db) as store:
        assert [entry.plate for entry in store.watchlist.all()] == [stored]
    removed = _cli("watchlist", "remove", typed, "--db", str(db))
    assert removed.returncode == 0, removed.stderr
    assert f"watchlist: {stored} removed" in removed.stdout
