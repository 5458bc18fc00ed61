"""`gate-edge store backup|check`: an online copy taken while the store is open and being written, and the
check a restore starts with."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

from edge.store import Store
from edge.store.migrations import LATEST_VERSION

from .conftest import declaration


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edge.cli", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_backup_of_an_open_store_holds_what_is_still_in_its_write_ahead_log(tmp_path: Path) -> None:
    live = tmp_path / "gate.db"
    out = tmp_path / "backup.db"
    with Store(live) as store:  # the daemon's connection stays open throughout, as in service
        for n in range(5):
            store.declarations.upsert(declaration(f"10500000000{n}", plate_text=f"51C1234{n}"))
        assert (tmp_path / "gate.db-wal").stat().st_size > 0  # not checkpointed into gate.db yet
        result = _cli("store", "backup", str(out), "--db", str(live))
        assert result.returncode == 0, result.stderr
        store.declarations.upsert(declaration("105000000009"))  # still writable while and after
    assert f"backup of {live} written to {out}" in result.stdout
    assert "integrity: ok" in result.stdout
    assert f"schema version: {LATEST_VERSION} (this release's)" in result.stdout
    assert "declarations: 5 rows" in result.stdout
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    with Store(out) as restored:  # a restore: the daemon opens the copy as its store
        assert restored.declarations.count() == 5
        assert [d.number for d in restored.declarations.find_by_plate("51C12343")] == ["105000000003"]


def test_backup_never_overwrites_a_file(tmp_path: Path) -> None:
    with Store(tmp_path / "gate.db"):
        pass
    existing = tmp_path / "backup.db"
    existing.write_bytes(b"yesterday's backup")
    result = _cli("store", "backup", str(existing), "--db", str(tmp_path / "gate.db"))
    assert result.returncode == 1
    assert (
        result.stderr.strip() == f"store backup: {existing} already exists; a backup never overwrites a file"
    )
    assert existing.read_bytes() == b"yesterday's backup"


def test_check_refuses_a_damaged_file_and_a_missing_one_in_one_line(tmp_path: Path) -> None:
    damaged = tmp_path / "gate.db"
    with Store(damaged) as store:
        store.declarations.upsert(declaration())
    data = bytearray(damaged.read_bytes())
    data[:16] = b"not sqlite here!"
    damaged.write_bytes(bytes(data))
    result = _cli("store", "check", str(damaged))
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == f"store check: {damaged}: not an SQLite database, or damaged: file is not a database"
    )
    missing = _cli("store", "check", str(tmp_path / "nope.db"))
    assert missing.returncode == 1
    assert missing.stderr.strip() == f"store check: {tmp_path / 'nope.db'}: no such file"


def test_check_says_a_store_from_a_newer_release_needs_that_release(tmp_path: Path) -> None:
    path = tmp_path / "gate.db"
    with Store(path):
        pass
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO schema_version (version, description, applied_at) VALUES (?, 'next', '2027-01-01')",
            (LATEST_VERSION + 1,),
        )
    conn.close()
    result = _cli("store", "check", str(path))
    assert result.returncode == 0, result.stderr
    assert (
        f"schema version: {LATEST_VERSION + 1} (newer than this release knows ({LATEST_VERSION}): "
        "only a newer release opens it)" in result.stdout
    )


def test_backup_onto_a_dangling_link_or_into_a_missing_folder_writes_and_removes_nothing(
    tmp_path: Path,
) -> None:
    with Store(tmp_path / "gate.db"):
        pass
    link = tmp_path / "backup.db"
    link.symlink_to(tmp_path / "elsewhere.db")  # dangling: exists() says no, but it is someone's link
    result = _cli("store", "backup", str(link), "--db", str(tmp_path / "gate.db"))
    assert result.returncode == 1
    assert "already exists; a backup never overwrites a file" in result.stderr
    assert link.is_symlink()  # left as it was
    assert not (tmp_path / "elsewhere.db").exists()
    missing = tmp_path / "no-such-folder" / "backup.db"
    result = _cli("store", "backup", str(missing), "--db", str(tmp_path / "gate.db"))
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == f"store backup: cannot create {missing}: No such file or directory; nothing written"
    )
    assert "Traceback" not in result.stderr


def test_check_of_a_device_or_a_folder_says_it_is_no_regular_file(tmp_path: Path) -> None:
    for path in ("/dev/zero", str(tmp_path)):
        result = _cli("store", "check", path)
        assert result.returncode == 1
        assert result.stderr.strip() == (
            f"store check: {path}: not a regular file (a folder, device or pipe is no store)"
        )
