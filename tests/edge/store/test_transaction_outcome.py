"""How a transaction ended and its evidence images are kept with it; the audit read by a page of subjects."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from edge.store import Store
from edge.store.db import StoreConnection, to_text
from edge.store.migrations import MIGRATIONS, migrate
from edge.store.transactions import EvidenceImage, TxResult

from .conftest import at

CAMERA = EvidenceImage("plate", "51G10011", "a" * 64)
BOX = EvidenceImage("container", "TCLU0000111", "b" * 64)


def test_the_result_is_kept_with_the_completed_transaction_and_searchable(store: Store) -> None:
    for n, result in enumerate((TxResult.PASSED, TxResult.REJECTED, TxResult.LEFT)):
        store.transactions.start(f"tx-{n}", "lane-1", at(n))
        store.transactions.complete(f"tx-{n}", at(n + 0.5), result=result)
    store.transactions.start("tx-open", "lane-1", at(9))
    assert [r.result for r in store.transactions.search()] == [
        None,
        TxResult.LEFT,
        TxResult.REJECTED,
        TxResult.PASSED,
    ]
    assert [r.id for r in store.transactions.search(result=TxResult.REJECTED)] == ["tx-1"]
    assert store.transactions.search(result=TxResult.ABORTED) == []


def test_evidence_accumulates_over_decisions_and_a_correction_keeps_the_cameras(store: Store) -> None:
    tx = store.transactions
    tx.start("tx-1", "lane-1", at(0))
    tx.update_identification("tx-1", at(1), plate="51G10011", evidence=[CAMERA, BOX])
    tx.update_identification("tx-1", at(2), plate="51C10011")  # the officer's read has no image
    tx.update_identification("tx-1", at(3), evidence=[BOX, EvidenceImage("plate", "51C10011", "c" * 64)])
    record = tx.get("tx-1")
    assert record is not None
    assert record.plate == "51C10011"
    assert [i.sha256[0] for i in record.evidence] == ["a", "b", "c"]  # no image twice, in order seen
    assert record.evidence[0] == CAMERA


def test_an_unknown_result_and_malformed_evidence_read_as_unknown_not_as_a_failure(store: Store) -> None:
    store.transactions.start("tx-1", "lane-1", at(0))
    store.transactions.complete("tx-1", at(1), result=TxResult.PASSED)
    with store.conn:
        store.conn.execute(
            "UPDATE transactions SET result = 'teleported', evidence = ? WHERE id = 'tx-1'",
            (
                '[{"kind": "plate", "text": "X", "sha256": 7}, "junk",'
                ' {"kind": "plate", "text": "Y", "sha256": "d"}]',
            ),
        )
    record = store.transactions.get("tx-1")
    assert record is not None
    assert record.result is None
    assert record.evidence == (EvidenceImage("plate", "Y", "d"),)


def test_a_transaction_recorded_before_schema_4_reads_with_no_result_and_no_evidence(db_path: Path) -> None:
    conn = sqlite3.connect(db_path, isolation_level=None, factory=StoreConnection)
    try:
        migrate(conn, str(db_path), MIGRATIONS[:3])
        with conn:
            conn.execute(
                "INSERT INTO transactions (id, lane_id, started_at, ended_at, state, status)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                ("tx-old", "lane-1", to_text(at(0)), to_text(at(60)), "IDLE", "completed"),
            )
    finally:
        conn.close()
    with Store(db_path) as store:
        record = store.transactions.get("tx-old")
        assert record is not None
        assert (record.result, record.evidence) == (None, ())


def test_the_audit_of_a_page_of_subjects_comes_oldest_first_per_subject(store: Store) -> None:
    for n, (actor, action, subject) in enumerate(
        [("olga", "correct_read", "tx-1"), ("sam", "manual_open", "lane"), ("olga", "approve", "tx-1")]
    ):
        store.audit.append(actor, action, subject, "why", None, None, at(n))
    found = store.audit.records_of(["tx-1", "tx-2"])
    assert [r.action for r in found["tx-1"]] == ["correct_read", "approve"]
    assert found["tx-2"] == []
    assert "lane" not in found
