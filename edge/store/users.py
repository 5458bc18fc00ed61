"""Officer accounts in the ``users`` table: names, roles, password hashes and disabled flags.

The store keeps hashes only; hashing and checking passwords, and the rules for names and passwords, are the
kiosk's (edge/kiosk/users.py). The table's ``failed_logins`` and ``locked_until`` columns are left from the
account lockout that login throttling replaced; nothing reads or writes them (see migration 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from edge.store.db import StoreConnection, to_text


class Role(StrEnum):
    OFFICER = "officer"  # approves, rejects, corrects held vehicles
    SUPERVISOR = "supervisor"  # an officer who may also open the barrier by hand and read the audit trail
    VIEWER = "viewer"  # watches the lane; changes nothing


class UserError(Exception):
    """A user that cannot be added or changed (bad name, weak password, already exists)."""


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: Role
    password_hash: str
    created_at: datetime
    disabled: bool


_COLUMNS = "name, role, password_hash, created_at, disabled"


class UsersRepo:
    """Reads and writes the ``users`` table on the caller's connection (one thread, like every repo)."""

    def __init__(self, conn: StoreConnection) -> None:
        self._conn = conn

    def add(self, name: str, role: Role, password_hash: str, at: datetime) -> User:
        """Create an account with an already computed hash; raises UserError for a taken name."""
        with self._conn:
            if self.get(name) is not None:
                raise UserError(f"user {name!r} already exists")
            self._conn.execute(
                "INSERT INTO users (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)",
                (name, role.value, password_hash, to_text(at)),
            )
        user = self.get(name)
        if user is None:  # pragma: no cover - just inserted in this connection
            raise UserError(f"user {name!r} vanished after insert")
        return user

    def get(self, name: str) -> User | None:
        row = self._conn.execute(
            f"SELECT {_COLUMNS} FROM users WHERE name = ?",  # noqa: S608 - fixed column list
            (name,),
        ).fetchone()
        if row is None:
            return None
        name_, role, digest, created, disabled = row
        return User(
            name=str(name_),
            role=Role(role),
            password_hash=str(digest),
            created_at=datetime.fromisoformat(created),
            disabled=bool(disabled),
        )

    def all(self) -> list[User]:
        names = [str(r[0]) for r in self._conn.execute("SELECT name FROM users ORDER BY name")]
        return [u for u in (self.get(n) for n in names) if u is not None]

    def set_password_hash(self, name: str, password_hash: str) -> None:
        """Replace an account's hash; raises UserError if there is no such account."""
        with self._conn:
            cursor = self._conn.execute(
                "UPDATE users SET password_hash = ? WHERE name = ?", (password_hash, name)
            )
        if cursor.rowcount == 0:
            raise UserError(f"no user {name!r}")

    def set_disabled(self, name: str, disabled: bool) -> None:
        with self._conn:
            cursor = self._conn.execute("UPDATE users SET disabled = ? WHERE name = ?", (int(disabled), name))
        if cursor.rowcount == 0:
            raise UserError(f"no user {name!r}")
