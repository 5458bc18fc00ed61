"""The reference central's database: events stored once, sequence gaps, gate status, clearance feeds.

:class:`CentralStore` is what central needs of a database; :class:`SqliteCentralStore` (here) and
``sync.central_pg.PostgresCentralStore`` provide it with the same tables and the same meaning. Several central
instances may share one database: ``event_id`` is unique, so an event delivered twice (to one instance or to
two) is stored once, and each backend serialises the writes that read before they write (the gap check, the
feed version) per gate, so two instances cannot both miss each other's rows.

SQLite: every write is one ``BEGIN IMMEDIATE`` transaction (sqlite's write lock, waited for up to the busy
timeout). WAL with ``synchronous=NORMAL``: a committed event survives a crash of the process, not of the
machine; a production central runs on PostgreSQL, which is durable against power loss as well.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

from sync.contract import EventEnvelope

T = TypeVar("T")

# A step of a gate's clearance feed: given the version and declarations (JSON text) central last sent, the
# declarations to record at the next version and a value for the caller; None: nothing to record.
FeedStep = Callable[[int, str | None], tuple[str, T] | None]


class StoreUnavailable(Exception):
    """The database cannot be reached or written just now (down, locked, full); worth trying again later.

    The message names the database (a URL without its password) and the reason, for a log line or the CLI.
    """


class CentralStore(Protocol):
    """Central's database: one connection, used by one thread at a time (each instance opens its own).

    Writes raise :class:`StoreUnavailable` when the database is out of reach; each write is one transaction,
    so a write that failed may be repeated whole.
    """

    def close(self) -> None: ...

    def store_event(self, event: EventEnvelope, payload_json: str, receiver: str, at: datetime) -> bool:
        """Store an event unless its id is known; keep the gap list in step. True if it was new."""
        ...

    def store_telemetry(
        self, gate_id: str, seq: int, at: datetime, payload_json: str, received: datetime
    ) -> None:
        """Keep the gate's latest telemetry sample (by seq; an older one arriving late changes nothing)."""
        ...

    def store_status(
        self, gate_id: str, state: str, at: datetime, version: int | None, received: datetime
    ) -> None:
        """Keep the gate's last status message."""
        ...

    def store_ack(
        self, gate_id: str, command_id: str | None, status: str, detail: str, body: str, at: datetime
    ) -> None:
        """Append a command acknowledgement."""
        ...

    def store_invalid(self, topic: str, detail: str, size: int, at: datetime) -> None:
        """Record a message that was rejected (its topic, why, its size; never its content)."""
        ...

    def feed(self, gate_id: str) -> tuple[int, str | None]:
        """The gate's feed version (0 if none) and its declarations as JSON text."""
        ...

    def advance_feed(self, gate_id: str, at: datetime, step: FeedStep[T]) -> T | None:
        """Run ``step`` on the gate's feed and record what it returns at the next version, atomically.

        No other writer changes the gate's feed in between, whichever instance it runs in.
        """
        ...

    def report(self) -> dict[str, Any]:
        """Per gate: events stored, highest seq, unresolved gaps; and invalid messages seen."""
        ...


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

_TABLES = tuple(s.split()[5] for s in _SCHEMA if s.startswith("CREATE TABLE"))

# Primary result codes that say "not now" rather than "this is wrong": busy, locked, I/O error, disk full,
# cannot open. Anything else (a bad statement, a constraint) is a bug and is not retried.
_TRANSIENT = {5, 6, 10, 13, 14}
BUSY_TIMEOUT_S = 30.0


def _transient(exc: sqlite3.Error) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and (exc.sqlite_errorcode & 0xFF) in _TRANSIENT


class SqliteCentralStore:
    """:class:`CentralStore` in one SQLite file (the default, and the demo's)."""

    def __init__(self, path: Path | str, *, create: bool = True) -> None:
        """Open (and with `create`, create) central's database; `create=False` opens only an existing
        file holding central's tables, so that a reader (the report) never leaves an empty database behind
        a misspelt path."""
        self.path = str(path)
        try:
            # Not bound to the opening thread: an instance opens it on paho's thread and closes it after
            # that thread has ended. It is never used by two threads at once.
            self.conn = sqlite3.connect(
                self.path if create else f"file:{quote(str(Path(path).absolute()))}?mode=rw",
                isolation_level=None,
                timeout=BUSY_TIMEOUT_S,
                check_same_thread=False,
                uri=not create,
            )
            if not create:
                self._check_tables()
                return
            self._wal()
            self.conn.execute("PRAGMA synchronous = NORMAL")
            with self.write():
                for statement in _SCHEMA:
                    self.conn.execute(statement)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"database {self.path}: {exc}") from None

    def _check_tables(self) -> None:
        """StoreUnavailable (closed) unless every table of central's schema is there."""
        found = {name for (name,) in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = [name for name in _TABLES if name not in found]
        if missing:
            self.conn.close()
            raise StoreUnavailable(
                f"database {self.path}: not central's database (no table {', '.join(missing)})"
            )

    def _wal(self) -> None:
        # Two instances opening a new file at once: switching it to WAL answers "busy" at once rather than
        # waiting for the busy timeout, so wait here.
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                self.conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction holding sqlite's write lock from its start."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")
        except OverflowError as exc:  # an integer beyond SQLite's 64 bits, e.g. a forged seq
            raise ValueError(f"cannot store the message: {exc}") from None
        except sqlite3.Error as exc:
            if not _transient(exc):
                raise
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise StoreUnavailable(f"database {self.path}: {exc}") from None

    def close(self) -> None:
        self.conn.close()

    def store_event(self, event: EventEnvelope, payload_json: str, receiver: str, at: datetime) -> bool:
        gate, seq = event.gate_id, event.seq
        with self.write() as conn:
            cursor = conn.execute(
                "INSERT INTO events (event_id, gate_id, seq, prev_seq, kind, at, payload, received_at,"
                " receiver) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING",
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
                    "INSERT INTO gaps (gate_id, missing_seq, noticed_seq, noticed_at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT DO NOTHING",
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
        row = self.conn.execute(
            "SELECT version, declarations FROM feeds WHERE gate_id = ?", (gate_id,)
        ).fetchone()
        return (0, None) if row is None else (int(row[0]), str(row[1]))

    def advance_feed(self, gate_id: str, at: datetime, step: FeedStep[T]) -> T | None:
        with self.write() as conn:  # BEGIN IMMEDIATE: no other writer until this commits
            row = conn.execute(
                "SELECT version, declarations FROM feeds WHERE gate_id = ?", (gate_id,)
            ).fetchone()
            version = 0 if row is None else int(row[0])
            outcome = step(version, None if row is None else str(row[1]))
            if outcome is None:
                return None
            declarations, value = outcome
            conn.execute(
                "INSERT INTO feeds (gate_id, version, declarations, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (gate_id) DO UPDATE SET version = excluded.version,"
                " declarations = excluded.declarations, updated_at = excluded.updated_at",
                (gate_id, version + 1, declarations, at.isoformat()),
            )
        return value

    def report(self) -> dict[str, Any]:
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
