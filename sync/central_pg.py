"""The reference central's database on PostgreSQL: SQLite's tables and meaning, for many machines.

Given a ``postgresql://`` URL (libpq's syntax; pick a schema with ``?options=-csearch_path%3Dcentral``), every
instance of a shared-subscription group writes to one database. ``event_id`` is UNIQUE and events are
inserted with ``ON CONFLICT (event_id) DO NOTHING``, so a duplicate is dropped whichever instance receives it.
The writes that read before they write take a per-gate transaction-level advisory lock first: under READ
COMMITTED, two instances storing seq 2 and seq 3 at once would otherwise each miss the other's uncommitted
row, and a gap would be recorded for an event that is there.

Columns have PostgreSQL's own types (uuid, timestamptz, json), so customs IT can query them as such. JSON
columns are ``json``, not ``jsonb``: they keep the text the gate sent, and ``jsonb`` refuses ``\\u0000``.

The connection is used by one thread at a time and runs in autocommit with explicit transactions. A lost
connection, a server shutting down, a serialisation failure: :class:`~sync.central_store.StoreUnavailable`;
the caller drops the store and opens a new one later.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow

from sync.central_store import FeedStep, StoreUnavailable, T
from sync.contract import EventEnvelope

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " event_id uuid NOT NULL UNIQUE, gate_id text NOT NULL, seq bigint NOT NULL, prev_seq bigint,"
    " kind text NOT NULL, at timestamptz NOT NULL, payload json NOT NULL, received_at timestamptz NOT NULL,"
    " receiver text NOT NULL)",
    "CREATE INDEX IF NOT EXISTS events_by_gate_seq ON events (gate_id, seq)",
    "CREATE TABLE IF NOT EXISTS gaps (gate_id text NOT NULL, missing_seq bigint NOT NULL,"
    " noticed_seq bigint NOT NULL, noticed_at timestamptz NOT NULL, PRIMARY KEY (gate_id, missing_seq))",
    "CREATE TABLE IF NOT EXISTS telemetry (gate_id text PRIMARY KEY, seq bigint NOT NULL,"
    " at timestamptz NOT NULL, payload json NOT NULL, received_at timestamptz NOT NULL)",
    "CREATE TABLE IF NOT EXISTS gate_status (gate_id text PRIMARY KEY, state text NOT NULL,"
    " at timestamptz NOT NULL, clearance_version bigint, received_at timestamptz NOT NULL)",
    "CREATE TABLE IF NOT EXISTS feeds (gate_id text PRIMARY KEY, version bigint NOT NULL,"
    " declarations json NOT NULL, updated_at timestamptz NOT NULL)",
    "CREATE TABLE IF NOT EXISTS acks (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " gate_id text NOT NULL, command_id uuid, status text NOT NULL, detail text NOT NULL, body json NOT NULL,"
    " received_at timestamptz NOT NULL)",
    "CREATE TABLE IF NOT EXISTS invalid (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " topic text NOT NULL, detail text NOT NULL, size integer NOT NULL, received_at timestamptz NOT NULL)",
)

# Advisory lock keys: one for creating the schema (CREATE TABLE IF NOT EXISTS is not safe against a
# concurrent twin), and per gate for its events and for its feed. A hash collision only serialises two
# gates' writes, which is harmless.
_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))"

CONNECT_TIMEOUT_S = 10


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def check_url(url: str) -> None:
    """Raise ValueError, naming the problem but not the password, if ``url`` is not a PostgreSQL URL."""
    if not is_postgres_url(url):
        raise ValueError(f"not a postgresql:// URL: {redact(url)}")
    try:
        conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise ValueError(f"malformed database URL {redact(url)}: {_reason(exc)}") from None


def url_has_password(url: str) -> bool:
    return bool(conninfo_to_dict(url).get("password"))


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    # Up to the last '@': a password may hold an unescaped '@' or '/', and hiding too much is safe.
    url = re.sub(r"^([a-z]+://[^:@/]*):.*@(?=[^@]*$)", r"\1:***@", url)
    return re.sub(r"([?&]password=)[^&]*", r"\1***", url)


def _reason(exc: BaseException) -> str:
    """libpq's message on one line (it spreads hints over several)."""
    return " ".join(str(exc).split()) or type(exc).__name__


def _text(value: str) -> str:
    """PostgreSQL text cannot hold NUL, which JSON may carry escaped in a free-text field."""
    return value.replace("\x00", "\ufffd")


class PostgresCentralStore:
    """:class:`~sync.central_store.CentralStore` in PostgreSQL (several instances, one database)."""

    def __init__(self, url: str, application_name: str = "gate-edge-central") -> None:
        check_url(url)
        self.url = redact(url)
        given = conninfo_to_dict(url)
        extra: dict[str, Any] = {}
        if "connect_timeout" not in given:
            extra["connect_timeout"] = CONNECT_TIMEOUT_S
        if "application_name" not in given:
            extra["application_name"] = application_name
        try:
            self.conn: psycopg.Connection[TupleRow] = psycopg.connect(url, autocommit=True, **extra)
        except psycopg.Error as exc:
            raise StoreUnavailable(f"database {self.url}: cannot connect: {_reason(exc)}") from None
        try:
            with self.conn.transaction():
                self.conn.execute(_LOCK, ("gate-edge-central:schema",))
                for statement in _SCHEMA:
                    self.conn.execute(statement)
        except psycopg.Error as exc:
            self.conn.close()
            # e.g. a search_path naming no existing schema: the operator must fix the URL or the database.
            raise StoreUnavailable(
                f"database {self.url}: cannot create central's tables: {_reason(exc)}"
            ) from None

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection[TupleRow]]:
        """One transaction. Connection trouble: StoreUnavailable; a value PostgreSQL refuses: ValueError."""
        try:
            with self.conn.transaction():
                yield self.conn
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            raise StoreUnavailable(f"database {self.url}: {_reason(exc)}") from None
        except psycopg.DataError as exc:  # e.g. a seq beyond bigint
            raise ValueError(f"cannot store the message: {_reason(exc)}") from None

    def close(self) -> None:
        self.conn.close()

    def store_event(self, event: EventEnvelope, payload_json: str, receiver: str, at: datetime) -> bool:
        gate, seq = event.gate_id, event.seq
        with self._transaction() as conn:
            conn.execute(_LOCK, (f"gate-edge-central:events:{gate}",))
            cursor = conn.execute(
                "INSERT INTO events (event_id, gate_id, seq, prev_seq, kind, at, payload, received_at,"
                " receiver) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (event_id) DO NOTHING",
                (
                    event.event_id,
                    gate,
                    seq,
                    event.prev_seq,
                    _text(event.kind),
                    event.at,
                    payload_json,
                    at,
                    receiver,
                ),
            )
            if cursor.rowcount == 0:
                return False
            conn.execute("DELETE FROM gaps WHERE gate_id = %s AND missing_seq = %s", (gate, seq))
            prev = event.prev_seq
            if prev is not None:
                conn.execute(
                    "INSERT INTO gaps (gate_id, missing_seq, noticed_seq, noticed_at)"
                    " SELECT %s, %s, %s, %s WHERE NOT EXISTS"
                    " (SELECT 1 FROM events WHERE gate_id = %s AND seq = %s) ON CONFLICT DO NOTHING",
                    (gate, prev, seq, at, gate, prev),
                )
        return True

    def store_telemetry(
        self, gate_id: str, seq: int, at: datetime, payload_json: str, received: datetime
    ) -> None:
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO telemetry (gate_id, seq, at, payload, received_at) VALUES (%s, %s, %s, %s, %s)"
                " ON CONFLICT (gate_id) DO UPDATE SET seq = excluded.seq, at = excluded.at,"
                " payload = excluded.payload, received_at = excluded.received_at"
                " WHERE excluded.seq > telemetry.seq",
                (gate_id, seq, at, payload_json, received),
            )

    def store_status(
        self, gate_id: str, state: str, at: datetime, version: int | None, received: datetime
    ) -> None:
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO gate_status (gate_id, state, at, clearance_version, received_at)"
                " VALUES (%s, %s, %s, %s, %s)"
                " ON CONFLICT (gate_id) DO UPDATE SET state = excluded.state, at = excluded.at,"
                " clearance_version = excluded.clearance_version, received_at = excluded.received_at",
                (gate_id, state, at, version, received),
            )

    def store_ack(
        self, gate_id: str, command_id: str | None, status: str, detail: str, body: str, at: datetime
    ) -> None:
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO acks (gate_id, command_id, status, detail, body, received_at)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                (gate_id, command_id, status, _text(detail), body, at),
            )

    def store_invalid(self, topic: str, detail: str, size: int, at: datetime) -> None:
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO invalid (topic, detail, size, received_at) VALUES (%s, %s, %s, %s)",
                (_text(topic), _text(detail[:500]), size, at),
            )

    def feed(self, gate_id: str) -> tuple[int, str | None]:
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT version, declarations::text FROM feeds WHERE gate_id = %s", (gate_id,)
            ).fetchone()
        return (0, None) if row is None else (int(row[0]), str(row[1]))

    def advance_feed(self, gate_id: str, at: datetime, step: FeedStep[T]) -> T | None:
        with self._transaction() as conn:
            # The row may not exist yet, so FOR UPDATE alone would not keep a twin from inserting it.
            conn.execute(_LOCK, (f"gate-edge-central:feed:{gate_id}",))
            row = conn.execute(
                "SELECT version, declarations::text FROM feeds WHERE gate_id = %s", (gate_id,)
            ).fetchone()
            version = 0 if row is None else int(row[0])
            outcome = step(version, None if row is None else str(row[1]))
            if outcome is None:
                return None
            declarations, value = outcome
            conn.execute(
                "INSERT INTO feeds (gate_id, version, declarations, updated_at) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (gate_id) DO UPDATE SET version = excluded.version,"
                " declarations = excluded.declarations, updated_at = excluded.updated_at",
                (gate_id, version + 1, declarations, at),
            )
        return value

    def report(self) -> dict[str, Any]:
        with self._transaction() as conn:
            counts = conn.execute(
                "SELECT gate_id, COUNT(*), MAX(seq) FROM events GROUP BY gate_id ORDER BY gate_id"
            ).fetchall()
            gaps: dict[str, list[int]] = {}
            for gate, missing in conn.execute("SELECT gate_id, missing_seq FROM gaps ORDER BY 1, 2"):
                gaps.setdefault(gate, []).append(int(missing))
            invalid_row = conn.execute("SELECT COUNT(*) FROM invalid").fetchone()
        gates = {
            gate: {"events": int(count), "max_seq": int(high), "gaps": gaps.get(gate, [])}
            for gate, count, high in counts
        }
        return {"gates": gates, "invalid_messages": int(invalid_row[0]) if invalid_row else 0}
