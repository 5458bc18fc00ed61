"""Password hashes: argon2id, and a verification that costs the same for an unknown account.

Hashing and verifying are CPU work of tens of milliseconds by design: a server runs them in a worker
thread so its event loop never waits on them.
"""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{1,31}$"
NAME = re.compile(NAME_PATTERN.removesuffix("$") + r"\Z")  # $ would let a trailing newline in
MIN_PASSWORD_LENGTH = 8

_HASHER = PasswordHasher()
# Verified against when the account does not exist, so an unknown name costs as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("not a real password: timing equaliser")


class WeakPassword(ValueError):
    """A password too short to be hashed and stored."""


def hash_password(password: str) -> str:
    """An argon2id hash (salted, tuned by argon2-cffi's defaults); WeakPassword if too short."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True if `password` matches; a missing hash still costs one verification."""
    try:
        return _HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
