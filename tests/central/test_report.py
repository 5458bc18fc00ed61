"""`gate-central report` reads central's database and never creates one (a misspelt --db is an error)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from central.store_sqlite import SqliteCentralStore
from tests.central.central_db import Database, open_database

REPO = Path(__file__).resolve().parents[2]


def _report(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "central", "report", *args],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_report_without_db_names_the_default_path_and_creates_nothing(tmp_path: Path) -> None:
    (tmp_path / "var").mkdir()
    result = _report(cwd=tmp_path)
    assert result.returncode == 1
    assert f"no --db given: the default var/central.db (relative to {tmp_path})" in result.stderr
    assert "no such database" in result.stderr
    assert "Traceback" not in result.stderr
    assert list((tmp_path / "var").iterdir()) == []


def test_report_of_a_misspelt_db_is_an_error_naming_it(tmp_path: Path) -> None:
    SqliteCentralStore(tmp_path / "central.db").close()
    result = _report("--db", str(tmp_path / "centrl.db"), cwd=tmp_path)
    assert result.returncode == 1
    assert f"--db {tmp_path / 'centrl.db'}: no such database" in result.stderr
    assert not (tmp_path / "centrl.db").exists()


def test_report_of_another_sqlite_file_names_it_and_leaves_it_unchanged(tmp_path: Path) -> None:
    other = tmp_path / "gate.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE declarations (number TEXT)")
    conn.close()
    result = _report("--db", str(other), cwd=tmp_path)
    assert result.returncode == 1
    assert f"database {other}: not central's database (no table events" in result.stderr
    with sqlite3.connect(other) as conn:
        tables = [name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    conn.close()
    assert tables == ["declarations"]


def test_report_of_central_database_prints_it(tmp_path: Path) -> None:
    SqliteCentralStore(tmp_path / "central.db").close()
    result = _report("--db", "central.db", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"gates": {}, "rejected": {"total": 0, "by_reason": {}}}


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[Database]:
    yield from open_database("postgres", tmp_path)


def test_report_of_a_postgres_schema_without_centrals_tables_is_an_error_and_creates_none(
    tmp_path: Path, postgres: Database
) -> None:
    assert postgres.db_url is not None
    result = _report("--db-url", postgres.db_url, cwd=tmp_path)
    assert result.returncode == 1
    assert "not central's database (no table events, gaps" in result.stderr
    assert postgres.rows(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()"
    ) == [(0,)]
    postgres.open().close()  # central's own run makes the tables; the report reads them
    made = _report("--db-url", postgres.db_url, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout) == {"gates": {}, "rejected": {"total": 0, "by_reason": {}}}


def test_report_of_an_older_centrals_database_says_so_until_run_adds_the_new_tables(tmp_path: Path) -> None:
    old = tmp_path / "central.db"
    with sqlite3.connect(old) as conn:  # a release before the rejected and telemetry_counts tables
        conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, event_id TEXT, gate_id TEXT, seq INTEGER)")
        conn.execute("INSERT INTO events (event_id, gate_id, seq) VALUES ('e1', 'g1', 1)")
    conn.close()
    refused = _report("--db", str(old), cwd=tmp_path)
    assert refused.returncode == 1
    assert "made by an older central (no table gaps" in refused.stderr
    assert "`gate-central run` on it adds them" in refused.stderr
    SqliteCentralStore(old, mode="open").close()  # what `gate-central run --db` does when it starts
    made = _report("--db", str(old), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["gates"]["g1"]["events"] == 1
