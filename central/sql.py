"""Every SQL statement of central, written once for SQLite and PostgreSQL.

Statements use ``?`` for their parameters; :class:`Dialect` turns them into the driver's style (psycopg's
``%s``) and fills the column types of the schema. Upserts are ``INSERT ... ON CONFLICT ... DO UPDATE``,
which both databases spell alike; JSON columns are read back with ``CAST(... AS TEXT)``, which PostgreSQL
needs (its ``json`` type) and SQLite accepts.

PostgreSQL columns have its own types (uuid, timestamptz, json), so customs IT can query them as such. JSON
columns are ``json``, not ``jsonb``: they keep the text the gate sent, and ``jsonb`` refuses ``\\u0000``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Dialect:
    """How one database spells central's statements: its parameter mark and its column types."""

    name: str
    param: str
    types: Mapping[str, str]

    def __call__(self, statement: str) -> str:
        """``statement`` in this dialect (no statement holds a literal ``?``)."""
        return statement if self.param == "?" else statement.replace("?", self.param)

    def schema(self) -> tuple[str, ...]:
        return tuple(table.format_map(self.types) for table in SCHEMA)


SQLITE = Dialect(
    "sqlite",
    "?",
    {
        "id": "INTEGER PRIMARY KEY AUTOINCREMENT",
        "int": "INTEGER",
        "text": "TEXT",
        "uuid": "TEXT",
        "time": "TEXT",
        "json": "TEXT",
    },
)
POSTGRES = Dialect(
    "postgres",
    "%s",
    {
        "id": "bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        "int": "bigint",
        "text": "text",
        "uuid": "uuid",
        "time": "timestamptz",
        "json": "json",
    },
)

SCHEMA = (
    # id gives the arrival order, which the tests check against seq.
    "CREATE TABLE IF NOT EXISTS events (id {id}, event_id {uuid} NOT NULL UNIQUE, gate_id {text} NOT NULL,"
    " seq {int} NOT NULL, prev_seq {int}, kind {text} NOT NULL, at {time} NOT NULL, payload {json} NOT NULL,"
    " received_at {time} NOT NULL, receiver {text} NOT NULL)",
    "CREATE INDEX IF NOT EXISTS events_by_gate_seq ON events (gate_id, seq)",
    "CREATE TABLE IF NOT EXISTS gaps (gate_id {text} NOT NULL, missing_seq {int} NOT NULL,"
    " noticed_seq {int} NOT NULL, noticed_at {time} NOT NULL, PRIMARY KEY (gate_id, missing_seq))",
    "CREATE TABLE IF NOT EXISTS telemetry (gate_id {text} PRIMARY KEY, seq {int} NOT NULL,"
    " at {time} NOT NULL, payload {json} NOT NULL, received_at {time} NOT NULL)",
    # Samples kept per gate, those past their expiry, and the highest seq of either: telemetry's own count,
    # which a report shows apart from the events.
    "CREATE TABLE IF NOT EXISTS telemetry_counts (gate_id {text} PRIMARY KEY, samples {int} NOT NULL,"
    " expired {int} NOT NULL, highest_seq {int} NOT NULL)",
    "CREATE TABLE IF NOT EXISTS gate_status (gate_id {text} PRIMARY KEY, state {text} NOT NULL,"
    " at {time} NOT NULL, clearance_version {int}, received_at {time} NOT NULL)",
    "CREATE TABLE IF NOT EXISTS feeds (gate_id {text} PRIMARY KEY, version {int} NOT NULL,"
    " declarations {json} NOT NULL, updated_at {time} NOT NULL)",
    "CREATE TABLE IF NOT EXISTS acks (id {id}, gate_id {text} NOT NULL, command_id {uuid},"
    " status {text} NOT NULL, detail {text} NOT NULL, body {json} NOT NULL, received_at {time} NOT NULL)",
    # Every message central could not store, with the reason (central.rejections names them).
    "CREATE TABLE IF NOT EXISTS rejected (id {id}, topic {text} NOT NULL, reason {text} NOT NULL,"
    " detail {text} NOT NULL, size {int} NOT NULL, received_at {time} NOT NULL)",
    # Retained messages already rejected, by a hash of topic and payload: the broker delivers a retained
    # message again on every reconnect and restart, and it is counted once.
    "CREATE TABLE IF NOT EXISTS rejected_retained (digest {text} PRIMARY KEY, topic {text} NOT NULL,"
    " received_at {time} NOT NULL)",
)

TABLES = tuple(s.split()[5] for s in SCHEMA if s.startswith("CREATE TABLE"))


def missing_tables(found: set[str], all_needed: bool = True) -> str | None:
    """What is wrong with a database holding the tables ``found``, or None: central's (all, if needed)."""
    missing = [name for name in TABLES if name not in found]
    if "events" in missing:
        return f"not central's database (no table {', '.join(missing)})"
    if missing and all_needed:
        return f"made by an older central (no table {', '.join(missing)}); `gate-central run` on it adds them"
    return None


# No conflict target: the only unique key is event_id's, alone or, in a table partitioned by month
# (docs/central.md), with the partition key `at`, which a resent event repeats.
INSERT_EVENT = (
    "INSERT INTO events (event_id, gate_id, seq, prev_seq, kind, at, payload, received_at, receiver)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
# The event ids a gate's seqs already hold (parameters: gate, lowest seq, highest seq): a seq is unique per
# gate, checked under the gate's lock (a unique index could not be one on a table partitioned by month).
EVENT_IDS_AT_SEQS = (
    "SELECT seq, CAST(event_id AS TEXT) FROM events WHERE gate_id = ? AND seq >= ? AND seq <= ?"
)
# A gate's highest seq, of its events and of its telemetry (parameters: gate, gate); NULL: none yet.
HIGHEST_SEQS = (
    "SELECT (SELECT MAX(seq) FROM events WHERE gate_id = ?),"
    " (SELECT highest_seq FROM telemetry_counts WHERE gate_id = ?)"
)
CLOSE_GAP = "DELETE FROM gaps WHERE gate_id = ? AND missing_seq = ?"
# Parameters: gate, missing seq, noticed seq, noticed at, gate, missing seq.
OPEN_GAP = (
    "INSERT INTO gaps (gate_id, missing_seq, noticed_seq, noticed_at) SELECT ?, ?, ?, ?"
    " WHERE NOT EXISTS (SELECT 1 FROM events WHERE gate_id = ? AND seq = ?) ON CONFLICT DO NOTHING"
)
UPSERT_TELEMETRY = (
    "INSERT INTO telemetry (gate_id, seq, at, payload, received_at) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (gate_id) DO UPDATE SET seq = excluded.seq, at = excluded.at,"
    " payload = excluded.payload, received_at = excluded.received_at WHERE excluded.seq > telemetry.seq"
)
# Parameters: gate, samples to add, expired to add, the sample's seq. (CASE: SQLite's MAX(a, b) is
# PostgreSQL's GREATEST.)
COUNT_TELEMETRY = (
    "INSERT INTO telemetry_counts (gate_id, samples, expired, highest_seq) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (gate_id) DO UPDATE SET samples = telemetry_counts.samples + excluded.samples,"
    " expired = telemetry_counts.expired + excluded.expired,"
    " highest_seq = CASE WHEN excluded.highest_seq > telemetry_counts.highest_seq"
    " THEN excluded.highest_seq ELSE telemetry_counts.highest_seq END"
)
UPSERT_STATUS = (
    "INSERT INTO gate_status (gate_id, state, at, clearance_version, received_at) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (gate_id) DO UPDATE SET state = excluded.state, at = excluded.at,"
    " clearance_version = excluded.clearance_version, received_at = excluded.received_at"
)
INSERT_ACK = (
    "INSERT INTO acks (gate_id, command_id, status, detail, body, received_at) VALUES (?, ?, ?, ?, ?, ?)"
)
INSERT_REJECTED_RETAINED = (
    "INSERT INTO rejected_retained (digest, topic, received_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
)
INSERT_REJECTED = "INSERT INTO rejected (topic, reason, detail, size, received_at) VALUES (?, ?, ?, ?, ?)"
SELECT_FEED = "SELECT version, CAST(declarations AS TEXT) FROM feeds WHERE gate_id = ?"
UPSERT_FEED = (
    "INSERT INTO feeds (gate_id, version, declarations, updated_at) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (gate_id) DO UPDATE SET version = excluded.version,"
    " declarations = excluded.declarations, updated_at = excluded.updated_at"
)

# The report's queries.
EVENTS_PER_GATE = "SELECT gate_id, COUNT(*), MAX(seq) FROM events GROUP BY gate_id"
GAPS = "SELECT gate_id, missing_seq FROM gaps ORDER BY gate_id, missing_seq"
LATEST_TELEMETRY = "SELECT gate_id, seq FROM telemetry"
TELEMETRY_COUNTS = "SELECT gate_id, samples, expired, highest_seq FROM telemetry_counts"
REJECTED_PER_REASON = "SELECT reason, COUNT(*) FROM rejected GROUP BY reason"
