"""`gate-edge watchlist`: plates listed normalised, removed, printed; bad plates and reasons refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from edge.store import Store


def _cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edge.cli", "watchlist", *args, "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_plate_written_with_punctuation_is_listed_as_the_readers_write_it(tmp_path: Path) -> None:
    db = tmp_path / "gate.db"
    added = _cli(db, "add", "51c-123.45", "--reason", "  stolen   vehicle ")
    assert added.returncode == 0, added.stderr
    assert "51C12345 added (stolen vehicle)" in added.stdout
    with Store(db) as store:
        assert store.watchlist.contains("51C12345")
        entry = store.watchlist.get("51C12345")
        assert entry is not None
        assert entry.reason == "stolen vehicle"
    listed = _cli(db, "list")
    assert listed.returncode == 0
    assert listed.stdout.startswith("51C12345\t")
    assert listed.stdout.rstrip().endswith("\tstolen vehicle")


def test_remove_takes_the_plate_off_and_says_so_when_it_was_not_listed(tmp_path: Path) -> None:
    db = tmp_path / "gate.db"
    assert _cli(db, "add", "29A00001", "--reason", "unpaid fine").returncode == 0
    removed = _cli(db, "remove", "29a-000.01")
    assert removed.returncode == 0
    assert "29A00001 removed" in removed.stdout
    again = _cli(db, "remove", "29A00001")
    assert again.returncode == 1
    assert "29A00001 is not listed" in again.stderr
    with Store(db) as store:
        assert store.watchlist.all() == []


def test_a_text_that_is_no_plate_or_a_missing_reason_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "gate.db"
    for args, expected in (
        (("add", ".-.", "--reason", "x"), "is not a plate"),
        (("add", "A" * 13, "--reason", "x"), "is not a plate"),
        (("add", "51C12345", "--reason", "   "), "a reason of 1 to 200 characters is required"),
        (("add", "51C12345", "--reason", "r" * 201), "a reason of 1 to 200 characters is required"),
    ):
        result = _cli(db, *args)
        assert result.returncode == 1, args
        assert expected in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert not db.exists()


def test_list_and_remove_on_a_missing_store_say_so(tmp_path: Path) -> None:
    for action in (("list",), ("remove", "51C12345")):
        result = _cli(tmp_path / "none.db", *action)
        assert result.returncode == 1
        assert "no such store" in result.stderr
