"""Central staff accounts and the screen's audit trail, in central's own database (SQLite or PostgreSQL).

Names, password hashes and disabling follow the kiosk's rules (webauth.passwords); the roles are the
office's: a viewer watches, a supervisor also reads the audit trail, an admin also sees the accounts.
Statements are written once with ``?`` and run through the store's dialect, as central.sql's are; the
tables are created on first use, so a database made by an older central gains them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from central.sql_store import SqlCentralStore
from central.store import CentralStore
from webauth.passwords import NAME, NAME_PATTERN, WeakPassword, hash_password

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS staff (name {text} PRIMARY KEY, role {text} NOT NULL,"
    " password_hash {text} NOT NULL, disabled {int} NOT NULL, created_at {time} NOT NULL)",
    "CREATE TABLE IF NOT EXISTS staff_audit (id {id}, at {time} NOT NULL, actor {text} NOT NULL,"
    " action {text} NOT NULL, subject {text} NOT NULL, detail {text} NOT NULL)",
)
INSERT_STAFF = (
    "INSERT INTO staff (name, role, password_hash, disabled, created_at) VALUES (?, ?, ?, 0, ?)"
    " ON CONFLICT (name) DO NOTHING"
)
SELECT_STAFF = "SELECT name, role, password_hash, disabled FROM staff WHERE name = ?"
ALL_STAFF = "SELECT name, role, password_hash, disabled FROM staff ORDER BY name"
SET_DISABLED = "UPDATE staff SET disabled = ? WHERE name = ?"
INSERT_AUDIT = "INSERT INTO staff_audit (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)"
RECENT_AUDIT = "SELECT at, actor, action, subject, detail FROM staff_audit ORDER BY id DESC LIMIT ?"
DETAIL_CHARS = 300


class StaffRole(StrEnum):
    VIEWER = "viewer"  # watches gates, searches passages
    SUPERVISOR = "supervisor"  # and reads the screen's audit trail
    ADMIN = "admin"  # and sees the accounts


class AccountError(ValueError):
    """An account that cannot be added or changed (bad name, weak password, taken name, unknown name)."""


@dataclass(frozen=True, slots=True)
class StaffAccount:
    name: str
    role: StaffRole
    password_hash: str
    disabled: bool


def sql_store(store: CentralStore) -> SqlCentralStore:
    """The store as the SQL store every backend is (the screen runs its own read statements on it)."""
    if not isinstance(store, SqlCentralStore):
        raise TypeError(f"central's screen needs a SQL store, not {type(store).__name__}")
    return store


class Accounts:
    """Staff accounts and the audit trail over one store's connection (one thread at a time)."""

    def __init__(self, store: CentralStore) -> None:
        self._store = sql_store(store)
        with self._store._transaction():
            for statement in SCHEMA:
                self._store._run(statement.format_map(self._store.dialect.types))

    def _rows(
        self, statement: str, params: tuple[Any, ...] = (), write: bool = False
    ) -> list[tuple[Any, ...]]:
        with self._store._transaction(write=write):
            return self._store._run(statement, params).rows

    def add(self, name: str, role: StaffRole, password: str, at: datetime) -> StaffAccount:
        """Create an account; AccountError for a bad name, a short password or a taken name."""
        if not NAME.fullmatch(name):  # match's $ would let a trailing newline in
            raise AccountError(f"user name {name!r} must match {NAME_PATTERN}")
        try:
            password_hash = hash_password(password)
        except WeakPassword as exc:
            raise AccountError(str(exc)) from None
        with self._store._transaction():
            added = self._store._run(INSERT_STAFF, (name, role.value, password_hash, self._store._time(at)))
            if added.rowcount == 0:
                raise AccountError(f"user {name!r} already exists")
            self._audit(name, "user.add", name, f"role {role.value}", at)
        return StaffAccount(name, role, password_hash, False)

    def get(self, name: str) -> StaffAccount | None:
        if not NAME.fullmatch(name):  # no account has it; PostgreSQL would refuse a NUL in the lookup
            return None
        rows = self._rows(SELECT_STAFF, (name,))
        return _account(rows[0]) if rows else None

    def all(self) -> list[StaffAccount]:
        return [_account(row) for row in self._rows(ALL_STAFF)]

    def set_disabled(self, name: str, disabled: bool, by: str, at: datetime) -> None:
        with self._store._transaction():
            if self._store._run(SET_DISABLED, (int(disabled), name)).rowcount == 0:
                raise AccountError(f"no user {name!r}")
            self._audit(by, "user.disable" if disabled else "user.enable", name, "", at)

    def audit(self, actor: str, action: str, subject: str, detail: str, at: datetime) -> None:
        """Append one line to the screen's audit trail (logins, logouts, account changes)."""
        with self._store._transaction():
            self._audit(actor, action, subject, detail, at)

    def _audit(self, actor: str, action: str, subject: str, detail: str, at: datetime) -> None:
        text = self._store._text
        self._store._run(
            INSERT_AUDIT,
            (self._store._time(at), text(actor), action, text(subject), text(detail[:DETAIL_CHARS])),
        )

    def recent_audit(self, limit: int = 100) -> list[dict[str, str]]:
        rows = self._rows(RECENT_AUDIT, (limit,))
        keys = ("at", "actor", "action", "subject", "detail")
        return [dict(zip(keys, map(_text, row), strict=True)) for row in rows]


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _account(row: tuple[Any, ...]) -> StaffAccount:
    name, role, password_hash, disabled = row
    return StaffAccount(str(name), StaffRole(role), str(password_hash), bool(disabled))
