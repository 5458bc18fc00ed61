"""Officer accounts for the kiosk: name and password rules, argon2 password hashes, roles, disabled flags.

The accounts are stored by :mod:`edge.store.users` (hashes only); this module checks and hashes what an
operator types before handing it to the store. No account is ever locked: failed logins make further
attempts wait (edge.kiosk.login_throttle, in memory).

Hashing and verifying (webauth.passwords) are CPU work of tens of milliseconds by design: the kiosk runs
them in a worker thread (they touch no sqlite connection) so the lane's event loop never waits on them.
"""

from __future__ import annotations

from datetime import datetime

from edge.store import StoreConnection
from edge.store.users import Role, User, UserError
from edge.store.users import UsersRepo as StoredUsers
from webauth import passwords
from webauth.passwords import MIN_PASSWORD_LENGTH, NAME, NAME_PATTERN, WeakPassword, verify_password

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


def hash_password(password: str) -> str:
    """webauth's argon2id hash; a short password is a UserError, as every account rule here."""
    try:
        return passwords.hash_password(password)
    except WeakPassword as exc:
        raise UserError(str(exc)) from None


class UsersRepo:
    """Accounts as an operator manages them: a name and a password in, a checked name and a hash stored."""

    def __init__(self, conn: StoreConnection) -> None:
        self._stored = StoredUsers(conn)

    def add(self, name: str, role: Role, password: str, at: datetime) -> User:
        """Create an account; raises UserError for a bad name, a short password or a taken name."""
        if not NAME.match(name):
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
