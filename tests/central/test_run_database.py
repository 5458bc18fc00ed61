"""`gate-central run` never makes a database unless told to: a missing or misspelt --db is an error."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from central.store_sqlite import SqliteCentralStore
from tests.sync.broker import Mosquitto

REPO = Path(__file__).resolve().parents[2]


def central(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "central", "run", *args],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_run_with_a_misspelt_db_is_an_error_naming_it_and_creates_nothing(tmp_path: Path) -> None:
    SqliteCentralStore(tmp_path / "central.db").close()
    proc = central("--port", "1", "--db", "centrl.db", cwd=tmp_path)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert out == ""
    assert err.strip() == (
        f"central: --db centrl.db (relative to {tmp_path}): no such database; pass --create to make a new"
        " one (or --db-url / --db-url-env for PostgreSQL)"
    )
    assert not (tmp_path / "centrl.db").exists()


def test_run_without_db_names_the_default_and_does_not_make_it(tmp_path: Path) -> None:
    proc = central("--port", "1", cwd=tmp_path)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert f"no --db given: the default var/central.db (relative to {tmp_path}): no such database" in err
    assert not (tmp_path / "var").exists()


def test_run_on_another_sqlite_file_refuses_it_and_leaves_it_unchanged(tmp_path: Path) -> None:
    other = tmp_path / "gate.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE declarations (number TEXT)")
    conn.close()
    proc = central("--port", "1", "--db", str(other), cwd=tmp_path)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert f"central: database {other}: not central's database (no table events" in err
    with sqlite3.connect(other) as conn:
        tables = [name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    conn.close()
    assert tables == ["declarations"]


def test_run_with_create_makes_the_database_and_its_folder_then_receives(
    tmp_path: Path, broker: Mosquitto
) -> None:
    proc = central("--port", str(broker.port), "--db", "var/new/central.db", "--create", cwd=tmp_path)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "receiving" in line, proc.stderr.read() if proc.stderr else ""
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=15)
    assert proc.returncode == 0
    assert SqliteCentralStore(tmp_path / "var/new/central.db", mode="read").report()["gates"] == {}
