"""Licence-plate grammars: which texts are plates, and position-based confusion correction.

A grammar is a set of templates, one class per position (D digit, L letter, A either). A read that
matches a template as it is stands; otherwise look-alike characters (0/O, 1/I, 8/B, 5/S, 2/Z, 6/G)
are swapped only at positions where the template demands the other class, and the corrected text is
accepted only when exactly one correction needs the fewest swaps. Generic grammars demand no class
anywhere, so they never correct.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

# The look-alikes of the issue, plus D read where a 0 must be (a worn 0 and a D differ by one stroke).
DIGIT_FOR_LETTER = {"O": "0", "D": "0", "I": "1", "B": "8", "S": "5", "Z": "2", "G": "6"}
LETTER_FOR_DIGIT = {"0": "O", "1": "I", "8": "B", "5": "S", "2": "Z", "6": "G"}

_ALNUM = re.compile(r"[^A-Z0-9]")


def normalise_plate(text: str) -> str:
    """Upper-case and keep A-Z0-9 only: "51c-123.45" -> "51C12345"."""
    return _ALNUM.sub("", text.upper())


@dataclass(frozen=True, slots=True)
class PlateMatch:
    """A text checked against a grammar: the (possibly corrected) text and whether it is valid."""

    text: str
    valid: bool
    corrections: int = 0  # characters swapped for a look-alike


@dataclass(frozen=True, slots=True)
class Grammar:
    """A plate grammar: a full-match pattern and, optionally, per-position class templates."""

    name: str
    pattern: re.Pattern[str]
    templates: tuple[str, ...] = ()  # strings over D/L/A, one class per character
    # Each character must be at least this sure for the read to be valid. A grammar with no position
    # classes cannot catch a look-alike (O/0, D/0, 4/L), so its reads must be surer.
    min_char_confidence: float = 0.0
    # Characters that make a read not valid: on many plates (US states, Slovakia) O and 0 are one glyph, and
    # reference lists write it either way; a grammar without position classes cannot say which it is.
    ambiguous: str = ""
    longest: int = 9  # characters in the longest plate of the grammar

    def check(self, raw: str) -> PlateMatch:
        """Normalise, match, and correct look-alikes where a template demands another class."""
        text = normalise_plate(raw)
        if self.ambiguous and any(ch in self.ambiguous for ch in text):
            return PlateMatch(text, False)
        if self.pattern.fullmatch(text):
            return PlateMatch(text, True)
        fixes = {
            fixed
            for template in self.templates
            if len(template) == len(text)
            and (fixed := _apply(template, text)) is not None
            and self.pattern.fullmatch(fixed)
        }
        if not fixes:
            return PlateMatch(text, False)
        # The fewest swaps wins, and only when no other correction needs as few.
        counted = sorted((sum(a != b for a, b in zip(f, text, strict=True)), f) for f in fixes)
        if len(counted) > 1 and counted[0][0] == counted[1][0]:
            return PlateMatch(text, False)
        return PlateMatch(counted[0][1], True, counted[0][0])

    def split_two_line(self, text: str) -> tuple[str, str] | None:
        """Where a valid plate would break into two rows (Vietnamese `51C` / `12345`), if it has a rule."""
        if self.name == "vietnam":
            m = _VN_PARTS.fullmatch(text)
            if m:
                return m.group(1) + m.group(2), m.group(3)
        return None


def _apply(template: str, text: str) -> str | None:
    out = []
    for cls, ch in zip(template, text, strict=True):
        if cls == "D" and not ch.isdigit():
            if ch not in DIGIT_FOR_LETTER:
                return None
            ch = DIGIT_FOR_LETTER[ch]
        elif cls == "L" and not ch.isalpha():
            if ch not in LETTER_FOR_DIGIT:
                return None
            ch = LETTER_FOR_DIGIT[ch]
        out.append(ch)
    return "".join(out)


# Vietnam (Circular 24/2023/TT-BCA and earlier): two-digit province code 11-99; a series letter that is
# never I, J, O, Q or W (R marks trailers and semi-trailers); or a two-letter special series (LD for
# foreign-invested firms, KT economic, NG/NN diplomatic and foreign, QT international, CV/CD...);
# motorcycles add a digit after the letter; then a 4-digit (old) or 5-digit serial.
VN_SERIES_LETTERS = "ABCDEFGHKLMNPRSTUVXYZ"
VN_SPECIAL_SERIES = ("LD", "KT", "NG", "NN", "QT", "CV", "CD", "DA", "HC", "MK", "MD", "TD")
_VN_SERIES = f"[{VN_SERIES_LETTERS}][0-9]??|{'|'.join(sorted(set(VN_SPECIAL_SERIES)))}"
_VN_PARTS = re.compile(rf"([1-9][0-9])({_VN_SERIES})([0-9]{{4,5}})")
_VN_TEMPLATES = tuple(
    "DD" + series + "D" * serial for series, serial in itertools.product(("L", "LL", "LD"), (4, 5))
)

VIETNAM = Grammar("vietnam", re.compile(_VN_PARTS.pattern), _VN_TEMPLATES)
# Any 4-9 character A-Z0-9 plate (the openalpr sets: US, EU and Brazilian plates), with at least one
# letter and one digit to be valid: an all-letter read is nearly always a word near the plate (a state
# name, a dealer, PRIVATE), an all-digit one a phone number or a plate with its letters cut off. Such reads
# are still returned, only never claimed valid.
GENERIC = Grammar(
    "generic", re.compile(r"(?=.*[0-9])(?=.*[A-Z])[A-Z0-9]{4,9}"), min_char_confidence=0.92, ambiguous="O0"
)
# Foreign plates in Latin letters under the GMS cross-border transport agreement (Laos, Cambodia,
# Thailand's Latin GMS plates, China's Latin GMS plates, Myanmar): letters and digits, 4-9 characters,
# at least one digit.
GMS = Grammar("gms", re.compile(r"(?=.*[0-9])[A-Z0-9]{4,9}"), min_char_confidence=0.92, ambiguous="O0")

GRAMMARS: dict[str, Grammar] = {g.name: g for g in (VIETNAM, GENERIC, GMS)}


def grammar(name: str) -> Grammar:
    """The grammar called `name` (vietnam, generic, gms); ValueError naming the known ones otherwise."""
    try:
        return GRAMMARS[name]
    except KeyError:
        raise ValueError(f"unknown plate grammar {name!r}; known: {', '.join(GRAMMARS)}") from None


def display(text: str, name: str) -> str:
    """The plate as printed: `51C12345` -> `51C-123.45` for Vietnam; unchanged otherwise."""
    if name == "vietnam":
        m = _VN_PARTS.fullmatch(text)
        if m:
            serial = m.group(3)
            serial = f"{serial[:3]}.{serial[3:]}" if len(serial) == 5 else serial
            return f"{m.group(1)}{m.group(2)}-{serial}"
    return text
