"""Outbox ordering, delivery bookkeeping and telemetry shedding; seq is never reused."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from hypothesis import given, settings
from hypothesis import strategies as st

from edge.store import Store

from .conftest import at


@contextmanager
def _memory_store() -> Iterator[Store]:
    with Store(":memory:") as store:
        yield store


def test_append_returns_the_stored_event(store: Store) -> None:
    event = store.outbox.append("transaction.started", {"b": 2, "a": [1, "x"]}, at(0))
    assert event.seq == 1
    assert len(event.event_id) == 36
    assert store.outbox.get(event.seq) == event
    raw = store.conn.execute("SELECT payload FROM outbox WHERE seq = 1").fetchone()[0]
    assert raw == '{"a":[1,"x"],"b":2}'  # canonical: sorted keys, no spaces


def test_pending_is_in_seq_order_and_pages_after_a_seq(store: Store) -> None:
    seqs = [store.outbox.append("k", {"i": i}, at(i)).seq for i in range(5)]
    assert seqs == sorted(seqs)
    assert [e.seq for e in store.outbox.pending()] == seqs
    assert [e.seq for e in store.outbox.pending(after_seq=seqs[1], limit=2)] == seqs[2:4]


def test_mark_delivered_removes_from_pending_and_depth(store: Store) -> None:
    for i in range(4):
        store.outbox.append("k", {"i": i}, at(i))
    assert store.outbox.depth() == 4
    assert store.outbox.oldest_pending_at() == at(0)
    assert store.outbox.mark_delivered([1, 2, 2], at(10)) == 2
    assert store.outbox.mark_delivered([2], at(11)) == 0  # an ack repeated is harmless
    assert store.outbox.depth() == 2
    assert store.outbox.oldest_pending_at() == at(2)
    delivered = store.outbox.get(1)
    assert delivered is not None
    assert delivered.delivered_at == at(10)
    store.outbox.mark_delivered([3, 4], at(12))
    assert store.outbox.oldest_pending_at() is None


def test_seq_is_never_reused_after_the_newest_rows_are_deleted(store: Store) -> None:
    for i in range(3):
        store.outbox.append("k", {"i": i}, at(i))
    store.outbox.mark_delivered([1, 2, 3], at(5))
    assert store.outbox.purge_delivered(before=at(6)) == 3
    assert store.outbox.last_seq() == 3
    assert store.outbox.append("k", {}, at(7)).seq == 4


def test_seq_survives_reopen(store: Store) -> None:
    store.outbox.append("k", {}, at(0))
    store.conn.execute("DELETE FROM outbox")
    assert store.path is not None
    with Store(store.path) as reopened:
        assert reopened.outbox.append("k", {}, at(1)).seq == 2


def test_drop_telemetry_keeps_the_newest_and_every_transaction_event(store: Store) -> None:
    kinds = ["t", "T", "t", "t", "T", "t"]  # T critical, t telemetry
    for i, kind in enumerate(kinds):
        store.outbox.append(kind, {"i": i}, at(i), critical=kind == "T")
    assert store.outbox.drop_telemetry_oldest(keep=1) == 3
    assert [(e.seq, e.kind) for e in store.outbox.pending()] == [(2, "T"), (5, "T"), (6, "t")]
    assert store.outbox.drop_telemetry_oldest(keep=0) == 1
    assert store.outbox.drop_telemetry_oldest(keep=0) == 0
    assert [e.seq for e in store.outbox.pending()] == [2, 5]


def test_delivered_telemetry_is_not_counted_as_pending_to_drop(store: Store) -> None:
    store.outbox.append("t", {}, at(0), critical=False)
    store.outbox.append("t", {}, at(1), critical=False)
    store.outbox.mark_delivered([2], at(2))
    assert store.outbox.drop_telemetry_oldest(keep=1) == 0


_ops = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.booleans()),
        st.tuples(st.just("deliver"), st.integers(0, 5)),
        st.tuples(st.just("drop"), st.integers(0, 3)),
        st.tuples(st.just("purge"), st.booleans()),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(ops=_ops)
def test_outbox_order_property(ops: list[tuple[str, object]]) -> None:
    """Whatever mix of appends, acks, shedding and purges: seqs only grow, pending is the model, in order."""
    with _memory_store() as store:
        issued: list[int] = []
        pending: dict[int, bool] = {}  # seq -> critical, for undelivered events
        for clock, (op, arg) in enumerate(ops, start=1):
            if op == "append":
                event = store.outbox.append("k", {"n": clock}, at(clock), critical=bool(arg))
                assert not issued or event.seq > issued[-1]
                issued.append(event.seq)
                pending[event.seq] = bool(arg)
            elif op == "deliver":
                acked = sorted(pending)[: int(str(arg))]
                store.outbox.mark_delivered(acked, at(clock))
                for seq in acked:
                    del pending[seq]
            elif op == "drop":
                keep = int(str(arg))
                telemetry = sorted(seq for seq, critical in pending.items() if not critical)
                doomed = telemetry[: max(0, len(telemetry) - keep)]
                assert store.outbox.drop_telemetry_oldest(keep) == len(doomed)
                for seq in doomed:
                    del pending[seq]
            else:
                store.outbox.purge_delivered(at(clock + 1))
            assert [e.seq for e in store.outbox.pending()] == sorted(pending)
            assert store.outbox.depth() == len(pending)
        assert store.outbox.last_seq() == (issued[-1] if issued else 0)
