"""ISO 6346 container numbers: owner code, equipment category, serial and check digit.

A number whose check digit fails is never reported as valid.
"""

from __future__ import annotations

import re

_SHAPE = re.compile(r"^[A-Z]{3}[UJZ][0-9]{6}[0-9]$")


def _letter_values() -> dict[str, int]:
    # A=10, then counting up but skipping multiples of 11 (11, 22, 33).
    values: dict[str, int] = {}
    n = 10
    for ch in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        if n % 11 == 0:
            n += 1
        values[ch] = n
        n += 1
    return values


_VALUES = _letter_values()


def check_digit(first10: str) -> int:
    """Check digit of owner code + category + 6-digit serial (10 characters)."""
    if len(first10) != 10 or not re.fullmatch(r"[A-Z]{4}[0-9]{6}", first10):
        raise ValueError(f"not an owner code, category and serial: {first10!r}")
    total = sum((_VALUES[c] if c.isalpha() else int(c)) << i for i, c in enumerate(first10))
    return total % 11 % 10


def is_valid(number: str) -> bool:
    """True when the 11 characters have the ISO 6346 shape and the check digit holds."""
    text = normalise(number)
    if not _SHAPE.match(text):
        return False
    return check_digit(text[:10]) == int(text[10])


def normalise(number: str) -> str:
    """Upper-case and drop spaces, dashes and other separators."""
    return re.sub(r"[^A-Z0-9]", "", number.upper())


def complete(first10: str) -> str:
    """The full 11-character number for an owner code, category and serial."""
    return first10 + str(check_digit(first10))
