"""The outbox: events for central, written in the same SQL transaction as the state change they report.

An event is appended inside the writer's transaction (``with conn:``), so a crash leaves either both the
change and its event or neither. ``seq`` is monotonic per gate and never reused (AUTOINCREMENT);
``event_id`` is a UUID the receiver de-duplicates on. Critical (transaction) events are kept until
delivered; telemetry may be dropped oldest-first when the link is down long enough to matter, leaving gaps
in ``seq``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from edge.store.db import (
    JsonObject,
    StoreConnection,
    dump_json,
    from_text,
    load_json,
    opt_from_text,
    placeholders,
    to_text,
)

_CHUNK = 500  # below sqlite's bound-parameter limit with room to spare


@dataclass(frozen=True)
class NewEvent:
    """An event to append together with a state change (see :class:`~edge.store.TransactionRepo`)."""

    kind: str
    payload: Mapping[str, Any]
    critical: bool = True


@dataclass(frozen=True)
class OutboxEvent:
    """An event as stored, with the gate-local ``seq`` it will be delivered in."""

    seq: int
    event_id: str
    kind: str
    payload: JsonObject
    created_at: datetime
    critical: bool
    delivered_at: datetime | None = None


_COLUMNS = "seq, event_id, kind, payload, created_at, critical, delivered_at"


def _row_to_event(row: tuple[Any, ...]) -> OutboxEvent:
    seq, event_id, kind, payload, created_at, critical, delivered_at = row
    return OutboxEvent(
        seq=int(seq),
        event_id=str(event_id),
        kind=str(kind),
        payload=load_json(payload),
        created_at=from_text(created_at),
        critical=bool(critical),
        delivered_at=opt_from_text(delivered_at),
    )


class OutboxRepo:
    """Append, read and retire outbox events; each write joins the caller's ``with conn:`` if one is open."""

    def __init__(self, conn: StoreConnection) -> None:
        self._conn = conn

    def append(
        self, kind: str, payload: Mapping[str, Any], at: datetime, critical: bool = True
    ) -> OutboxEvent:
        """Append one event; inside a caller's ``with conn:`` it commits (or rolls back) with the caller."""
        if not kind:
            raise ValueError("outbox event kind must not be empty")
        text = dump_json(dict(payload))
        event_id = str(uuid.uuid4())
        created_at = to_text(at)
        with self._conn:
            cursor = self._conn.execute(
                "INSERT INTO outbox (event_id, kind, payload, created_at, critical) VALUES (?, ?, ?, ?, ?)",
                (event_id, kind, text, created_at, int(critical)),
            )
        seq = cursor.lastrowid
        if seq is None:  # pragma: no cover - sqlite always sets it after an INSERT into a rowid table
            raise RuntimeError("sqlite returned no rowid for the outbox insert")
        return OutboxEvent(seq, event_id, kind, load_json(text), from_text(created_at), critical)

    def add(self, event: NewEvent, at: datetime) -> OutboxEvent:
        """Append a prepared :class:`NewEvent`."""
        return self.append(event.kind, event.payload, at, event.critical)

    def get(self, seq: int) -> OutboxEvent | None:
        row = self._conn.execute(f"SELECT {_COLUMNS} FROM outbox WHERE seq = ?", (seq,)).fetchone()  # noqa: S608 - fixed column list
        return None if row is None else _row_to_event(row)

    def pending(self, after_seq: int = 0, limit: int = 500) -> list[OutboxEvent]:
        """Undelivered events after ``after_seq``, oldest first: the order central must apply them in."""
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM outbox WHERE delivered_at IS NULL AND seq > ? ORDER BY seq LIMIT ?",  # noqa: S608 - fixed column list
            (after_seq, limit),
        ).fetchall()
        return [_row_to_event(row) for row in rows]

    def mark_delivered(self, seqs: Iterable[int], at: datetime) -> int:
        """Record that central acknowledged these events; returns how many were newly marked."""
        wanted = sorted(set(seqs))
        delivered_at = to_text(at)
        marked = 0
        with self._conn:
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                marks = placeholders(len(chunk))
                cursor = self._conn.execute(
                    "UPDATE outbox SET delivered_at = ?"  # noqa: S608 - only '?' marks are interpolated
                    f" WHERE delivered_at IS NULL AND seq IN ({marks})",
                    (delivered_at, *chunk),
                )
                marked += cursor.rowcount
        return marked

    def previous_event_seq(self, before_seq: int) -> int | None:
        """The newest critical event's seq below ``before_seq`` still stored: the next one's ``prev_seq``."""
        row = self._conn.execute(
            "SELECT MAX(seq) FROM outbox WHERE critical = 1 AND seq < ?", (before_seq,)
        ).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def depth(self) -> int:
        """How many events wait for delivery."""
        row = self._conn.execute("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL").fetchone()
        return int(row[0])

    def oldest_pending_at(self) -> datetime | None:
        """When the oldest undelivered event was created: how stale central's view of this gate is."""
        row = self._conn.execute(
            "SELECT created_at FROM outbox WHERE delivered_at IS NULL ORDER BY seq LIMIT 1"
        ).fetchone()
        return None if row is None else from_text(row[0])

    def drop_telemetry_oldest(self, keep: int) -> int:
        """Delete undelivered telemetry beyond the newest ``keep``; transaction events are never dropped."""
        if keep < 0:
            raise ValueError(f"keep must be >= 0, got {keep}")
        with self._conn:
            cursor = self._conn.execute(
                "DELETE FROM outbox WHERE seq IN ("
                " SELECT seq FROM outbox WHERE delivered_at IS NULL AND critical = 0"
                " ORDER BY seq DESC LIMIT -1 OFFSET ?)",
                (keep,),
            )
        return cursor.rowcount

    def purge_delivered(self, before: datetime) -> int:
        """Delete events delivered before ``before`` so the database does not grow without bound."""
        with self._conn:
            cursor = self._conn.execute(
                "DELETE FROM outbox WHERE delivered_at IS NOT NULL AND delivered_at < ?", (to_text(before),)
            )
        return cursor.rowcount

    def last_seq(self) -> int:
        """The highest seq ever issued (0 if none), even if that row has since been deleted."""
        row = self._conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").fetchone()
        return 0 if row is None else int(row[0])
