"""Central's store written once: every read and write, over central.sql's statements, for both databases.

A backend (store_sqlite.py, store_pg.py) supplies the connection, its transactions and its error mapping,
and how a value is handed to its driver (SQLite keeps times and ids as text); it runs the same statements.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from central import confirmation_sql, sql
from central.confirmation_store import exit_rows, record_exits
from central.confirmations import is_exit
from central.rejections import SeqConflict, SeqJump
from central.report import build_report
from central.store import FeedStep, T
from sync.contract import EventEnvelope

SCHEMA_LOCK = "gate-edge-central:schema"
DETAIL_CHARS = 500
# How far ahead of its gate's highest seq a message may be: a gate offline for months with telemetry every
# few seconds, its oldest samples dropped at the gate, skips some hundred thousand seqs, not ten million.
MAX_SEQ_JUMP = 10_000_000


def _prev(event: EventEnvelope) -> int | None:
    """The seq the event says came before it; seq starts at 1, so a prev_seq below 1 names no event."""
    return event.prev_seq if event.prev_seq is not None and event.prev_seq >= 1 else None


@dataclass(frozen=True)
class Result:
    """What a statement did: rows it changed, rows it returned."""

    rowcount: int
    rows: list[tuple[Any, ...]]


class SqlCentralStore(ABC):
    """:class:`central.store.CentralStore` over a SQL connection; a subclass is one database."""

    dialect: ClassVar[sql.Dialect]
    max_seq_jump: int = MAX_SEQ_JUMP  # SeqJump beyond; the constructors take it

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def _transaction(self, write: bool = True) -> AbstractContextManager[None]:
        """One transaction; out of reach: StoreUnavailable, a refused value: MessageUnstorable."""

    @abstractmethod
    def _run(self, statement: str, params: Sequence[Any] = ()) -> Result:
        """Run one of central.sql's statements (in its ``?`` form) inside the current transaction."""

    @abstractmethod
    def _lock(self, key: str) -> None:
        """Serialise the writers of ``key`` until the transaction ends."""

    def _time(self, at: datetime) -> Any:
        return at

    def _id(self, value: UUID | None) -> Any:
        return value

    def _text(self, value: str) -> str:
        return value

    def _create_tables(self) -> None:
        with self._transaction():
            self._lock(SCHEMA_LOCK)
            for statement in (*self.dialect.schema(), *confirmation_sql.schema(self.dialect)):
                self._run(statement)

    def store_event(self, event: EventEnvelope, payload_json: str, receiver: str, at: datetime) -> bool:
        with self._transaction():
            self._lock(f"gate-edge-central:events:{event.gate_id}")
            self._check_seqs([event])
            return self._insert_event(event, payload_json, receiver, at)

    def store_events(
        self, events: Sequence[tuple[EventEnvelope, str]], receiver: str, at: datetime
    ) -> list[bool]:
        """Store a batch in one transaction; each flag says whether that event was new (in given order).

        Gates are locked in sorted order (two instances cannot deadlock). All rows go in first, then the
        gaps they close, then those they open: the end state of storing them one by one in seq order, in a
        few statements (on PostgreSQL one each for the whole batch: central.pg_batch).
        """
        order = sorted(range(len(events)), key=lambda i: (events[i][0].gate_id, events[i][0].seq))
        stored = [False] * len(events)
        with self._transaction():
            self._lock_all([f"gate-edge-central:events:{g}" for g in sorted({e.gate_id for e, _ in events})])
            self._check_seqs([e for e, _ in events])
            rows = [self._event_row(*events[i], receiver, at) for i in order]
            for i, new in zip(order, self._insert_new(sql.INSERT_EVENT, rows), strict=True):
                stored[i] = new
            added = [events[i][0] for i in order if stored[i]]
            owed = [row for e in added if is_exit(e) for row in exit_rows(self, e, at)]
            self._run_many(confirmation_sql.INSERT, owed)  # a passage stored is a confirmation owed
            self._run_many(sql.CLOSE_GAP, [(e.gate_id, e.seq) for e in added])
            when = self._time(at)
            self._run_many(
                sql.OPEN_GAP,
                [(e.gate_id, p, e.seq, when, e.gate_id, p) for e in added if (p := _prev(e)) is not None],
            )
        return stored

    def _check_seqs(self, events: Sequence[EventEnvelope]) -> None:
        """SeqConflict if an event would take a (gate, seq) that another event id holds, stored or earlier in
        ``events``. The caller holds the gates' locks, so two instances cannot both pass the check."""
        by_gate: dict[str, list[EventEnvelope]] = {}
        for event in events:
            by_gate.setdefault(event.gate_id, []).append(event)
        for gate, group in by_gate.items():
            seqs = [e.seq for e in group]
            spans = (
                [(min(seqs), max(seqs))] if max(seqs) - min(seqs) <= 2 * len(seqs) else [(q, q) for q in seqs]
            )
            self._check_jump(gate, sorted(seqs))
            held: dict[int, str] = {}
            for low, high in spans:
                for seq, event_id in self._run(sql.EVENT_IDS_AT_SEQS, (gate, low, high)).rows:
                    held[int(seq)] = str(event_id)
            for event in group:
                owner = held.setdefault(event.seq, str(event.event_id))
                if owner != str(event.event_id):
                    raise SeqConflict(
                        f"gate {gate!r} seq {event.seq} is already event {owner}, not {event.event_id}"
                    )

    def _check_jump(self, gate: str, seqs: Sequence[int]) -> None:
        """SeqJump if a seq (ascending) is more than ``max_seq_jump`` ahead of the gate's highest so far."""
        rows = self._run(sql.HIGHEST_SEQS, (gate, gate)).rows
        highest = max((int(v) for v in rows[0] if v is not None), default=0) if rows else 0
        for seq in seqs:
            if seq > highest + self.max_seq_jump:
                raise SeqJump(
                    f"gate {gate!r} seq {seq} is over {self.max_seq_jump} ahead of its highest, {highest}"
                )
            highest = max(highest, seq)

    def _insert_new(self, statement: str, rows: Sequence[Sequence[Any]]) -> list[bool]:
        """Run an ``INSERT ... ON CONFLICT DO NOTHING`` per row; whether each inserted (one by one here)."""
        return [self._run(statement, row).rowcount > 0 for row in rows]

    def _lock_all(self, keys: Sequence[str]) -> None:
        """Take ``keys``' locks in their order (a backend may ask for them all at once)."""
        for key in keys:
            self._lock(key)

    def _run_many(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run ``statement`` once per row (a backend may send them together)."""
        for row in rows:
            self._run(statement, row)

    def _event_row(
        self, event: EventEnvelope, payload_json: str, receiver: str, at: datetime
    ) -> tuple[Any, ...]:
        return (
            self._id(event.event_id),
            event.gate_id,
            event.seq,
            event.prev_seq,
            self._text(event.kind),
            self._time(event.at),
            payload_json,
            self._time(at),
            receiver,
        )

    def _insert_event(self, event: EventEnvelope, payload_json: str, receiver: str, at: datetime) -> bool:
        """One event inside the caller's transaction, its gate locked; False: its id is known."""
        inserted = self._run(sql.INSERT_EVENT, self._event_row(event, payload_json, receiver, at))
        if inserted.rowcount == 0:
            return False
        record_exits(self, event, at)  # a passage stored is a confirmation owed, in one transaction
        self._run(sql.CLOSE_GAP, (event.gate_id, event.seq))
        prev = _prev(event)
        if prev is not None:
            self._run(sql.OPEN_GAP, (event.gate_id, prev, event.seq, self._time(at), event.gate_id, prev))
        return True

    def store_telemetry(
        self, gate_id: str, seq: int, at: datetime, payload_json: str, received: datetime
    ) -> bool:
        with self._transaction():
            self._check_jump(gate_id, [seq])
            kept = self._run(
                sql.UPSERT_TELEMETRY, (gate_id, seq, self._time(at), payload_json, self._time(received))
            )
            newest = kept.rowcount > 0
            if newest:  # a repeat of the kept sample (QoS 1 resends) is not counted twice
                self._run(sql.COUNT_TELEMETRY, (gate_id, 1, 0, seq))
        return newest

    def count_expired_telemetry(self, gate_id: str, seq: int) -> None:
        with self._transaction():
            self._check_jump(gate_id, [seq])
            self._run(sql.COUNT_TELEMETRY, (gate_id, 0, 1, seq))

    def store_status(
        self, gate_id: str, state: str, at: datetime, version: int | None, received: datetime
    ) -> None:
        with self._transaction():
            self._run(sql.UPSERT_STATUS, (gate_id, state, self._time(at), version, self._time(received)))

    def store_ack(
        self, gate_id: str, command_id: str | None, status: str, detail: str, body: str, at: datetime
    ) -> None:
        with self._transaction():
            self._run(
                sql.INSERT_ACK,
                (
                    gate_id,
                    self._id(UUID(command_id)) if command_id else None,
                    status,
                    self._text(detail),
                    body,
                    self._time(at),
                ),
            )

    def store_rejected(
        self, topic: str, reason: str, detail: str, size: int, at: datetime, retained: str | None = None
    ) -> bool:
        with self._transaction():
            if retained is not None:
                first = self._run(sql.INSERT_REJECTED_RETAINED, (retained, self._text(topic), self._time(at)))
                if first.rowcount == 0:
                    return False
            self._run(
                sql.INSERT_REJECTED,
                (self._text(topic), reason, self._text(detail[:DETAIL_CHARS]), size, self._time(at)),
            )
        return True

    def feed(self, gate_id: str) -> tuple[int, str | None]:
        with self._transaction(write=False):
            rows = self._run(sql.SELECT_FEED, (gate_id,)).rows
        return (0, None) if not rows else (int(rows[0][0]), str(rows[0][1]))

    def advance_feed(self, gate_id: str, at: datetime, step: FeedStep[T]) -> T | None:
        with self._transaction():
            # The row may not exist yet, so a row lock alone would not keep a twin from inserting it.
            self._lock(f"gate-edge-central:feed:{gate_id}")
            rows = self._run(sql.SELECT_FEED, (gate_id,)).rows
            version = int(rows[0][0]) if rows else 0
            outcome = step(version, str(rows[0][1]) if rows else None)
            if outcome is None:
                return None
            declarations, value = outcome
            self._run(sql.UPSERT_FEED, (gate_id, version + 1, declarations, self._time(at)))
        return value

    def report(self) -> dict[str, Any]:
        with self._transaction(write=False):
            return build_report(lambda statement: self._run(statement).rows)
