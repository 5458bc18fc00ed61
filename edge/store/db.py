"""The lane database's connection type with transactions that nest, the store's errors, and the codecs every
repository shares (opening a database, with its migrations, is :mod:`edge.store.connect`).

One connection per thread: sqlite3's ``check_same_thread`` stays on, so a connection used from a second
thread raises instead of corrupting a transaction. Open one with :func:`~edge.store.connect.open_db` (or a
:class:`~edge.store.Store`) in each thread that needs the database; WAL lets them read while one writes.

Transactions are explicit: the connection runs in autocommit mode and ``with conn:`` on a
:class:`StoreConnection` opens ``BEGIN IMMEDIATE`` (the write lock up front, so a busy database waits
``busy_timeout`` at the start instead of failing at the first write). A ``with conn:`` inside another becomes
a savepoint, so a repository method called inside a caller's ``with conn:`` joins the caller's transaction:
both commit together or neither does.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal, Self

JsonObject = dict[str, Any]


class StoreError(Exception):
    """Base of the store's expected failures."""


class SchemaTooNewError(StoreError):
    """The database was written by a newer release: refusing beats silently misreading it."""

    def __init__(self, path: str, found: int, known: int) -> None:
        super().__init__(
            f"{path}: schema version {found} is newer than this release knows ({known}); "
            "upgrade border-gate-edge or restore an older database"
        )
        self.found = found
        self.known = known


class UnknownTransactionError(StoreError):
    """No lane transaction has that id."""


class TransactionNotOpenError(StoreError):
    """The lane transaction is completed or interrupted, so its history is closed."""


class StaleStateError(StoreError):
    """A transition's from_state is not the stored state: the lane's state machine and the store disagree."""


class DuplicateExitError(StoreError):
    """A declaration and container already has an exit: the completion is refused and rolled back."""

    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        shown = ", ".join(f"{decl}/{cont or '(no container)'}" for decl, cont in pairs)
        super().__init__(f"already exited: {shown}")
        self.pairs = tuple(pairs)


class StoreConnection(sqlite3.Connection):
    """A connection whose ``with`` block is a real (nestable) transaction; see the module docstring."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._savepoints: list[str | None] = []  # None marks the outermost BEGIN
        self._savepoint_counter = 0

    def __enter__(self) -> Self:
        if not self.in_transaction:
            self.execute("BEGIN IMMEDIATE")
            self._savepoints.append(None)
        else:
            self._savepoint_counter += 1
            name = f"sp_{self._savepoint_counter}"
            self.execute(f"SAVEPOINT {name}")
            self._savepoints.append(name)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
        /,
    ) -> Literal[False]:
        name = self._savepoints.pop()
        if name is None:
            if exc_type is None:
                try:
                    self.execute("COMMIT")
                except BaseException:
                    self._rollback_quietly()
                    raise
            else:
                self._rollback_quietly()
        elif exc_type is None:
            self.execute(f"RELEASE {name}")
        elif self.in_transaction:  # sqlite may have rolled the whole transaction back already
            self.execute(f"ROLLBACK TO {name}")
            self.execute(f"RELEASE {name}")
        return False

    @contextmanager
    def read_snapshot(self) -> Iterator[None]:
        """One consistent read view (a deferred transaction) without taking the write lock."""
        if self.in_transaction:
            yield
            return
        self.execute("BEGIN DEFERRED")
        try:
            yield
        finally:
            if self.in_transaction:
                self.execute("COMMIT")

    def _rollback_quietly(self) -> None:
        # sqlite may already have rolled back (e.g. after SQLITE_FULL); a second ROLLBACK would then raise
        # and hide the original error.
        if self.in_transaction:
            self.execute("ROLLBACK")


def to_text(at: datetime) -> str:
    """Store an instant as fixed-width ISO 8601 UTC text, so text order is time order in SQL."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at!r}: the store needs timezone-aware times")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def from_text(text: str) -> datetime:
    return datetime.fromisoformat(text)


def opt_from_text(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def dump_json(value: object) -> str:
    """Canonical JSON (sorted keys, no spaces) so equal payloads are equal text and hashes are stable."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def load_json(text: str) -> Any:
    return json.loads(text)


def placeholders(count: int) -> str:
    """``?,?,?`` for an IN list: only the number of items reaches the SQL text, never a value."""
    return ",".join("?" * count)
