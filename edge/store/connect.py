"""Opening the lane's sqlite database: the connection's pragmas, then any pending migrations.

Its own module so that the dependencies run one way: this module uses both :mod:`edge.store.db` (the
connection type and errors) and :mod:`edge.store.migrations` (the schema), and migrations uses only db.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from edge.store.db import StoreConnection, StoreError
from edge.store.migrations import migrate

BUSY_TIMEOUT_MS = 5000


def open_db(path: Path | str) -> StoreConnection:
    """Open (creating if needed) the lane database with WAL, synchronous=FULL and pending migrations applied.

    ``synchronous=FULL`` makes every commit durable before it returns: an outbox event acknowledged to the
    lane survives a power cut. Raises :class:`SchemaTooNewError` for a database from a newer release.
    """
    target = str(path)
    conn = sqlite3.connect(target, isolation_level=None, factory=StoreConnection)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode not in ("wal", "memory"):
            raise StoreError(f"{target}: could not enable WAL (journal_mode is {mode!r})")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        migrate(conn, target)
    except BaseException:
        conn.close()
        raise
    return conn
