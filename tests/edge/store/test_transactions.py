"""Lane transactions: transitions and decisions commit with their outbox events; search; restart recovery."""

from __future__ import annotations

from typing import Any

import pytest

from edge.decision import Outcome, Reason
from edge.store import (
    DuplicateExitError,
    NewEvent,
    StaleStateError,
    Store,
    StoreError,
    TransactionNotOpenError,
    TransactionRecord,
    TxStatus,
    UnknownTransactionError,
)

from .conftest import at


def _event(kind: str, **payload: Any) -> NewEvent:
    return NewEvent(kind, payload)


def _kinds(store: Store) -> list[str]:
    return [e.kind for e in store.outbox.pending()]


def _assert_untouched(store: Store, state: str) -> TransactionRecord:
    """A refused write left tx-1 in `state` with no transition recorded, and queued no event."""
    record = store.transactions.get("tx-1")
    assert record is not None
    assert (record.state, record.transitions) == (state, ())
    assert store.outbox.depth() == 0
    return record


def test_a_full_pass_is_recorded_with_its_events(store: Store) -> None:
    tx = store.transactions
    tx.start("tx-1", "lane-1", at(0), state="arrived", event=_event("transaction.started", tx_id="tx-1"))
    tx.record_transition("tx-1", "arrived", "weighing", "loop_b", at(1), _event("transaction.state", s="w"))
    tx.update_identification(
        "tx-1", at(2), plate="51C12345", plate_confidence=0.97, containers=["MSKU3866036"], gross_kg=28_400.0
    )
    tx.record_decision("tx-1", Outcome.PASS, [], "D1", at(3), _event("transaction.decided", outcome="PASS"))
    tx.record_transition("tx-1", "weighing", "exiting", "barrier_open", at(4))
    event = tx.complete("tx-1", at(5), exits=[("D1", "MSKU3866036")], event=_event("transaction.completed"))
    assert event is not None
    assert event.critical
    record = tx.get("tx-1")
    assert record is not None
    assert record.status is TxStatus.COMPLETED
    assert (record.state, record.started_at, record.ended_at) == ("exiting", at(0), at(5))
    assert (record.plate, record.plate_confidence, record.gross_kg) == ("51C12345", 0.97, 28_400.0)
    assert record.containers == ("MSKU3866036",)
    assert (record.outcome, record.reasons, record.declaration_number) == (Outcome.PASS, (), "D1")
    assert [(t.seq, t.from_state, t.to_state) for t in record.transitions] == [
        (1, "arrived", "weighing"),
        (2, "weighing", "exiting"),
    ]
    assert record.exits == (("D1", "MSKU3866036"),)
    assert _kinds(store) == [
        "transaction.started",
        "transaction.state",
        "transaction.decided",
        "transaction.completed",
    ]


def test_identification_fields_left_out_keep_their_values(store: Store) -> None:
    store.transactions.start("tx-1", "lane-1", at(0))
    store.transactions.update_identification("tx-1", at(1), plate="51C12345", plate_confidence=0.9)
    store.transactions.update_identification("tx-1", at(2), gross_kg=20_000.0)
    record = store.transactions.get("tx-1")
    assert record is not None
    assert (record.plate, record.plate_confidence, record.gross_kg) == ("51C12345", 0.9, 20_000.0)


def test_an_officer_decision_replaces_the_automatic_one(store: Store) -> None:
    store.transactions.start("tx-1", "lane-1", at(0))
    reasons = [Reason.WEIGHT_OUT_OF_TOLERANCE, Reason.LOW_CONFIDENCE]
    store.transactions.record_decision("tx-1", Outcome.HOLD, reasons, "D1", at(1))
    store.transactions.record_decision(
        "tx-1", Outcome.REJECT, reasons, "D1", at(9), officer="officer-7", note="seal broken"
    )
    record = store.transactions.get("tx-1")
    assert record is not None
    assert (record.outcome, record.reasons) == (Outcome.REJECT, tuple(reasons))
    assert (record.officer, record.note, record.decided_at) == ("officer-7", "seal broken", at(9))


def test_a_transition_from_the_wrong_state_is_refused_and_writes_nothing(store: Store) -> None:
    store.transactions.start("tx-1", "lane-1", at(0), state="arrived")
    with pytest.raises(StaleStateError, match="'arrived', not 'weighing'"):
        store.transactions.record_transition("tx-1", "weighing", "exiting", "x", at(1), _event("e"))
    _assert_untouched(store, "arrived")


def test_writes_to_closed_or_unknown_transactions_are_refused(store: Store) -> None:
    store.transactions.start("tx-1", "lane-1", at(0))
    store.transactions.complete("tx-1", at(1))
    with pytest.raises(TransactionNotOpenError):
        store.transactions.record_transition("tx-1", "started", "x", "late", at(2))
    with pytest.raises(TransactionNotOpenError):
        store.transactions.complete("tx-1", at(2))
    with pytest.raises(UnknownTransactionError):
        store.transactions.record_decision("nope", Outcome.PASS, [], None, at(2))
    with pytest.raises(StoreError, match="already exists"):
        store.transactions.start("tx-1", "lane-1", at(3))


def test_a_failing_event_rolls_back_its_transition(store: Store) -> None:
    store.transactions.start("tx-1", "lane-1", at(0), state="arrived")
    unserialisable = NewEvent("transaction.state", {"value": object()})
    with pytest.raises(TypeError):
        store.transactions.record_transition("tx-1", "arrived", "weighing", "loop", at(1), unserialisable)
    _assert_untouched(store, "arrived")


def test_a_duplicate_exit_leaves_the_transaction_open_and_unreported(store: Store) -> None:
    store.transactions.start("tx-1", "lane-1", at(0))
    store.transactions.complete("tx-1", at(1), exits=[("D1", "")])
    store.transactions.start("tx-2", "lane-1", at(2))
    with pytest.raises(DuplicateExitError):
        store.transactions.complete("tx-2", at(3), exits=[("D1", "")], event=_event("transaction.completed"))
    record = store.transactions.get("tx-2")
    assert record is not None
    assert record.status is TxStatus.OPEN
    assert store.outbox.depth() == 0


def test_caller_block_makes_transition_and_completion_one_commit(store: Store) -> None:
    store.transactions.start("tx-1", "lane-1", at(0), state="exiting")
    store.transactions.start("tx-0", "lane-1", at(0))
    store.transactions.complete("tx-0", at(0), exits=[("D1", "")])

    def transition_then_complete() -> None:
        with store.conn:
            store.transactions.record_transition("tx-1", "exiting", "done", "loop_c", at(1), _event("state"))
            store.transactions.complete("tx-1", at(1), exits=[("D1", "")])

    with pytest.raises(DuplicateExitError):
        transition_then_complete()
    record = _assert_untouched(store, "exiting")
    assert record.status is TxStatus.OPEN


def test_restart_marks_every_open_transaction_interrupted_with_an_event(store: Store) -> None:
    store.transactions.start("tx-a", "lane-1", at(0), state="weighing")
    store.transactions.start("tx-b", "lane-1", at(1), state="arrived")
    store.transactions.start("tx-c", "lane-1", at(2))
    store.transactions.complete("tx-c", at(3))
    assert [r.id for r in store.transactions.open_transactions()] == ["tx-a", "tx-b"]

    assert store.transactions.mark_interrupted_open(at(10)) == ["tx-a", "tx-b"]

    assert store.transactions.open_transactions() == []
    record = store.transactions.get("tx-a")
    assert record is not None
    assert (record.status, record.state, record.ended_at) == (TxStatus.INTERRUPTED, "interrupted", at(10))
    assert [(t.from_state, t.to_state, t.cause) for t in record.transitions] == [
        ("weighing", "interrupted", "restart")
    ]
    events = store.outbox.pending()
    assert [(e.kind, e.payload["tx_id"], e.critical) for e in events] == [
        ("transaction.interrupted", "tx-a", True),
        ("transaction.interrupted", "tx-b", True),
    ]
    assert events[0].payload["from_state"] == "weighing"
    assert store.transactions.mark_interrupted_open(at(11)) == []


def _seed_search(store: Store) -> None:
    rows = [
        ("tx-1", 0, "51C12345", ["MSKU3866036"], "D1"),
        ("tx-2", 10, "51C12345", ["TGHU1234563"], "D2"),
        ("tx-3", 20, "29H11111", ["MSKU3866036", "TGHU1234563"], "D3"),
        ("tx-4", 30, "29H11111", [], None),
    ]
    for tx_id, start, plate, containers, decl in rows:
        store.transactions.start(tx_id, "lane-1", at(start))
        store.transactions.update_identification(tx_id, at(start), plate=plate, containers=containers)
        if decl is not None:
            store.transactions.record_decision(tx_id, Outcome.PASS, [], decl, at(start + 1))


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ["tx-4", "tx-3", "tx-2", "tx-1"]),
        ({"plate": "51C12345"}, ["tx-2", "tx-1"]),
        ({"container": "MSKU3866036"}, ["tx-3", "tx-1"]),
        ({"declaration": "D2"}, ["tx-2"]),
        ({"since": at(10), "until": at(30)}, ["tx-3", "tx-2"]),
        ({"plate": "29H11111", "container": "TGHU1234563"}, ["tx-3"]),
        ({"plate": "51C12345", "declaration": "D3"}, []),
        ({"limit": 2}, ["tx-4", "tx-3"]),
    ],
)
def test_search_applies_every_filter_newest_first(
    store: Store, filters: dict[str, Any], expected: list[str]
) -> None:
    _seed_search(store)
    assert [r.id for r in store.transactions.search(**filters)] == expected


def test_search_replacing_containers_drops_the_old_ones(store: Store) -> None:
    _seed_search(store)
    store.transactions.update_identification("tx-1", at(50), containers=["CSQU3054383"])
    assert [r.id for r in store.transactions.search(container="MSKU3866036")] == ["tx-3"]
    assert [r.id for r in store.transactions.search(container="CSQU3054383")] == ["tx-1"]
