"""Central's two databases for tests: a SQLite file, and a PostgreSQL schema of the test's own.

PostgreSQL is the server at ``$GATE_EDGE_TEST_POSTGRES`` (default: the local one, user postgres, database
test). Each test gets a new schema with a unique name, reached through the URL's ``search_path`` just as a
production central would be, and dropped with everything in it afterwards.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from central.pg_url import redact
from central.settings import open_store
from central.store import CentralStore

POSTGRES_ENV = "GATE_EDGE_TEST_POSTGRES"
POSTGRES_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"


def sqlite_rows(db: Path, query: str) -> list[tuple[Any, ...]]:
    """The rows of a query on central's SQLite file; [] before central has made it or its tables."""
    if not db.exists():
        return []
    conn = sqlite3.connect(db)
    try:
        return conn.execute(query).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


def postgres_server() -> str:
    return os.environ.get(POSTGRES_ENV, POSTGRES_DEFAULT)


def in_schema(url: str, schema: str) -> str:
    """The URL with libpq's ``options`` setting the search_path to ``schema``."""
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


@dataclass
class Database:
    """Where a test's central stores: ``settings`` for CentralSettings, ``cli`` for `gate-edge central`."""

    kind: str
    db_path: Path | None = None
    db_url: str | None = None
    _reader: psycopg.Connection[Any] | None = field(default=None, repr=False)

    @property
    def settings(self) -> dict[str, Any]:
        return {"db_url": self.db_url} if self.db_url else {"db_path": self.db_path}

    @property
    def cli(self) -> list[str]:
        return ["--db-url", self.db_url] if self.db_url else ["--db", str(self.db_path)]

    def open(self, name: str = "test") -> CentralStore:
        return open_store(**self.settings, name=name)

    def rows(self, query: str) -> list[tuple[Any, ...]]:
        """The rows of a query written for both (no parameters); [] before central has made its tables."""
        if self.db_url is None:
            assert self.db_path is not None
            return sqlite_rows(self.db_path, query)
        if self._reader is None:
            self._reader = psycopg.connect(self.db_url, autocommit=True)
        try:
            found = self._reader.execute(query).fetchall()
        except psycopg.errors.UndefinedTable:
            return []
        return [tuple(str(v) if isinstance(v, uuid.UUID) else v for v in row) for row in found]

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()


def open_database(kind: str, tmp_path: Path) -> Iterator[Database]:
    """A fixture body: an empty database of ``kind`` ("sqlite" or "postgres") for one test."""
    if kind == "sqlite":
        yield Database("sqlite", db_path=tmp_path / "central.db")
        return
    server = postgres_server()
    try:
        admin = psycopg.connect(server, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"the central tests need PostgreSQL at {redact(server)} (or set {POSTGRES_ENV}): {exc}")
    schema = f"central_test_{uuid.uuid4().hex[:12]}"
    admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    database = Database("postgres", db_url=in_schema(server, schema))
    try:
        yield database
    finally:
        database.close()
        admin.execute("SET lock_timeout = '10s'")
        admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
        admin.close()
