"""The audit chain: it verifies when untouched and names the first record an edit, deletion or swap broke."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

import pytest

from edge.store import Store
from edge.store.audit import GENESIS_HASH

from .conftest import at


def _fill(store: Store, count: int) -> None:
    for i in range(count):
        store.audit.append(
            actor=f"officer-{i % 2}",
            action="transaction.approve",
            subject=f"tx-{i}",
            reason=f"reason {i}",
            before={"outcome": "HOLD"},
            after={"outcome": "PASS", "weight": 28_400.5},
            at=at(i),
        )


def test_an_untouched_chain_verifies(store: Store) -> None:
    assert store.audit.verify() is None
    assert store.audit.head() == GENESIS_HASH
    _fill(store, 5)
    assert store.audit.verify() is None
    records = store.audit.records()
    assert [r.id for r in records] == [5, 4, 3, 2, 1]
    assert records[-1].prev_hash == GENESIS_HASH
    assert all(newer.prev_hash == older.hash for newer, older in itertools.pairwise(records))
    assert store.audit.head() == records[0].hash
    assert records[0].after == {"outcome": "PASS", "weight": 28_400.5}


@pytest.mark.parametrize(
    ("tamper", "named"),
    [
        pytest.param("UPDATE audit SET reason = 'nothing to see' WHERE id = 3", 3, id="edited-reason"),
        pytest.param(
            """UPDATE audit SET after = '{"outcome":"REJECT"}' WHERE id = 2""", 2, id="edited-after"
        ),
        pytest.param("DELETE FROM audit WHERE id = 3", 4, id="deleted-record-breaks-the-next-one"),
        pytest.param("DELETE FROM audit WHERE id = 5", 5, id="deleted-newest-is-named-as-missing"),
    ],
)
def test_a_tampered_record_is_named(store: Store, tamper: str, named: int) -> None:
    _fill(store, 5)
    store.conn.execute(tamper)
    assert store.audit.verify() == named


def test_swapped_records_are_detected(store: Store) -> None:
    _fill(store, 4)
    with store.conn:
        store.conn.execute("UPDATE audit SET id = -2 WHERE id = 2")
        store.conn.execute("UPDATE audit SET id = 2 WHERE id = 3")
        store.conn.execute("UPDATE audit SET id = 3 WHERE id = -2")
    assert store.audit.verify() == 2


def test_records_for_one_subject(store: Store) -> None:
    _fill(store, 4)
    assert [r.subject for r in store.audit.records(subject="tx-2")] == ["tx-2"]


def test_appends_from_two_threads_keep_one_chain(db_path: Path) -> None:
    Store(db_path).close()  # migrate once, before the threads race

    def writer(name: str) -> None:
        with Store(db_path) as own:  # one connection per thread
            for i in range(40):
                own.audit.append(name, "config.change", "lane", None, None, {"i": i}, at(i))

    threads = [threading.Thread(target=writer, args=(f"w{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with Store(db_path) as check:
        assert check.audit.verify() is None
        assert len(check.audit.records(limit=1000)) == 80
