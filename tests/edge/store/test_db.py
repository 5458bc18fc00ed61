"""Opening, pragmas, migrations and the nesting transaction semantics of StoreConnection."""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime
from pathlib import Path

import pytest

from edge.store import LATEST_VERSION, SchemaTooNewError, Store, StoreError, open_db
from edge.store.db import to_text
from edge.store.migrations import MIGRATIONS, Migration, current_version, migrate

from .conftest import at

EXPECTED_TABLES = {
    "schema_version",
    "declarations",
    "declaration_plates",
    "declaration_containers",
    "exits",
    "watchlist",
    "transactions",
    "transaction_containers",
    "transitions",
    "outbox",
    "audit",
    "users",
    "meta",
}
NEXT = LATEST_VERSION + 1


def _tables(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {row[0] for row in rows} - {"sqlite_sequence"}


def test_open_migrates_an_empty_file_to_the_latest_schema(db_path: Path) -> None:
    conn = open_db(db_path)
    try:
        assert _tables(conn) == EXPECTED_TABLES
        assert current_version(conn) == LATEST_VERSION
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()


def test_open_sets_wal_full_sync_foreign_keys_and_busy_timeout(db_path: Path) -> None:
    conn = open_db(db_path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] > 0
    finally:
        conn.close()


def test_reopen_is_idempotent_and_keeps_data(db_path: Path) -> None:
    with Store(db_path) as first:
        first.watchlist.add("51C12345", "stolen", at(0))
    for _ in range(3):
        with Store(db_path) as again:
            assert again.watchlist.contains("51C12345")
            rows = again.conn.execute("SELECT version FROM schema_version").fetchall()
            assert [row[0] for row in rows] == [m.version for m in MIGRATIONS]


def test_open_refuses_a_database_from_a_newer_release(db_path: Path) -> None:
    with Store(db_path) as store, store.conn:
        store.conn.execute(
            "INSERT INTO schema_version (version, description, applied_at) VALUES (?, 'future', ?)",
            (LATEST_VERSION + 1, to_text(at(0))),
        )
    with pytest.raises(SchemaTooNewError, match="newer than this release knows") as caught:
        open_db(db_path)
    assert caught.value.found == LATEST_VERSION + 1
    assert caught.value.known == LATEST_VERSION


def test_pending_migrations_apply_in_order_from_an_older_version(db_path: Path) -> None:
    conn = open_db(db_path)
    try:
        v2 = Migration(
            NEXT, "add lane notes", ("CREATE TABLE lane_notes (id INTEGER PRIMARY KEY, text TEXT)",)
        )
        v3 = Migration(NEXT + 1, "index notes", ("CREATE INDEX lane_notes_text ON lane_notes (text)",))
        assert migrate(conn, str(db_path), (*MIGRATIONS, v2, v3)) == [NEXT, NEXT + 1]
        assert current_version(conn) == NEXT + 1
        assert migrate(conn, str(db_path), (*MIGRATIONS, v2, v3)) == []
    finally:
        conn.close()


def test_a_failing_migration_leaves_the_previous_schema_whole(db_path: Path) -> None:
    conn = open_db(db_path)
    try:
        good = Migration(NEXT, "good", ("CREATE TABLE lane_notes (id INTEGER PRIMARY KEY)",))
        bad = Migration(NEXT + 1, "bad", ("CREATE TABLE broken (",))
        with pytest.raises(sqlite3.OperationalError):
            migrate(conn, str(db_path), (*MIGRATIONS, good, bad))
        assert current_version(conn) == LATEST_VERSION
        assert "lane_notes" not in _tables(conn)
    finally:
        conn.close()


def test_migrations_out_of_order_are_rejected(db_path: Path) -> None:
    conn = open_db(db_path)
    try:
        skipped = Migration(NEXT + 1, "skips one", ())
        with pytest.raises(StoreError, match=r"numbered 1\.\.n"):
            migrate(conn, str(db_path), (*MIGRATIONS, skipped))
    finally:
        conn.close()


def test_nested_with_rolls_back_only_the_inner_block(store: Store) -> None:
    def inner_fails() -> None:
        with store.conn:
            store.watchlist.add("INNER1", "rolled back", at(0))
            raise RuntimeError("inner fails")

    with store.conn:
        store.watchlist.add("OUTER1", "kept", at(0))
        with pytest.raises(RuntimeError):
            inner_fails()
    assert store.watchlist.contains("OUTER1")
    assert not store.watchlist.contains("INNER1")


def test_outer_rollback_undoes_repository_calls_made_inside_it(store: Store) -> None:
    def caller_fails_after_both_writes() -> None:
        with store.conn:
            store.watchlist.add("A1", "x", at(0))
            store.outbox.append("telemetry.tick", {"n": 1}, at(0), critical=False)
            raise RuntimeError("caller fails")

    with pytest.raises(RuntimeError):
        caller_fails_after_both_writes()
    assert not store.watchlist.contains("A1")
    assert store.outbox.depth() == 0
    assert not store.conn.in_transaction


def test_a_connection_refuses_use_from_another_thread(store: Store) -> None:
    errors: list[BaseException] = []

    def use() -> None:
        try:
            store.watchlist.contains("X")
        except sqlite3.ProgrammingError as exc:
            errors.append(exc)

    thread = threading.Thread(target=use)
    thread.start()
    thread.join()
    assert len(errors) == 1


def test_naive_times_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        store.watchlist.add("51C12345", "x", datetime(2025, 1, 1))


def test_times_are_stored_as_fixed_width_utc_text(store: Store) -> None:
    store.watchlist.add("51C12345", "x", at(0.5))
    stored = store.conn.execute("SELECT added_at FROM watchlist").fetchone()[0]
    assert stored == "2025-03-01T08:00:00.500000+00:00"
