"""Central's store in one SQLite file (the default, and the demo's).

Every write is one ``BEGIN IMMEDIATE`` transaction (sqlite's write lock, waited for up to the busy
timeout), which also serialises the per-gate reads before writes. WAL with ``synchronous=NORMAL``: a
committed event survives a crash of the process, not of the machine; a production central runs on
PostgreSQL, which is durable against power loss as well.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from uuid import UUID

from central import sql
from central.sql_store import MAX_SEQ_JUMP, Result, SqlCentralStore
from central.store import MessageUnstorable, OpenMode, StoreUnavailable

# Primary result codes that say "not now" rather than "this is wrong": busy, locked, I/O error, disk full,
# cannot open. Anything else (a bad value, a constraint) is not retried.
_TRANSIENT = {5, 6, 10, 13, 14}
BUSY_TIMEOUT_S = 30.0


def _transient(exc: sqlite3.Error) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and (exc.sqlite_errorcode & 0xFF) in _TRANSIENT


class SqliteCentralStore(SqlCentralStore):
    """:class:`central.store.CentralStore` in one SQLite file."""

    dialect = sql.SQLITE

    def __init__(
        self, path: Path | str, *, mode: OpenMode = "create", max_seq_jump: int = MAX_SEQ_JUMP
    ) -> None:
        """Open central's database (see :data:`central.store.OpenMode`); StoreUnavailable names the file.

        Only ``create`` makes a file, so a misspelt path is never an empty new database.
        """
        self.path = str(path)
        self.max_seq_jump = max_seq_jump
        try:
            # Not bound to the opening thread: an instance opens it on paho's thread and closes it after
            # that thread has ended. It is never used by two threads at once.
            self.conn = sqlite3.connect(
                self.path if mode == "create" else f"file:{quote(str(Path(path).absolute()))}?mode=rw",
                isolation_level=None,
                timeout=BUSY_TIMEOUT_S,
                check_same_thread=False,
                uri=mode != "create",
            )
            if mode != "create":
                self._check_tables(mode)
            if mode == "read":
                return
            self._wal()
            self.conn.execute("PRAGMA synchronous = NORMAL")
            self._create_tables()
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"database {self.path}: {exc}") from None
        except MessageUnstorable as exc:  # e.g. a file that is not a database at all
            raise StoreUnavailable(f"database {self.path}: {exc.__cause__ or exc}") from None

    def _check_tables(self, mode: OpenMode) -> None:
        """StoreUnavailable (closed) unless the file is central's: its events table (for ``read``: all)."""
        found = {name for (name,) in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        problem = sql.missing_tables(found, all_needed=mode == "read")
        if problem:
            self.conn.close()
            raise StoreUnavailable(f"database {self.path}: {problem}")

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
    def _transaction(self, write: bool = True) -> Iterator[None]:
        """A write holds sqlite's write lock from its start; a read sees one snapshot."""
        try:
            self.conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")
        except OverflowError as exc:  # an integer beyond SQLite's 64 bits, e.g. a forged seq
            raise MessageUnstorable(f"cannot store the message: {exc}") from exc
        except sqlite3.Error as exc:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            if _transient(exc):
                raise StoreUnavailable(f"database {self.path}: {exc}") from None
            raise MessageUnstorable(f"cannot store the message: database {self.path}: {exc}") from exc

    def _run(self, statement: str, params: Sequence[Any] = ()) -> Result:
        cursor = self.conn.execute(statement, tuple(params))
        rows = cursor.fetchall() if cursor.description is not None else []
        return Result(cursor.rowcount, rows)

    def _lock(self, key: str) -> None:
        """Nothing to take: a write transaction holds sqlite's write lock from its start."""

    def _time(self, at: datetime) -> str:
        return at.isoformat()

    def _id(self, value: UUID | None) -> str | None:
        return None if value is None else str(value)

    def close(self) -> None:
        self.conn.close()
