"""Declaration cache version rules and lookups, the watchlist, and one exit per declaration and container."""

from __future__ import annotations

from datetime import datetime

import pytest

from edge.declaration import Channel, ContainerLine, Declaration, DeclarationStatus
from edge.store import DuplicateExitError, Store

from .conftest import T0, at


def _decl(
    number: str = "10512345678",
    version: int = 1,
    plates: tuple[str, ...] = ("51C12345",),
    containers: tuple[str, ...] = ("MSKU3866036",),
    status: DeclarationStatus = DeclarationStatus.CLEARED,
) -> Declaration:
    return Declaration(
        number=number,
        status=status,
        channel=Channel.GREEN,
        plates=plates,
        containers=tuple(ContainerLine(number=c, seal=f"S{i}") for i, c in enumerate(containers)),
        gross_kg=28_500.0,
        valid_from=T0,
        valid_until=at(86_400),
        version=version,
    )


def test_upsert_round_trips_a_declaration_unchanged(store: Store) -> None:
    decl = _decl()
    assert store.declarations.upsert(decl, at(0))
    assert store.declarations.get(decl.number) == decl
    assert store.declarations.count() == 1


def test_upsert_keeps_naive_validity_times_naive(store: Store) -> None:
    naive = _decl().model_copy(
        update={"valid_from": datetime(2025, 3, 1, 8), "valid_until": datetime(2025, 3, 2, 8)}
    )
    store.declarations.upsert(naive, at(0))
    assert store.declarations.get(naive.number) == naive


def test_upsert_of_the_same_version_is_an_idempotent_no_op(store: Store) -> None:
    decl = _decl()
    assert store.declarations.upsert(decl, at(0))
    assert not store.declarations.upsert(decl, at(1))
    changed_same_version = _decl(plates=("99X99999",))
    assert not store.declarations.upsert(changed_same_version, at(2))
    assert store.declarations.get(decl.number) == decl
    assert store.declarations.count() == 1


def test_upsert_ignores_an_older_version(store: Store) -> None:
    assert store.declarations.upsert(_decl(version=3, status=DeclarationStatus.REVOKED), at(0))
    assert not store.declarations.upsert(_decl(version=2), at(1))
    stored = store.declarations.get("10512345678")
    assert stored is not None
    assert stored.version == 3
    assert stored.status is DeclarationStatus.REVOKED


def test_newer_version_replaces_and_reindexes_plates_and_containers(store: Store) -> None:
    store.declarations.upsert(_decl(version=1, plates=("51C12345",), containers=("MSKU3866036",)), at(0))
    newer = _decl(version=2, plates=("51D67890",), containers=("TGHU1234563",))
    assert store.declarations.upsert(newer, at(1))
    assert store.declarations.find_by_plate("51C12345") == []
    assert store.declarations.find_by_container("MSKU3866036") == []
    assert store.declarations.find_by_plate("51D67890") == [newer]
    assert store.declarations.find_by_container("TGHU1234563") == [newer]
    assert store.declarations.version_of(newer.number) == 2


def test_find_by_plate_returns_every_declaration_naming_it(store: Store) -> None:
    first = _decl(number="A1", plates=("51C12345", "51C99999"))
    second = _decl(number="B2", plates=("51C12345",), containers=())
    other = _decl(number="C3", plates=("29H11111",))
    assert store.declarations.upsert_many([second, first, other], at(0)) == 3
    assert store.declarations.find_by_plate("51C12345") == [first, second]
    assert store.declarations.find_by_plate("00000000") == []
    assert [d.number for d in store.declarations.all()] == ["A1", "B2", "C3"]


def test_delete_removes_the_declaration_and_its_index_rows(store: Store) -> None:
    store.declarations.upsert(_decl(), at(0))
    assert store.declarations.delete("10512345678")
    assert not store.declarations.delete("10512345678")
    assert store.declarations.get("10512345678") is None
    assert store.declarations.find_by_plate("51C12345") == []
    leftover = store.conn.execute("SELECT COUNT(*) FROM declaration_plates").fetchone()[0]
    assert leftover == 0


def test_watchlist_add_replace_remove(store: Store) -> None:
    store.watchlist.add("51C12345", "stolen", at(0))
    store.watchlist.add("51C12345", "unpaid fine", at(5))
    entry = store.watchlist.get("51C12345")
    assert entry is not None
    assert (entry.reason, entry.added_at) == ("unpaid fine", at(5))
    assert store.watchlist.contains("51C12345")
    assert [e.plate for e in store.watchlist.all()] == ["51C12345"]
    assert store.watchlist.remove("51C12345")
    assert not store.watchlist.remove("51C12345")
    assert not store.watchlist.contains("51C12345")


def test_one_exit_per_declaration_and_container(store: Store) -> None:
    store.transactions.start("tx-1", "lane-1", at(0))
    store.transactions.start("tx-2", "lane-1", at(1))
    store.exits.record("tx-1", [("D1", "MSKU3866036"), ("D1", "")], at(2))
    assert store.exits.has_exited("D1", "MSKU3866036")
    assert store.exits.has_exited("D1")
    assert not store.exits.has_exited("D1", "TGHU1234563")
    assert store.exits.exited_pairs("D1") == {"MSKU3866036", ""}
    with pytest.raises(DuplicateExitError) as caught:
        store.exits.record("tx-2", [("D1", "TGHU1234563"), ("D1", "MSKU3866036")], at(3))
    assert caught.value.pairs == (("D1", "MSKU3866036"),)
    assert not store.exits.has_exited("D1", "TGHU1234563")  # all or nothing


def test_exits_outlive_the_cached_declaration(store: Store) -> None:
    store.declarations.upsert(_decl(number="D1"), at(0))
    store.transactions.start("tx-1", "lane-1", at(0))
    store.transactions.complete("tx-1", at(1), exits=[("D1", "MSKU3866036")])
    store.declarations.delete("D1")
    assert store.exits.has_exited("D1", "MSKU3866036")


def test_mark_inspected_sets_the_flag_until_central_sends_a_newer_version(store: Store) -> None:
    store.declarations.upsert(_decl(), at(0))
    assert store.declarations.mark_inspected("10512345678", at(10))
    got = store.declarations.get("10512345678")
    assert got is not None
    assert got.inspection_done
    assert not store.declarations.mark_inspected("no-such-declaration", at(10))
    store.declarations.upsert(_decl(version=2), at(20))
    newer = store.declarations.get("10512345678")
    assert newer is not None
    assert not newer.inspection_done


def test_a_stored_row_that_no_longer_validates_is_ignored_and_logged_not_raised(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """A declaration imported by an older version with a plate since refused (empty) reads as absent."""
    good = _decl("D1", version=1)
    store.declarations.upsert(good)
    bad = _decl("D2", version=1)
    store.declarations.upsert(bad)
    with store.conn:  # what an older version could store: an empty plate, also indexed under ''
        store.conn.execute("UPDATE declarations SET plates = ? WHERE number = 'D2'", ('[""]',))
        store.conn.execute("UPDATE declaration_plates SET plate = '' WHERE declaration_number = 'D2'")
    assert [d.number for d in store.declarations.all()] == ["D1"]
    assert store.declarations.get("D2") is None
    assert store.declarations.find_by_plate("") == []
    assert "declaration 'D2' in the store no longer validates, ignored" in caplog.text
    assert store.conn.execute("SELECT COUNT(*) FROM declarations").fetchone()[0] == 2  # nothing deleted
