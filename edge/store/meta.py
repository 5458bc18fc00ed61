"""Small named values that must survive restarts, in the ``meta`` table (the clearance feed's version, ...).

The keys belong to whoever writes them (the uplink names its own); this repository only reads and writes
text values with the time each was last set.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from edge.store.db import StoreConnection, from_text, to_text


class MetaRepo:
    """Read and set ``meta`` values; a write joins the caller's ``with conn:`` if one is open."""

    def __init__(self, conn: StoreConnection) -> None:
        self._conn = conn

    def get(self, key: str) -> str | None:
        """The value stored under ``key``, or None if it was never set."""
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def updated_at(self, key: str) -> datetime | None:
        """When ``key`` was last set, or None if it was never set."""
        row = self._conn.execute("SELECT updated_at FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else from_text(row[0])

    def put(self, values: Mapping[str, str], at: datetime) -> None:
        """Set every key in ``values`` (inserting or replacing), all stamped ``at``."""
        with self._conn:
            self._conn.executemany(
                "INSERT INTO meta (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE"
                " SET value = excluded.value, updated_at = excluded.updated_at",
                [(key, value, to_text(at)) for key, value in values.items()],
            )
