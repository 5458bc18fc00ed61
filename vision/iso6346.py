"""ISO 6346 container numbers: owner code, equipment category, serial and check digit; size/type codes.

A number whose check digit fails is never reported as valid. Look-alike corrections are tried only to
repair a read, and a repaired number is accepted only when exactly one candidate passes the check.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_SHAPE = re.compile(r"^[A-Z]{3}[UJZ][0-9]{6}[0-9]$")

# Letters where a digit must be, and digits where a letter must be (the usual OCR look-alikes).
_TO_LETTER = {"0": "O", "1": "I", "2": "Z", "4": "A", "5": "S", "6": "G", "8": "B"}
_TO_DIGIT = {
    "O": "0",
    "D": "0",
    "Q": "0",
    "I": "1",
    "L": "1",
    "T": "1",
    "Z": "2",
    "S": "5",
    "G": "6",
    "B": "8",
}
_TO_CATEGORY = {"V": "U", "0": "U", "Y": "U", "I": "J", "1": "J", "2": "Z", "7": "Z"}

# ISO 6346:1995 size codes: first character length, second height (and width for the letter codes).
_LENGTH = "1234ABCDEFGHKLMNP"
_HEIGHT = "024568CDEFLMNP"
_TYPE_GROUPS = {
    "G": "general purpose",
    "V": "ventilated",
    "B": "bulk",
    "S": "named cargo",
    "R": "reefer",
    "H": "insulated",
    "U": "open top",
    "P": "platform / flat rack",
    "T": "tank",
    "A": "air / surface",
}
_SIZE_TYPE = re.compile(rf"^[{_LENGTH}][{_HEIGHT}][{''.join(_TYPE_GROUPS)}][0-9]$")


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


def is_size_type(code: str) -> bool:
    """True for an ISO 6346:1995 size/type code such as 22G1, 45R1 or L5G1."""
    return bool(_SIZE_TYPE.match(normalise(code)))


def describe_size_type(code: str) -> str:
    """A short description: `22G1` -> `20 ft, 8'6", general purpose`; ValueError for a bad code."""
    text = normalise(code)
    if not _SIZE_TYPE.match(text):
        raise ValueError(f"not an ISO 6346 size/type code: {code!r}")
    length = {"1": "10 ft", "2": "20 ft", "3": "30 ft", "4": "40 ft", "L": "45 ft"}.get(text[0], text[0])
    height = {"0": "8'", "2": "8'6\"", "5": "9'6\"", "4": "9'"}.get(text[1], text[1])
    return f"{length}, {height}, {_TYPE_GROUPS[text[2]]}"


@dataclass(frozen=True, slots=True)
class ContainerMatch:
    """A container number found in a read: the text, whether it is valid, and how it was repaired."""

    text: str
    valid: bool
    corrections: int = 0


def shape_fix(text: str) -> str:
    """Swap look-alikes to the class each position demands (letters, U/J/Z, digits); 11 chars in, 11 out."""
    out = []
    for i, ch in enumerate(text):
        if i < 3:
            out.append(_TO_LETTER.get(ch, ch) if ch.isdigit() else ch)
        elif i == 3:
            out.append(ch if ch in "UJZ" else _TO_CATEGORY.get(ch, ch))
        else:
            out.append(_TO_DIGIT.get(ch, ch) if ch.isalpha() else ch)
    return "".join(out)


def repair(text: str, runners_up: Sequence[str] = ()) -> ContainerMatch:
    """Check an 11-character read; repair look-alikes, then single runner-up swaps, if exactly one passes.

    `runners_up[i]` is the reader's second choice for character i, given only where the reader was unsure
    (empty elsewhere): every extra swap is another chance for a wrong number to pass. A read that fails
    its check digit stays invalid unless exactly one repaired candidate passes: two passing candidates
    mean the read cannot tell them apart.
    """
    text = normalise(text)
    if len(text) != 11:
        return ContainerMatch(text, False)
    if is_valid(text):
        return ContainerMatch(text, True)
    fixed = shape_fix(text)
    if is_valid(fixed):
        return ContainerMatch(fixed, True, _distance(fixed, text))
    candidates = set()
    for i, alt in enumerate(runners_up[:11]):
        if alt:
            variant = shape_fix(fixed[:i] + alt + fixed[i + 1 :])
            if is_valid(variant):
                candidates.add(variant)
    if len(candidates) == 1:
        only = candidates.pop()
        return ContainerMatch(only, True, _distance(only, text))
    return ContainerMatch(fixed if _SHAPE.match(fixed) else text, False)


def find(text: str) -> list[str]:
    """Every 11-character window of a longer read that has the ISO 6346 shape after look-alike fixes."""
    clean = normalise(text)
    return [clean[i : i + 11] for i in range(len(clean) - 10) if _SHAPE.match(shape_fix(clean[i : i + 11]))]


def _distance(a: str, b: str) -> int:
    return sum(x != y for x, y in zip(a, b, strict=True))


__all__ = [
    "ContainerMatch",
    "check_digit",
    "complete",
    "describe_size_type",
    "find",
    "is_size_type",
    "is_valid",
    "normalise",
    "repair",
    "shape_fix",
]
