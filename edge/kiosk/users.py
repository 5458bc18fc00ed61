"""Officer accounts for the kiosk: name and password rules, argon2 password hashes, roles, disabled flags.

The accounts are stored by :mod:`edge.store.users` (hashes only); this module checks and hashes what an
operator types before handing it to the store. No account is ever locked: failed logins make further
attempts wait (edge.kiosk.login_throttle, in memory).

Hashing and verifying are CPU work of tens of milliseconds by design: the kiosk runs them in a worker
thread (they touch no sqlite connection) so the lane's event loop never waits on them.
"""

from __future__ import annotations

import re
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from edge.store import StoreConnection
from edge.store.users import Role, User, UserError
from edge.store.users import UsersRepo as StoredUsers

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "NAME_PATTERN",
    "Role",
    "User",
    "UserError",
    "UsersRepo",
    "hash_password",
    "verify_password",
]

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{1,31}$"
_NAME = re.compile(NAME_PATTERN)
MIN_PASSWORD_LENGTH = 8

_HASHER = PasswordHasher()
# Verified against when the account does not exist, so an unknown name costs as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("not a real password: timing equaliser")


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


class UsersRepo:
    """Accounts as an operator manages them: a name and a password in, a checked name and a hash stored."""

    def __init__(self, conn: StoreConnection) -> None:
        self._stored = StoredUsers(conn)

    def add(self, name: str, role: Role, password: str, at: datetime) -> User:
        """Create an account; raises UserError for a bad name, a short password or a taken name."""
        if not _NAME.match(name):
            raise UserError(f"user name {name!r} must match {NAME_PATTERN}")
        return self._stored.add(name, role, hash_password(password), at)

    def get(self, name: str) -> User | None:
        return self._stored.get(name)

    def all(self) -> list[User]:
        return self._stored.all()

    def set_password(self, name: str, password: str) -> None:
        self._stored.set_password_hash(name, hash_password(password))

    def set_disabled(self, name: str, disabled: bool) -> None:
        self._stored.set_disabled(name, disabled)
