"""Lane transactions (one vehicle's pass through the lane), their state transitions, and exits.

Every write that changes a transaction can carry a :class:`~edge.store.outbox.NewEvent`; the change and the
event commit in one SQL transaction, so central never hears of a change the gate lost, nor misses one it kept.
A caller that needs several writes to be atomic wraps them in ``with conn:``; each method joins it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from edge.decision import Outcome, Reason
from edge.store.db import (
    StaleStateError,
    StoreConnection,
    StoreError,
    TransactionNotOpenError,
    UnknownTransactionError,
    dump_json,
    from_text,
    load_json,
    opt_from_text,
    placeholders,
    to_text,
)
from edge.store.declarations import ExitRepo
from edge.store.outbox import NewEvent, OutboxEvent, OutboxRepo

INTERRUPTED_STATE = "interrupted"
INTERRUPTED_EVENT = "transaction.interrupted"
MAX_SEARCH = 1000  # keeps the follow-up IN lists far below sqlite's bound-parameter limit


class TxResult(StrEnum):
    """How a transaction ended, as the lane saw it (edge.lane_events.TxResult)."""

    PASSED = "passed"  # the vehicle crossed under the open barrier
    REJECTED = "rejected"  # an officer rejected it and it backed out
    LEFT = "left"  # it left without crossing (backed out, or backed away from an open barrier)
    ABORTED = "aborted"  # ended by a manual open or a recovery, no passage seen
    UNCONFIRMED = "unconfirmed"  # the barrier was open while the lane could not watch it


@dataclass(frozen=True)
class EvidenceImage:
    """One read's evidence image, kept on disk by its SHA-256 (edge/evidence.py)."""

    kind: str  # "plate" or "container"
    text: str  # what was read on it
    sha256: str


class TxStatus(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    INTERRUPTED = "interrupted"  # the daemon stopped (crash, power) while it was open


@dataclass(frozen=True)
class Transition:
    seq: int
    from_state: str
    to_state: str
    cause: str
    at: datetime


@dataclass(frozen=True)
class TransactionRecord:
    """A transaction as stored, with its transitions in order and the exits it recorded."""

    id: str
    lane_id: str
    started_at: datetime
    ended_at: datetime | None
    state: str
    status: TxStatus
    plate: str | None
    plate_confidence: float | None
    containers: tuple[str, ...]
    gross_kg: float | None
    outcome: Outcome | None
    reasons: tuple[Reason, ...]
    declaration_number: str | None
    decided_at: datetime | None
    officer: str | None
    note: str | None
    transitions: tuple[Transition, ...] = ()
    exits: tuple[tuple[str, str], ...] = ()
    unconfirmed_exits: tuple[tuple[str, str], ...] = ()  # see ExitRepo: the declaration counts as used
    result: TxResult | None = None  # None while open, and in rows older than schema 4
    evidence: tuple[EvidenceImage, ...] = ()


_TX_COLUMNS = (
    "id, lane_id, started_at, ended_at, state, status, plate, plate_confidence, containers, gross_kg,"
    " outcome, reasons, declaration_number, decided_at, officer, note, result, evidence"
)


class TransactionRepo:
    """Writes and queries of lane transactions; see the module docstring for the atomicity contract."""

    def __init__(self, conn: StoreConnection) -> None:
        self._conn = conn
        self._outbox = OutboxRepo(conn)
        self._exits = ExitRepo(conn)

    # -- writes -----------------------------------------------------------------------------------------

    def start(
        self,
        tx_id: str,
        lane_id: str,
        at: datetime,
        *,
        state: str = "started",
        event: NewEvent | None = None,
    ) -> OutboxEvent | None:
        """Open a transaction in ``state``; returns the appended event, if one was given."""
        with self._conn:
            try:
                self._conn.execute(
                    "INSERT INTO transactions (id, lane_id, started_at, state, status)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (tx_id, lane_id, to_text(at), state, TxStatus.OPEN.value),
                )
            except sqlite3.IntegrityError as exc:
                raise StoreError(f"transaction {tx_id} already exists") from exc
            return self._append(event, at)

    def record_transition(
        self,
        tx_id: str,
        from_state: str,
        to_state: str,
        cause: str,
        at: datetime,
        event: NewEvent | None = None,
    ) -> OutboxEvent | None:
        """Append a transition and move the transaction to ``to_state``, with its event, atomically.

        Raises :class:`StaleStateError` if ``from_state`` is not the stored state.
        """
        with self._conn:
            current = self._require_open(tx_id)
            if current != from_state:
                raise StaleStateError(f"transaction {tx_id} is in {current!r}, not {from_state!r}")
            self._insert_transition(tx_id, from_state, to_state, cause, at)
            return self._append(event, at)

    def update_identification(
        self,
        tx_id: str,
        at: datetime,
        *,
        plate: str | None = None,
        plate_confidence: float | None = None,
        containers: Sequence[str] | None = None,
        gross_kg: float | None = None,
        evidence: Sequence[EvidenceImage] = (),
        event: NewEvent | None = None,
    ) -> OutboxEvent | None:
        """Set what was read and weighed; a field left as None keeps its stored value.

        `evidence` is added to the images already kept (a correction's reads have none, the camera's stay).
        """
        with self._conn:
            self._require_open(tx_id)
            if evidence:
                self._add_evidence(tx_id, evidence)
            self._conn.execute(
                "UPDATE transactions SET plate = COALESCE(?, plate),"
                " plate_confidence = COALESCE(?, plate_confidence),"
                " containers = COALESCE(?, containers), gross_kg = COALESCE(?, gross_kg) WHERE id = ?",
                (
                    plate,
                    plate_confidence,
                    None if containers is None else dump_json(list(containers)),
                    gross_kg,
                    tx_id,
                ),
            )
            if containers is not None:
                self._conn.execute("DELETE FROM transaction_containers WHERE tx_id = ?", (tx_id,))
                self._conn.executemany(
                    "INSERT OR IGNORE INTO transaction_containers (tx_id, container) VALUES (?, ?)",
                    [(tx_id, container) for container in containers],
                )
            return self._append(event, at)

    def record_decision(
        self,
        tx_id: str,
        outcome: Outcome,
        reasons: Sequence[Reason],
        declaration_number: str | None,
        at: datetime,
        event: NewEvent | None = None,
        *,
        officer: str | None = None,
        note: str | None = None,
    ) -> OutboxEvent | None:
        """Record the (automatic or officer's) decision; a later one replaces an earlier one."""
        with self._conn:
            self._require_open(tx_id)
            self._conn.execute(
                "UPDATE transactions SET outcome = ?, reasons = ?, declaration_number = ?, decided_at = ?,"
                " officer = ?, note = ? WHERE id = ?",
                (
                    outcome.value,
                    dump_json([reason.value for reason in reasons]),
                    declaration_number,
                    to_text(at),
                    officer,
                    note,
                    tx_id,
                ),
            )
            return self._append(event, at)

    def complete(
        self,
        tx_id: str,
        at: datetime,
        exits: Sequence[tuple[str, str]] = (),
        event: NewEvent | None = None,
        *,
        confirmed: bool = True,
        result: TxResult | None = None,
    ) -> OutboxEvent | None:
        """Close the transaction, with how it ended, and record its exits (declaration, container or ''),
        all or nothing.

        `confirmed` False records exits the lane could not see happen (see ExitRepo). Raises
        :class:`DuplicateExitError` and leaves the transaction open if any pair had already exited.
        """
        with self._conn:
            self._require_open(tx_id)
            self._exits.record(tx_id, exits, at, confirmed=confirmed)
            self._conn.execute(
                "UPDATE transactions SET status = ?, ended_at = ?, result = ? WHERE id = ?",
                (TxStatus.COMPLETED.value, to_text(at), None if result is None else result.value, tx_id),
            )
            return self._append(event, at)

    def mark_interrupted_open(self, at: datetime, cause: str = "restart") -> list[str]:
        """At start-up: each open transaction becomes interrupted, with a transition and an event, atomically.

        Returns the ids marked, oldest first.
        """
        marked: list[str] = []
        with self._conn:
            rows = self._conn.execute(
                "SELECT id, lane_id, state FROM transactions WHERE status = 'open' ORDER BY started_at, id"
            ).fetchall()
            for tx_id, lane_id, state in rows:
                self._insert_transition(tx_id, state, INTERRUPTED_STATE, cause, at)
                self._conn.execute(
                    "UPDATE transactions SET status = ?, ended_at = ? WHERE id = ?",
                    (TxStatus.INTERRUPTED.value, to_text(at), tx_id),
                )
                payload = {
                    "tx_id": tx_id,
                    "lane_id": lane_id,
                    "from_state": state,
                    "cause": cause,
                    "at": to_text(at),
                }
                self._outbox.append(INTERRUPTED_EVENT, payload, at, critical=True)
                marked.append(str(tx_id))
        return marked

    # -- reads ------------------------------------------------------------------------------------------

    def get(self, tx_id: str) -> TransactionRecord | None:
        row = self._conn.execute(
            f"SELECT {_TX_COLUMNS} FROM transactions WHERE id = ?",  # noqa: S608 - fixed column list
            (tx_id,),
        ).fetchone()
        return None if row is None else self._hydrate([row])[0]

    def search(
        self,
        plate: str | None = None,
        container: str | None = None,
        declaration: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        result: TxResult | None = None,
    ) -> list[TransactionRecord]:
        """Transactions matching every given filter, newest first; ``since`` inclusive, ``until`` exclusive.

        Times filter on ``started_at``; ``limit`` is capped at :data:`MAX_SEARCH`.
        """
        clauses: list[str] = []
        params: list[object] = []
        if plate is not None:
            clauses.append("plate = ?")
            params.append(plate)
        if container is not None:
            clauses.append("id IN (SELECT tx_id FROM transaction_containers WHERE container = ?)")
            params.append(container)
        if declaration is not None:
            clauses.append("declaration_number = ?")
            params.append(declaration)
        if result is not None:
            clauses.append("result = ?")
            params.append(result.value)
        if since is not None:
            clauses.append("started_at >= ?")
            params.append(to_text(since))
        if until is not None:
            clauses.append("started_at < ?")
            params.append(to_text(until))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._conn.execute(
            # Only the fixed clause strings above reach the SQL text; every value is a bound parameter.
            f"SELECT {_TX_COLUMNS} FROM transactions {where} ORDER BY started_at DESC, id LIMIT ?",  # noqa: S608
            (*params, min(max(0, limit), MAX_SEARCH)),
        ).fetchall()
        return self._hydrate(rows)

    def open_transactions(self) -> list[TransactionRecord]:
        """Transactions still open, oldest first."""
        rows = self._conn.execute(
            f"SELECT {_TX_COLUMNS} FROM transactions WHERE status = 'open' ORDER BY started_at, id"  # noqa: S608 - fixed column list
        ).fetchall()
        return self._hydrate(rows)

    # -- internals --------------------------------------------------------------------------------------

    def _require_open(self, tx_id: str) -> str:
        row = self._conn.execute("SELECT state, status FROM transactions WHERE id = ?", (tx_id,)).fetchone()
        if row is None:
            raise UnknownTransactionError(f"no transaction {tx_id}")
        state, status = row
        if status != TxStatus.OPEN.value:
            raise TransactionNotOpenError(f"transaction {tx_id} is {status}")
        return str(state)

    def _insert_transition(
        self, tx_id: str, from_state: str, to_state: str, cause: str, at: datetime
    ) -> None:
        self._conn.execute(
            "INSERT INTO transitions (tx_id, seq, from_state, to_state, cause, at)"
            " SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, ?, ?, ? FROM transitions WHERE tx_id = ?",
            (tx_id, from_state, to_state, cause, to_text(at), tx_id),
        )
        self._conn.execute("UPDATE transactions SET state = ? WHERE id = ?", (to_state, tx_id))

    def _add_evidence(self, tx_id: str, evidence: Sequence[EvidenceImage]) -> None:
        row = self._conn.execute("SELECT evidence FROM transactions WHERE id = ?", (tx_id,)).fetchone()
        kept = _evidence(row[0])
        known = {image.sha256 for image in kept}
        for image in evidence:
            if image.sha256 not in known:
                kept.append(image)
                known.add(image.sha256)
        self._conn.execute(
            "UPDATE transactions SET evidence = ? WHERE id = ?",
            (dump_json([{"kind": i.kind, "text": i.text, "sha256": i.sha256} for i in kept]), tx_id),
        )

    def _append(self, event: NewEvent | None, at: datetime) -> OutboxEvent | None:
        return None if event is None else self._outbox.add(event, at)

    def _hydrate(self, rows: Sequence[tuple[Any, ...]]) -> list[TransactionRecord]:
        if not rows:
            return []
        ids = [str(row[0]) for row in rows]
        transitions: dict[str, list[Transition]] = {tx_id: [] for tx_id in ids}
        exits: dict[str, list[tuple[str, str]]] = {tx_id: [] for tx_id in ids}
        unconfirmed: dict[str, list[tuple[str, str]]] = {tx_id: [] for tx_id in ids}
        marks = placeholders(len(ids))
        for tx_id, seq, from_state, to_state, cause, at in self._conn.execute(
            "SELECT tx_id, seq, from_state, to_state, cause, at FROM transitions"  # noqa: S608 - '?' marks only
            f" WHERE tx_id IN ({marks}) ORDER BY tx_id, seq",
            ids,
        ):
            transitions[tx_id].append(Transition(seq, from_state, to_state, cause, from_text(at)))
        for tx_id, decl, container, confirmed in self._conn.execute(
            "SELECT tx_id, declaration_number, container, confirmed FROM exits"  # noqa: S608 - '?' marks only
            f" WHERE tx_id IN ({marks}) ORDER BY tx_id, declaration_number, container",
            ids,
        ):
            (exits if confirmed else unconfirmed)[tx_id].append((decl, container))
        return [
            _row_to_record(row, transitions[str(row[0])], exits[str(row[0])], unconfirmed[str(row[0])])
            for row in rows
        ]


def _row_to_record(
    row: tuple[Any, ...],
    transitions: list[Transition],
    exits: list[tuple[str, str]],
    unconfirmed: list[tuple[str, str]],
) -> TransactionRecord:
    (
        tx_id,
        lane_id,
        started_at,
        ended_at,
        state,
        status,
        plate,
        plate_confidence,
        containers,
        gross_kg,
        outcome,
        reasons,
        declaration_number,
        decided_at,
        officer,
        note,
        result,
        evidence,
    ) = row
    return TransactionRecord(
        id=tx_id,
        lane_id=lane_id,
        started_at=from_text(started_at),
        ended_at=opt_from_text(ended_at),
        state=state,
        status=TxStatus(status),
        plate=plate,
        plate_confidence=plate_confidence,
        containers=tuple(load_json(containers)),
        gross_kg=gross_kg,
        outcome=None if outcome is None else Outcome(outcome),
        reasons=tuple(Reason(reason) for reason in load_json(reasons)),
        declaration_number=declaration_number,
        decided_at=opt_from_text(decided_at),
        officer=officer,
        note=note,
        transitions=tuple(transitions),
        exits=tuple(exits),
        unconfirmed_exits=tuple(unconfirmed),
        result=_result(result),
        evidence=tuple(_evidence(evidence)),
    )


def _result(stored: str | None) -> TxResult | None:
    """The stored result; one this version does not know reads as unknown (None) rather than failing."""
    try:
        return None if stored is None else TxResult(stored)
    except ValueError:
        return None


def _evidence(stored: str | None) -> list[EvidenceImage]:
    """The kept images, skipping any entry that is not a {kind, text, sha256} object of strings."""
    try:
        items = load_json(stored) if stored else []
    except ValueError:
        return []
    images = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and all(isinstance(item.get(k), str) for k in ("kind", "text", "sha256")):
            images.append(EvidenceImage(item["kind"], item["text"], item["sha256"]))
    return images
