"""A Chinese plate, 桂A12345, kept whole from central's feed file through the wire contract, the gate's
declaration cache and the watchlist to the decision: every place a plate is normalised keeps the
province character, in NFC."""

from __future__ import annotations

import subprocess
import sys
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from central.feed import load_declarations
from edge.decision import DecisionConfig, Outcome, Reason, decide
from edge.declaration import Channel, Declaration, DeclarationStatus
from edge.store import Store
from edge.uplink import to_declaration
from sync.clearances import WireDeclaration
from vision.identity import Identification, Read, ReadKind

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
PLATE = "桂A12345"


def _wire(*plates: str) -> WireDeclaration:
    return WireDeclaration(
        number="105000000888",
        version=1,
        status="cleared",
        channel="green",
        plates=list(plates),
        valid_from=NOW - timedelta(days=1),
        valid_until=NOW + timedelta(days=1),
    )


def test_a_chinese_plate_goes_from_the_feed_file_through_the_cache_to_a_pass(tmp_path: Path) -> None:
    feed = tmp_path / "clearances.csv"
    feed.write_text(
        "number,status,channel,plates,valid_from,valid_until\n"
        f"105000000888,cleared,green,{PLATE};桂A1234挂,2026-02-28T09:00:00+00:00,2026-03-02T09:00:00+00:00\n",
        encoding="utf-8",
    )
    (wire,) = load_declarations(feed)
    assert wire.plates == [PLATE, "桂A1234挂"]
    with Store(tmp_path / "gate.db") as store:
        store.declarations.upsert(to_declaration(wire), NOW)
        (cached,) = store.declarations.find_by_plate(PLATE)
        assert cached.plates == (PLATE, "桂A1234挂")
        assert all(unicodedata.is_normalized("NFC", p) for p in cached.plates)
        assert store.declarations.find_by_plate("A12345") == []  # the province character is part of it
        read = Read(ReadKind.PLATE, PLATE, 0.97, True, source="plate-front", grammar="china")
        decision = decide(Identification(read), None, [cached], {}, frozenset(), NOW, DecisionConfig())
    assert (decision.outcome, decision.reasons) == (Outcome.PASS, ())


def test_the_wire_contract_takes_normalised_plates_only() -> None:
    assert _wire(PLATE, "51C12345", "2D0008").plates == [PLATE, "51C12345", "2D0008"]
    for raw in ("桂A·12345", "桂a12345", "桂Ａ12345", "ກຂ1234", ""):
        with pytest.raises(ValidationError):
            _wire(raw)


def test_a_clerk_typed_declaration_is_cached_with_the_province_character() -> None:
    typed = Declaration(
        number="1",
        status=DeclarationStatus.CLEARED,
        channel=Channel.GREEN,
        plates=("桂A·12345", "粤b d12345", "桂Ａ１２３４挂"),
        valid_from=NOW,
        valid_until=NOW + timedelta(hours=1),
    )
    assert typed.plates == (PLATE, "粤BD12345", "桂A1234挂")


def test_a_watchlisted_chinese_plate_holds_the_truck(tmp_path: Path) -> None:
    db = tmp_path / "gate.db"
    added = subprocess.run(
        [
            sys.executable,
            "-m",
            "edge.cli",
            "watchlist",
            "add",
            "桂a·12345",
            "--reason",
            "alert",
            "--db",
            str(db),
        ],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    assert added.returncode == 0, added.stderr
    assert f"{PLATE} added (alert)" in added.stdout
    with Store(db) as store:
        assert store.watchlist.contains(PLATE)
        read = Read(ReadKind.PLATE, PLATE, 0.97, True, grammar="china")
        listed = frozenset(entry.plate for entry in store.watchlist.all())
        decision = decide(Identification(read), None, [], {}, listed, NOW, DecisionConfig())
    assert Reason.WATCHLISTED in decision.reasons
