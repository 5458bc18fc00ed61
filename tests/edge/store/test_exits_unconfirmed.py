"""Unconfirmed exits: the barrier was open while the lane could not watch it; the declaration is used."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from edge.store import DuplicateExitError, Store
from edge.store.db import StoreConnection, to_text
from edge.store.migrations import MIGRATIONS, migrate

from .conftest import at


def test_an_unconfirmed_exit_is_kept_apart_from_the_exits(store: Store) -> None:
    store.transactions.start("tx-1", "lane-1", at(0))
    store.transactions.complete("tx-1", at(1), exits=[("D1", "MSKU3866036")], confirmed=False)
    assert store.exits.unconfirmed_pairs("D1") == {"MSKU3866036"}
    assert store.exits.exited_pairs("D1") == set()
    assert not store.exits.has_exited("D1", "MSKU3866036")
    record = store.transactions.get("tx-1")
    assert record is not None
    assert (record.exits, record.unconfirmed_exits) == ((), (("D1", "MSKU3866036"),))


def test_a_confirmed_exit_takes_over_the_unconfirmed_one(store: Store) -> None:
    for tx_id in ("tx-1", "tx-2"):
        store.transactions.start(tx_id, "lane-1", at(0))
    store.transactions.complete("tx-1", at(1), exits=[("D1", "")], confirmed=False)
    store.transactions.complete("tx-2", at(2), exits=[("D1", "")])
    assert store.exits.exited_pairs("D1") == {""}
    assert store.exits.unconfirmed_pairs("D1") == set()
    first, second = store.transactions.get("tx-1"), store.transactions.get("tx-2")
    assert first is not None
    assert second is not None
    assert second.exits == (("D1", ""),)
    assert first.unconfirmed_exits == ()


@pytest.mark.parametrize("confirmed_first", [True, False])
def test_an_unconfirmed_exit_over_any_earlier_exit_is_a_duplicate(
    store: Store, confirmed_first: bool
) -> None:
    for tx_id in ("tx-1", "tx-2"):
        store.transactions.start(tx_id, "lane-1", at(0))
    store.transactions.complete("tx-1", at(1), exits=[("D1", "")], confirmed=confirmed_first)
    with pytest.raises(DuplicateExitError):
        store.transactions.complete("tx-2", at(2), exits=[("D1", ""), ("D1", "X")], confirmed=False)
    assert store.exits.unconfirmed_pairs("D1") == (set() if confirmed_first else {""})  # all or nothing


def test_exits_recorded_before_the_migration_stay_confirmed(db_path: Path) -> None:
    conn = sqlite3.connect(db_path, isolation_level=None, factory=StoreConnection)
    try:
        migrate(conn, str(db_path), MIGRATIONS[:2])
        with conn:
            conn.execute(
                "INSERT INTO transactions (id, lane_id, started_at, state, status) VALUES (?, ?, ?, ?, ?)",
                ("tx-0", "lane-1", to_text(at(0)), "IDLE", "completed"),
            )
            conn.execute(
                "INSERT INTO exits (declaration_number, container, tx_id, at) VALUES (?, ?, ?, ?)",
                ("D1", "MSKU3866036", "tx-0", to_text(at(1))),
            )
    finally:
        conn.close()
    with Store(db_path) as store:
        assert store.exits.exited_pairs("D1") == {"MSKU3866036"}
        assert store.exits.unconfirmed_pairs("D1") == set()
        with pytest.raises(sqlite3.IntegrityError):
            store.conn.execute("UPDATE exits SET confirmed = 2")
