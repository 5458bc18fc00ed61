"""The schema as an ordered list of migrations, applied once each and recorded in ``schema_version``.

Append a new :class:`Migration` for every change; never edit one that has shipped, because gates in the field
have already applied it. All pending migrations run in one transaction: a gate is either on the old schema or
the new one, never half-way.

Times are fixed-width ISO 8601 UTC text (see :func:`edge.store.db.to_text`); JSON columns hold canonical JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from edge.store.db import SchemaTooNewError, StoreConnection, StoreError, to_text


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


_V1 = (
    """
    CREATE TABLE declarations (
        number TEXT PRIMARY KEY,
        version INTEGER NOT NULL CHECK (version >= 1),
        status TEXT NOT NULL,
        channel TEXT NOT NULL,
        inspection_done INTEGER NOT NULL CHECK (inspection_done IN (0, 1)),
        plates TEXT NOT NULL,
        containers TEXT NOT NULL,
        gross_kg REAL,
        valid_from TEXT NOT NULL,
        valid_until TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )
    """,
    # Lookup tables so plate and container searches use an index instead of scanning JSON.
    """
    CREATE TABLE declaration_plates (
        plate TEXT NOT NULL,
        declaration_number TEXT NOT NULL REFERENCES declarations (number) ON DELETE CASCADE,
        PRIMARY KEY (plate, declaration_number)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX declaration_plates_by_declaration ON declaration_plates (declaration_number)",
    """
    CREATE TABLE declaration_containers (
        container TEXT NOT NULL,
        declaration_number TEXT NOT NULL REFERENCES declarations (number) ON DELETE CASCADE,
        PRIMARY KEY (container, declaration_number)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX declaration_containers_by_declaration ON declaration_containers (declaration_number)",
    """
    CREATE TABLE transactions (
        id TEXT PRIMARY KEY,
        lane_id TEXT NOT NULL,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        state TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('open', 'completed', 'interrupted')),
        plate TEXT,
        plate_confidence REAL,
        containers TEXT NOT NULL DEFAULT '[]',
        gross_kg REAL,
        outcome TEXT CHECK (outcome IS NULL OR outcome IN ('PASS', 'HOLD', 'REJECT')),
        reasons TEXT NOT NULL DEFAULT '[]',
        declaration_number TEXT,
        decided_at TEXT,
        officer TEXT,
        note TEXT
    )
    """,
    "CREATE INDEX transactions_by_started ON transactions (started_at)",
    "CREATE INDEX transactions_by_plate ON transactions (plate, started_at)",
    "CREATE INDEX transactions_by_declaration ON transactions (declaration_number, started_at)",
    "CREATE INDEX transactions_open ON transactions (status) WHERE status = 'open'",
    """
    CREATE TABLE transaction_containers (
        tx_id TEXT NOT NULL REFERENCES transactions (id) ON DELETE CASCADE,
        container TEXT NOT NULL,
        PRIMARY KEY (container, tx_id)
    ) WITHOUT ROWID
    """,
    """
    CREATE TABLE transitions (
        tx_id TEXT NOT NULL REFERENCES transactions (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL CHECK (seq >= 1),
        from_state TEXT NOT NULL,
        to_state TEXT NOT NULL,
        cause TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (tx_id, seq)
    ) WITHOUT ROWID
    """,
    # No foreign key to declarations: the exit must outlive the cached declaration it consumed.
    """
    CREATE TABLE exits (
        declaration_number TEXT NOT NULL,
        container TEXT NOT NULL,
        tx_id TEXT NOT NULL REFERENCES transactions (id),
        at TEXT NOT NULL,
        PRIMARY KEY (declaration_number, container)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX exits_by_tx ON exits (tx_id)",
    """
    CREATE TABLE watchlist (
        plate TEXT PRIMARY KEY,
        reason TEXT NOT NULL,
        added_at TEXT NOT NULL
    )
    """,
    # AUTOINCREMENT: a seq is never reused, even after the newest rows are delivered and purged, so the
    # receiver can de-duplicate and detect gaps by seq per gate.
    """
    CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at TEXT NOT NULL,
        critical INTEGER NOT NULL CHECK (critical IN (0, 1)),
        delivered_at TEXT
    )
    """,
    "CREATE INDEX outbox_pending ON outbox (seq) WHERE delivered_at IS NULL",
    "CREATE INDEX outbox_pending_telemetry ON outbox (seq) WHERE delivered_at IS NULL AND critical = 0",
    """
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT NOT NULL,
        reason TEXT,
        before TEXT,
        after TEXT,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    )
    """,
)

_V2 = (
    # Officer accounts for the kiosk (password hashes only, never passwords). failed_logins and locked_until
    # served the account lockout that login throttling (edge/kiosk/login_throttle.py, in memory) replaced:
    # nothing reads or writes them now. They stay: dropping columns means rebuilding the table in a new
    # migration, which is not worth it for two unused columns.
    "CREATE TABLE users ("
    " name TEXT PRIMARY KEY, role TEXT NOT NULL CHECK (role IN ('officer', 'supervisor', 'viewer')),"
    " password_hash TEXT NOT NULL, created_at TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0,"
    " failed_logins INTEGER NOT NULL DEFAULT 0, locked_until TEXT)",
    # Small named values that must survive restarts (clearance feed version, last update time, ...).
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL)",
)

_V3 = (
    # 0: the barrier was open while the lane could not watch it; the declaration counts as used until a
    # vehicle is seen to pass under it (an officer let it through), which confirms the exit.
    "ALTER TABLE exits ADD COLUMN confirmed INTEGER NOT NULL DEFAULT 1 CHECK (confirmed IN (0, 1))",
)

_V4 = (
    # How the transaction ended as the lane saw it (passed, rejected, left, aborted, unconfirmed; NULL while
    # open, and for rows older than this column), and its evidence images ([{kind, text, sha256}], every
    # read's image that was kept, the camera's as well as those after an officer's correction): the history
    # tells what happened without the outbox, whose delivered events are purged.
    "ALTER TABLE transactions ADD COLUMN result TEXT",
    "ALTER TABLE transactions ADD COLUMN evidence TEXT NOT NULL DEFAULT '[]'",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema", _V1),
    Migration(2, "kiosk users and meta values", _V2),
    Migration(3, "exits that could not be confirmed", _V3),
    Migration(4, "how a transaction ended, and its evidence images", _V4),
)

LATEST_VERSION = MIGRATIONS[-1].version


def current_version(conn: StoreConnection) -> int:
    """The schema version recorded in the database; 0 for a new, empty one."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if exists is None:
        return 0
    row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()
    return int(row[0])


def migrate(conn: StoreConnection, path: str, migrations: tuple[Migration, ...] = MIGRATIONS) -> list[int]:
    """Apply the pending migrations in order, all in one transaction; return the versions applied."""
    _check_sequence(migrations)
    known = migrations[-1].version if migrations else 0
    applied: list[int] = []
    with conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        found = current_version(conn)
        if found > known:
            raise SchemaTooNewError(path, found, known)
        now = to_text(datetime.now(UTC))
        for migration in migrations:
            if migration.version <= found:
                continue
            for statement in migration.statements:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.description, now),
            )
            applied.append(migration.version)
    return applied


def _check_sequence(migrations: tuple[Migration, ...]) -> None:
    versions = [m.version for m in migrations]
    if versions != list(range(1, len(versions) + 1)):
        raise StoreError(f"migrations must be numbered 1..n in order, got {versions}")
