"""Officer accounts in the store's `users` table: argon2 password hashes, roles, disabled flags.

No account is ever locked: failed logins make further attempts wait (edge.kiosk.login_throttle, in
memory). The table's `failed_logins` and `locked_until` columns are left from the lockout it replaced;
nothing reads or writes them (see migration 2 in edge/store/migrations.py).

Hashing and verifying are CPU work of tens of milliseconds by design: the kiosk runs them in a worker
thread (they touch no sqlite connection) so the lane's event loop never waits on them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from edge.store import StoreConnection
from edge.store.db import to_text

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{1,31}$"
_NAME = re.compile(NAME_PATTERN)
MIN_PASSWORD_LENGTH = 8

_HASHER = PasswordHasher()
# Verified against when the account does not exist, so an unknown name costs as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("not a real password: timing equaliser")


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


def hash_password(password: str) -> str:
    """An argon2id hash (salted, tuned by argon2-cffi's defaults)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True if `password` matches; a missing hash still costs one verification."""
    try:
        return _HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


_COLUMNS = "name, role, password_hash, created_at, disabled"


class UsersRepo:
    """Reads and writes the `users` table on the caller's connection (one thread, like every repo)."""

    def __init__(self, conn: StoreConnection) -> None:
        self._conn = conn

    def add(self, name: str, role: Role, password: str, at: datetime) -> User:
        """Create an account; raises UserError for a bad name, a short password or a taken name."""
        if not _NAME.match(name):
            raise UserError(f"user name {name!r} must match {NAME_PATTERN}")
        digest = hash_password(password)
        with self._conn:
            if self.get(name) is not None:
                raise UserError(f"user {name!r} already exists")
            self._conn.execute(
                "INSERT INTO users (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)",
                (name, role.value, digest, to_text(at)),
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

    def set_password(self, name: str, password: str) -> None:
        digest = hash_password(password)
        with self._conn:
            cursor = self._conn.execute("UPDATE users SET password_hash = ? WHERE name = ?", (digest, name))
        if cursor.rowcount == 0:
            raise UserError(f"no user {name!r}")

    def set_disabled(self, name: str, disabled: bool) -> None:
        with self._conn:
            cursor = self._conn.execute("UPDATE users SET disabled = ? WHERE name = ?", (int(disabled), name))
        if cursor.rowcount == 0:
            raise UserError(f"no user {name!r}")
