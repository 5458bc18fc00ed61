"""Licence-plate grammars: which texts are plates, and position-based confusion correction.

A grammar is a set of templates, one class per position (`CLASSES`: D digit, L letter, A either, and
the Chinese plates' own). A read that matches a template as it is stands; otherwise look-alike
characters (0/O, 1/I, 8/B, 5/S, 2/Z, 6/G) are swapped only at positions where the template demands the
other class, and the corrected text is accepted only when exactly one correction needs the fewest swaps.
Generic grammars demand no class anywhere, so they never correct.

A lane reads the plates of several countries: `grammar(["vietnam", "china", "cambodia"])` combines
them. A read is valid when one of them holds (the first in the lane's order; not valid when another
grammar holds it as another text with no more swaps), and the match says which. A grammar whose plates hold
characters beyond A-Z0-9 (China's province characters) names them in `script`: the reader keeps them
for it, and vision/plate_decode.py reads such plates constrained to the grammar's classes.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

# The look-alikes of the issue, plus D read where a 0 must be (a worn 0 and a D differ by one stroke).
DIGIT_FOR_LETTER = {"O": "0", "D": "0", "I": "1", "B": "8", "S": "5", "Z": "2", "G": "6"}
LETTER_FOR_DIGIT = {"0": "O", "1": "I", "8": "B", "5": "S", "2": "Z", "6": "G"}

DIGITS = "0123456789"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# China (GA 36-2018): the 31 provinces' one-character abbreviations, the first character of every plate,
# and the trailer's suffix. Letters after the province never include I or O (read as 1 and 0).
CN_PROVINCES = "京津冀晋蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川贵云藏陕甘青宁新"
CN_TRAILER = "挂"
_CN_LETTERS = LETTERS.replace("I", "").replace("O", "")

# Position classes of the templates.
CLASSES: dict[str, str] = {
    "D": DIGITS,
    "L": LETTERS,
    "A": DIGITS + LETTERS,
    "P": CN_PROVINCES,  # China: the province character
    "M": _CN_LETTERS,  # China: the issuing office's letter, and letters of the serial
    "N": DIGITS + _CN_LETTERS,  # China: a serial character
    "E": "DF",  # China: new-energy marker (D electric, F other)
    "T": CN_TRAILER,  # China: trailer suffix
}

# What a plate keeps of a text: A-Z, 0-9 and CJK ideographs (the Chinese province character, 挂).
_KEPT = re.compile(r"[^A-Z0-9\u4e00-\u9fff]")


def normalise_plate(text: str) -> str:
    """The plate as stored and compared: Unicode NFKC (full-width `Ａ１` is `A1`, the result is NFC),
    upper case, A-Z, 0-9 and CJK ideographs kept, separators dropped: "51c-123.45" -> "51C12345",
    "桂A·12345" -> "桂A12345"."""
    return _KEPT.sub("", unicodedata.normalize("NFKC", text).upper())


# A typed plate (a declaration file, the watchlist): the wire's bound (sync.clearances.PLATE_PATTERN) once
# normalised, and a bound on the text as typed so that nothing longer is normalised at all.
PLATE_MAX_LENGTH = 16
PLATE_MAX_TYPED = 64
# What a typed plate may hold besides its characters, dropped: space, dash, dot, the middle dot of Chinese
# plates (桂A·12345) and slash; after NFKC, so that an ideographic space or a full-width dash is one too.
PLATE_SEPARATORS = " -.\u00b7/"
_PLATE_CHAR = re.compile(r"[A-Za-z0-9\u4e00-\u9fff]")
_CATEGORY_WORDS = {"Cc": "a control character", "Cs": "a lone surrogate", "Cn": "an unassigned code point"}


def parse_plate(text: str) -> str:
    """A typed plate as stored and compared (see normalise_plate), or ValueError saying why it is none:
    "51c-123.45" -> "51C12345", "桂A·１２３４５" -> "桂A12345".

    Stricter than normalise_plate, which cleans a reader's output: dropping what is not a plate character
    would make another plate of a typed one (Cyrillic "51С12345" would be 5112345, "ນວ 1234" 1234), so
    every character must be A-Z, a-z, 0-9 or a CJK ideograph, or a separator (dropped); any other letter,
    digit, mark, symbol or control character is refused. Of the compatibility forms, only full-width
    letters and digits (a Chinese input method's) and CJK compatibility ideographs (the same character) are
    read as what they fold to: "Ⅻ" is a numeral, not the letters XII, and "²" not a 2.
    """
    if len(text) > PLATE_MAX_TYPED:
        raise ValueError(f"a plate is at most {PLATE_MAX_TYPED} characters as typed ({len(text)} given)")
    kept: list[str] = []
    for ch in text:
        folded = unicodedata.normalize("NFKC", ch)
        if len(folded) == 1 and folded in PLATE_SEPARATORS:
            continue
        if not _PLATE_CHAR.fullmatch(folded) or (folded != ch and not _plain_variant(ch)):
            fold = f" (a compatibility form of {folded!r})" if folded != ch and folded.isprintable() else ""
            raise ValueError(
                f"{_named(ch)} is not a plate character{fold}: a plate is A-Z, 0-9 and Chinese characters, "
                "with spaces, dashes, dots, middle dots or slashes between them"
            )
        kept.append(folded.upper())
    if not kept:
        raise ValueError("a plate needs at least one letter, digit or Chinese character")
    if len(kept) > PLATE_MAX_LENGTH:
        raise ValueError(
            f"a plate is at most {PLATE_MAX_LENGTH} characters without separators ({len(kept)} given)"
        )
    return "".join(kept)


def _plain_variant(ch: str) -> bool:
    """A full-width Latin letter or digit (Ａ, １), or a CJK compatibility ideograph (the same character)."""
    return "\uff01" <= ch <= "\uff5e" or "\uf900" <= ch <= "\ufaff" or "\U0002f800" <= ch <= "\U0002fa1f"


def _named(ch: str) -> str:
    """A character as an error message shows it: its code point and name, never the character itself."""
    category = unicodedata.category(ch)
    return f"U+{ord(ch):04X} {unicodedata.name(ch, '') or _CATEGORY_WORDS.get(category, category)}"


@dataclass(frozen=True, slots=True)
class PlateMatch:
    """A text checked against a grammar: the (possibly corrected) text and whether it is valid."""

    text: str
    valid: bool
    corrections: int = 0  # characters swapped for a look-alike
    # The grammar whose form the text has (as read or corrected; valid or, for O/0, not); "" for none.
    grammar: str = ""
    # How sure each character of a valid read must be, by that grammar (see Grammar.min_char_confidence).
    min_char_confidence: float = 0.0


@dataclass(frozen=True, slots=True)
class Grammar:
    """A plate grammar: a full-match pattern and, optionally, per-position class templates; or several
    grammars combined (`members`, see `grammar`)."""

    name: str
    pattern: re.Pattern[str]
    templates: tuple[str, ...] = ()  # strings over CLASSES' keys, one class per character
    # Each character must be at least this sure for the read to be valid. A grammar with no position
    # classes cannot catch a look-alike (O/0, D/0, 4/L), so its reads must be surer.
    min_char_confidence: float = 0.0
    # Characters that make a read not valid: on many plates (US states, Slovakia) O and 0 are one glyph, and
    # reference lists write it either way; a grammar without position classes cannot say which it is.
    ambiguous: str = ""
    longest: int = 9  # characters in the longest plate of the grammar
    # Characters beyond A-Z0-9 its plates hold: the reader must keep them (vision/plate_decode.py).
    script: str = ""
    # Its plates without their characters of `script`, or with a Latin letter for the first: a Latin read of
    # this form is such a plate with its province character (and 挂) unread, or read as a letter (MAHG892 of
    # 皖AHG892, the letter at 0.99), and no Latin grammar of a lane may claim it.
    headless: re.Pattern[str] | None = None
    members: tuple[Grammar, ...] = ()  # a lane's grammars, in its order of preference

    def check(self, raw: str) -> PlateMatch:
        """Normalise, match, and correct look-alikes where a template demands another class."""
        text = normalise_plate(raw)
        if self.members:
            return self._check_members(text)
        if self.ambiguous and any(ch in self.ambiguous for ch in text):
            grammatical = self.name if self.pattern.fullmatch(text) else ""
            return PlateMatch(text, False, grammar=grammatical)
        if self.pattern.fullmatch(text):
            return PlateMatch(text, True, 0, self.name, self.min_char_confidence)
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
        return PlateMatch(counted[0][1], True, counted[0][0], self.name, self.min_char_confidence)

    def _check_members(self, text: str) -> PlateMatch:
        # A Latin read that is a Chinese plate without its province character is no other country's plate.
        headless = any(g.headless is not None and g.headless.fullmatch(text) for g in self.members)
        matches = [g.check(text) for g in self.members if g.script or not headless]
        valid = [m for m in matches if m.valid]
        if not valid:
            return next((m for m in matches if m.grammar), PlateMatch(text, False))
        first = valid[0]  # the lane's first grammar that holds
        # Another grammar holding on another text is another country's plate read in the same characters:
        # the first stands only when it needed fewer swaps (5DZ1630 is Cambodian as read and Vietnamese
        # 50Z1630 with one swap; which it is, the reader cannot tell).
        if any(m.text != first.text and m.corrections <= first.corrections for m in valid[1:]):
            as_read = next((m.grammar for m in valid if m.text == text), first.grammar)
            return PlateMatch(text, False, grammar=as_read)  # a plate's form, of two countries
        return first

    def split_two_line(self, text: str) -> tuple[str, str] | None:
        """Where a valid plate would break into two rows (Vietnamese `51C` / `12345`), if it has a rule."""
        for g in self.members or (self,):
            if g.name == "vietnam":
                m = _VN_PARTS.fullmatch(text)
                if m:
                    return m.group(1) + m.group(2), m.group(3)
        return None


def _apply(template: str, text: str) -> str | None:
    out = []
    for cls, ch in zip(template, text, strict=True):
        allowed = CLASSES[cls]
        if ch not in allowed:
            swapped = DIGIT_FOR_LETTER.get(ch) or LETTER_FOR_DIGIT.get(ch)
            if swapped is None or swapped not in allowed:
                return None
            ch = swapped
        out.append(ch)
    return "".join(out)


def _pattern(templates: Sequence[str]) -> str:
    """The regular expression of texts that fit one of the templates as they are."""
    return "|".join("".join(f"[{CLASSES[c]}]" for c in t) for t in templates)


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

VIETNAM = Grammar("vietnam", re.compile(_VN_PARTS.pattern), _VN_TEMPLATES, longest=9)
# China (GA 36-2018): the province character, the office's letter, then five letters or digits (`桂A12345`;
# yellow plates of large vehicles alike); a trailer has four and 挂 (`桂A1234挂`); new-energy plates six:
# small vehicles D or F, a letter or digit, four digits (`粤BD12345`), large ones five digits then D or F
# (`粤B12345D`).
_CN_TEMPLATES = ("PMNNNNN", "PMNNNNT", "PMENDDDD", "PMDDDDDE")
CHINA = Grammar(
    "china",
    re.compile(_pattern(_CN_TEMPLATES)),
    _CN_TEMPLATES,
    longest=8,
    script=CN_PROVINCES + CN_TRAILER,
    headless=re.compile(
        f"[A-Z]?(?:{_pattern([t.replace('P', '').replace('T', '') for t in _CN_TEMPLATES])})"
    ),
)
# Cambodia: a class digit, one or two letters, four digits (`2D-0008`, `2AB-1234`).
_KH_TEMPLATES = ("DLDDDD", "DLLDDDD")
CAMBODIA = Grammar("cambodia", re.compile(_pattern(_KH_TEMPLATES)), _KH_TEMPLATES, longest=7)
# Any 4-9 character A-Z0-9 plate (the openalpr sets: US, EU and Brazilian plates), with at least one
# letter and one digit to be valid: an all-letter read is nearly always a word near the plate (a state
# name, a dealer, PRIVATE), an all-digit one a phone number or a plate with its letters cut off. Such reads
# are still returned, only never claimed valid.
GENERIC = Grammar(
    "generic", re.compile(r"(?=.*[0-9])(?=.*[A-Z])[A-Z0-9]{4,9}"), min_char_confidence=0.92, ambiguous="O0"
)
# Foreign plates in Latin letters under the GMS cross-border transport agreement (Thailand's Latin GMS
# plates, China's Latin GMS plates, Myanmar): letters and digits, 4-9 characters, at least one digit.
# Lao plates are written in Lao script, which no reader here knows (docs/vision.md).
GMS = Grammar("gms", re.compile(r"(?=.*[0-9])[A-Z0-9]{4,9}"), min_char_confidence=0.92, ambiguous="O0")

GRAMMARS: dict[str, Grammar] = {g.name: g for g in (VIETNAM, CHINA, CAMBODIA, GENERIC, GMS)}


def grammar(names: str | Sequence[str]) -> Grammar:
    """The grammar called `names` (vietnam, china, cambodia, generic, gms), or several combined in the
    given order (a lane's grammars); ValueError naming the known ones for an unknown name."""
    chosen = [names] if isinstance(names, str) else list(dict.fromkeys(names))
    unknown = [n for n in chosen if n not in GRAMMARS]
    if unknown:
        raise ValueError(f"unknown plate grammar {unknown[0]!r}; known: {', '.join(GRAMMARS)}")
    if not chosen:
        raise ValueError(f"no plate grammar named; known: {', '.join(GRAMMARS)}")
    if len(chosen) == 1:
        return GRAMMARS[chosen[0]]
    members = tuple(GRAMMARS[n] for n in chosen)
    return Grammar(
        "+".join(chosen),
        re.compile("|".join(f"(?:{g.pattern.pattern})" for g in members)),
        # The strictest member's: a caller that does not read PlateMatch.min_char_confidence errs safe.
        min_char_confidence=max(g.min_char_confidence for g in members),
        longest=max(g.longest for g in members),
        script="".join(dict.fromkeys("".join(g.script for g in members))),
        members=members,
    )


def display(text: str, name: str) -> str:
    """The plate as printed: `51C12345` -> `51C-123.45` for Vietnam, `桂A12345` -> `桂A·12345` for China,
    `2D0008` -> `2D-0008` for Cambodia; unchanged otherwise. `name` may be a combination (`vietnam+china`):
    the first of its grammars whose form the text has prints it."""
    for part in name.split("+"):
        g = GRAMMARS.get(part)
        if g is None or not g.pattern.fullmatch(text):
            continue
        if part == "vietnam":
            m = _VN_PARTS.fullmatch(text)
            if m:
                serial = m.group(3)
                serial = f"{serial[:3]}.{serial[3:]}" if len(serial) == 5 else serial
                return f"{m.group(1)}{m.group(2)}-{serial}"
        if part == "china":
            return f"{text[:2]}·{text[2:]}"
        if part == "cambodia":
            return f"{text[:-4]}-{text[-4:]}"
        return text
    return text
