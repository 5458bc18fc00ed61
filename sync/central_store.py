"""The reference central's SQLite database: events stored once, sequence gaps, gate status, clearance feeds.

Several central instances may share one database file: every write is one ``BEGIN IMMEDIATE`` transaction
(sqlite's write lock, waited for up to the busy timeout), and ``event_id`` is UNIQUE, so an event delivered
twice (to one instance or to two) is stored once. WAL with ``synchronous=NORMAL``: a committed event survives
a crash of the process; a production central on PostgreSQL would be durable against power loss as well.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sync.contract import EventEnvelope

_SCHEMA = (
    # id gives the arrival order, which the tests check against seq.
    "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE,"
    " gate_id TEXT NOT NULL, seq INTEGER NOT NULL, prev_seq INTEGER, kind TEXT NOT NULL, at TEXT NOT NULL,"
    " payload TEXT NOT NULL, received_at TEXT NOT NULL, receiver TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS events_by_gate_seq ON events (gate_id, seq)",
    "CREATE TABLE IF NOT EXISTS gaps (gate_id TEXT NOT NULL, missing_seq INTEGER NOT NULL,"
    " noticed_seq INTEGER NOT NULL, noticed_at TEXT NOT NULL, PRIMARY KEY (gate_id, missing_seq))",
    "CREATE TABLE IF NOT EXISTS telemetry (gate_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, at TEXT NOT NULL,"
    " payload TEXT NOT NULL, received_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS gate_status (gate_id TEXT PRIMARY KEY, state TEXT NOT NULL, at TEXT NOT NULL,"
    " clearance_version INTEGER, received_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS feeds (gate_id TEXT PRIMARY KEY, version INTEGER NOT NULL,"
    " declarations TEXT NOT NULL, updated_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS acks (id INTEGER PRIMARY KEY AUTOINCREMENT, gate_id TEXT NOT NULL,"
    " command_id TEXT, status TEXT NOT NULL, detail TEXT NOT NULL, body TEXT NOT NULL,"
    " received_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS invalid (id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL,"
    " detail TEXT NOT NULL, size INTEGER NOT NULL, received_at TEXT NOT NULL)",
)


class CentralStore:
    """One connection, used by one thread at a time (each central instance opens its own)."""

    def __init__(self, path: Path | str) -> None:
        # Not bound to the opening thread: an instance opens it on paho's thread and closes it after that
        # thread has ended. It is never used by two threads at once.
        self.conn = sqlite3.connect(str(path), isolation_level=None, timeout=30.0, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = NORMAL")
        with self.write():
            for statement in _SCHEMA:
                self.conn.execute(statement)

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction holding sqlite's write lock from its start."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()

    def store_event(self, event: EventEnvelope, payload_json: str, receiver: str, at: datetime) -> bool:
        """Store an event unless its id is known; keep the gap list in step. True if it was new."""
        gate, seq = event.gate_id, event.seq
        with self.write() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO events (event_id, gate_id, seq, prev_seq, kind, at, payload,"
                " received_at, receiver) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    str(event.event_id),
                    gate,
                    seq,
                    event.prev_seq,
                    event.kind,
                    event.at.isoformat(),
                    payload_json,
                    at.isoformat(),
                    receiver,
                ),
            )
            if cursor.rowcount == 0:
                return False
            conn.execute("DELETE FROM gaps WHERE gate_id = ? AND missing_seq = ?", (gate, seq))
            prev = event.prev_seq
            if prev is not None and not self._has_seq(gate, prev):
                conn.execute(
                    "INSERT OR IGNORE INTO gaps (gate_id, missing_seq, noticed_seq, noticed_at)"
                    " VALUES (?, ?, ?, ?)",
                    (gate, prev, seq, at.isoformat()),
                )
        return True

    def _has_seq(self, gate_id: str, seq: int) -> bool:
        row = self.conn.execute(
            "SELECT 1 FROM events WHERE gate_id = ? AND seq = ?", (gate_id, seq)
        ).fetchone()
        return row is not None

    def store_telemetry(
        self, gate_id: str, seq: int, at: datetime, payload_json: str, received: datetime
    ) -> None:
        with self.write() as conn:
            conn.execute(
                "INSERT INTO telemetry (gate_id, seq, at, payload, received_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (gate_id) DO UPDATE SET seq = excluded.seq, at = excluded.at,"
                " payload = excluded.payload, received_at = excluded.received_at"
                " WHERE excluded.seq > telemetry.seq",
                (gate_id, seq, at.isoformat(), payload_json, received.isoformat()),
            )

    def store_status(
        self, gate_id: str, state: str, at: datetime, version: int | None, received: datetime
    ) -> None:
        with self.write() as conn:
            conn.execute(
                "INSERT INTO gate_status (gate_id, state, at, clearance_version, received_at)"
                " VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (gate_id) DO UPDATE SET state = excluded.state, at = excluded.at,"
                " clearance_version = excluded.clearance_version, received_at = excluded.received_at",
                (gate_id, state, at.isoformat(), version, received.isoformat()),
            )

    def store_ack(
        self, gate_id: str, command_id: str | None, status: str, detail: str, body: str, at: datetime
    ) -> None:
        with self.write() as conn:
            conn.execute(
                "INSERT INTO acks (gate_id, command_id, status, detail, body, received_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (gate_id, command_id, status, detail, body, at.isoformat()),
            )

    def store_invalid(self, topic: str, detail: str, size: int, at: datetime) -> None:
        with self.write() as conn:
            conn.execute(
                "INSERT INTO invalid (topic, detail, size, received_at) VALUES (?, ?, ?, ?)",
                (topic, detail[:500], size, at.isoformat()),
            )

    def feed(self, gate_id: str) -> tuple[int, str | None]:
        """The gate's feed version (0 if none) and its declarations as JSON text."""
        row = self.conn.execute(
            "SELECT version, declarations FROM feeds WHERE gate_id = ?", (gate_id,)
        ).fetchone()
        return (0, None) if row is None else (int(row[0]), str(row[1]))

    def report(self) -> dict[str, Any]:
        """Per gate: events stored, highest seq, unresolved gaps; and invalid messages seen."""
        gates: dict[str, Any] = {}
        for gate, count, high in self.conn.execute(
            "SELECT gate_id, COUNT(*), MAX(seq) FROM events GROUP BY gate_id ORDER BY gate_id"
        ):
            gaps = [
                r[0]
                for r in self.conn.execute(
                    "SELECT missing_seq FROM gaps WHERE gate_id = ? ORDER BY 1", (gate,)
                )
            ]
            gates[gate] = {"events": count, "max_seq": high, "gaps": gaps}
        invalid = int(self.conn.execute("SELECT COUNT(*) FROM invalid").fetchone()[0])
        return {"gates": gates, "invalid_messages": invalid}
