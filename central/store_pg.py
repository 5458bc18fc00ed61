"""Central's store on PostgreSQL: SQLite's tables and statements, for many instances on many machines.

Given a ``postgresql://`` URL (libpq's syntax; pick a schema with ``?options=-csearch_path%3Dcentral``), every
instance of a shared-subscription group writes to one database. ``event_id`` is UNIQUE and events are
inserted with ``ON CONFLICT (event_id) DO NOTHING``, so a duplicate is dropped whichever instance receives it.
The writes that read before they write take a per-gate transaction-level advisory lock first: under READ
COMMITTED, two instances storing seq 2 and seq 3 at once would otherwise each miss the other's uncommitted
row, and a gap would be recorded for an event that is there.

The connection is used by one thread at a time and runs in autocommit with explicit transactions. A lost
connection, a server shutting down, a serialisation failure: :class:`~central.store.StoreUnavailable`; the
caller drops the store and opens a new one later. Importing this module needs psycopg (the ``central`` extra).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow

from central import sql
from central.pg_batch import SET_FORMS, inserted_flags
from central.pg_url import check_url, reason, redact
from central.sql_store import MAX_SEQ_JUMP, Result, SqlCentralStore
from central.store import MessageUnstorable, OpenMode, StoreUnavailable

# Advisory lock keys: one for creating the schema (CREATE TABLE IF NOT EXISTS is not safe against a
# concurrent twin), and per gate for its events and for its feed. A hash collision only serialises two
# gates' writes, which is harmless.
_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended(?, 0))"
_TABLES_HERE = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"

CONNECT_TIMEOUT_S = 10


class PostgresCentralStore(SqlCentralStore):
    """:class:`~central.store.CentralStore` in PostgreSQL (several instances, one database)."""

    dialect = sql.POSTGRES

    def __init__(
        self,
        url: str,
        application_name: str = "gate-edge-central",
        *,
        mode: OpenMode = "create",
        max_seq_jump: int = MAX_SEQ_JUMP,
    ) -> None:
        """Connect and create central's tables (``read``: check they are there, write nothing)."""
        self.max_seq_jump = max_seq_jump
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
            raise StoreUnavailable(f"database {self.url}: cannot connect: {reason(exc)}") from None
        try:
            if mode == "read":
                self._check_tables()
            else:
                self._create_tables()
        except (StoreUnavailable, MessageUnstorable) as exc:
            self.conn.close()
            if isinstance(exc, StoreUnavailable) and mode == "read":
                raise
            # e.g. a search_path naming no existing schema: the operator must fix the URL or the database.
            raise StoreUnavailable(
                f"database {self.url}: cannot create central's tables: {reason(exc.__cause__ or exc)}"
            ) from None

    def _check_tables(self) -> None:
        with self._transaction(write=False):
            found = {str(row[0]) for row in self._run(_TABLES_HERE).rows}
        problem = sql.missing_tables(found)
        if problem:
            raise StoreUnavailable(f"database {self.url}: {problem}")

    @contextmanager
    def _transaction(self, write: bool = True) -> Iterator[None]:
        """One transaction. Connection trouble: StoreUnavailable; a value refused: MessageUnstorable."""
        try:
            with self.conn.transaction():
                yield
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            raise StoreUnavailable(f"database {self.url}: {reason(exc)}") from None
        except psycopg.Error as exc:  # a seq beyond bigint (DataError), a constraint, ...
            raise MessageUnstorable(f"cannot store the message: {reason(exc)}") from exc

    def _run(self, statement: str, params: Sequence[Any] = ()) -> Result:
        cursor = self.conn.execute(self.dialect(statement), tuple(params))
        rows = cursor.fetchall() if cursor.description is not None else []
        return Result(cursor.rowcount, rows)

    def _insert_new(self, statement: str, rows: Sequence[Sequence[Any]]) -> list[bool]:
        """All rows in one statement (central.pg_batch); ``RETURNING`` says which were inserted."""
        if not rows:
            return []
        form = SET_FORMS.get(statement)
        if form is None:
            return super()._insert_new(statement, rows)
        return inserted_flags(rows, self._run(form.statement, form.arrays(rows)).rows)

    def _lock_all(self, keys: Sequence[str]) -> None:
        self._run_many(_LOCK, [(key,) for key in keys])  # one pipeline, taken in the given order

    def _run_many(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        """One statement for all rows where central.pg_batch has its set-based form, else pipelined."""
        if not rows:
            return
        form = SET_FORMS.get(statement)
        if form is not None:
            self._run(form.statement, form.arrays(rows))
        else:
            self.conn.cursor().executemany(self.dialect(statement), [tuple(r) for r in rows])

    def _lock(self, key: str) -> None:
        self._run(_LOCK, (key,))

    def _text(self, value: str) -> str:
        """PostgreSQL text cannot hold NUL, which JSON may carry escaped in a free-text field."""
        return value.replace("\x00", "\ufffd")

    def close(self) -> None:
        self.conn.close()
