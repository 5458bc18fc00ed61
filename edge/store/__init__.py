"""The lane's local store: sqlite schema, migrations and repositories, behind one :class:`Store` facade.

A Store holds one sqlite connection and must stay in the thread that opened it; open another Store (on the
same file) for another thread. ``with store.conn:`` makes several repository calls one atomic transaction.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Self

from edge.store.audit import AuditRecord, AuditRepo
from edge.store.connect import open_db
from edge.store.db import (
    DuplicateExitError,
    SchemaTooNewError,
    StaleStateError,
    StoreConnection,
    StoreError,
    TransactionNotOpenError,
    UnknownTransactionError,
)
from edge.store.declarations import DeclarationRepo, ExitRepo, WatchEntry, WatchlistRepo
from edge.store.meta import MetaRepo
from edge.store.migrations import LATEST_VERSION
from edge.store.outbox import NewEvent, OutboxEvent, OutboxRepo
from edge.store.transactions import (
    TransactionRecord,
    TransactionRepo,
    Transition,
    TxStatus,
)

__all__ = [
    "LATEST_VERSION",
    "AuditRecord",
    "AuditRepo",
    "DeclarationRepo",
    "DuplicateExitError",
    "ExitRepo",
    "MetaRepo",
    "NewEvent",
    "OutboxEvent",
    "OutboxRepo",
    "SchemaTooNewError",
    "StaleStateError",
    "Store",
    "StoreConnection",
    "StoreError",
    "TransactionNotOpenError",
    "TransactionRecord",
    "TransactionRepo",
    "Transition",
    "TxStatus",
    "UnknownTransactionError",
    "WatchEntry",
    "WatchlistRepo",
    "open_db",
]


class Store:
    """One connection to the lane database and the repositories that share it."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path) if str(path) != ":memory:" else None
        self.conn: StoreConnection = open_db(path)
        self.declarations = DeclarationRepo(self.conn)
        self.watchlist = WatchlistRepo(self.conn)
        self.exits = ExitRepo(self.conn)
        self.transactions = TransactionRepo(self.conn)
        self.outbox = OutboxRepo(self.conn)
        self.audit = AuditRepo(self.conn)
        self.meta = MetaRepo(self.conn)

    def check_readable(self) -> None:
        """Read from the database: raises ``sqlite3.Error`` if it cannot be read (readiness's check)."""
        self.conn.execute("SELECT 1").fetchone()

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
