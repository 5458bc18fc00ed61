"""Which plate readers read which grammar's plates: the readers, the characters each can write, and a
lane's choice per grammar (`GrammarReaders`), which the pipeline applies place by place.

A reader that cannot write a character of a grammar's plates would read every such plate wrong, and as
sure as any other: it is never chosen for that grammar. Choosing per grammar lets a lane with Chinese and
Vietnamese plates keep the plate-trained reader for its Vietnamese ones (docs/vision.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from vision import plates
from vision.plates import Grammar


class PlateReaderKind(StrEnum):
    """A plate reader: PP-OCR's text line recognizer (read.py) or the plate-trained slot reader
    (plate_reader.py, `cct`)."""

    PPOCR = "ppocr"
    CCT = "cct"

    @property
    def characters(self) -> str | None:
        """The characters the reader can put in a plate; None: open (PP-OCR's model reads about 18 700,
        CJK included)."""
        if self is PlateReaderKind.PPOCR:
            return None
        from vision.plate_reader import ALPHABET, PAD

        return ALPHABET.replace(PAD, "")

    def writes(self, text: str) -> bool:
        """Whether the reader can write every character of `text`."""
        alphabet = self.characters
        return alphabet is None or all(ch in alphabet for ch in text)


Readers = tuple[PlateReaderKind, ...]


def grammar_characters(g: Grammar) -> str:
    """The characters beyond 0-9 and A-Z that a grammar's plates hold (a lane's grammars together): those
    it declares (`script`) and those its pattern names (a province character is written into the pattern;
    A-Z0-9 are written as ranges)."""
    declared = "".join(m.script for m in (g, *g.members))
    named = (ch for ch in g.pattern.pattern if not ch.isascii() and ch.isprintable())
    return "".join(sorted({*declared, *named}))


def unreadable(readers: Readers, grammar_name: str | tuple[str, ...]) -> str | None:
    """Why `readers` cannot read the grammar's plates (a reader whose alphabet lacks some of their
    characters), or None. `grammar_name` may list a lane's grammars."""
    lane = plates.grammar(grammar_name)
    needed = grammar_characters(lane)
    for reader in readers:
        missing = "".join(ch for ch in needed if not reader.writes(ch))
        if missing:
            return (
                f"plate reader {reader.value!r} cannot read the {lane.name!r} grammar's plates: its "
                f"alphabet has no {missing[:12]}{'...' if len(missing) > 12 else ''}"
            )
    return None


def able(grammar_name: str) -> Readers:
    """Every reader that can write the grammar's plates (the default for a grammar)."""
    return tuple(r for r in PlateReaderKind if unreadable((r,), grammar_name) is None)


def ordered(readers: set[PlateReaderKind]) -> Readers:
    """The readers in one fixed order (PP-OCR first)."""
    return tuple(r for r in PlateReaderKind if r in readers)


@dataclass(frozen=True, slots=True)
class GrammarReaders:
    """The plate readers of each of a lane's grammars; a plate of another grammar, or of none (a read no
    grammar holds), is read by `rest`, every reader of the lane's grammars.

    A place read in one grammar's form is voted by that grammar's readers only (vision/reader_vote.py).
    """

    by_grammar: tuple[tuple[str, Readers], ...] = ()
    rest: Readers = (PlateReaderKind.PPOCR,)

    @classmethod
    def every(cls, readers: Readers) -> GrammarReaders:
        """The same readers for every grammar (the list form of `plate_readers`)."""
        return cls((), tuple(dict.fromkeys(readers)))

    @classmethod
    def of_lane(cls, chosen: dict[str, Readers]) -> GrammarReaders:
        """Each of the lane's grammars with its readers; the rest read by all of them."""
        return cls(tuple(chosen.items()), ordered({r for rs in chosen.values() for r in rs}))

    def of(self, grammar_name: str) -> Readers:
        """The readers of plates in the grammar's form (`""`: in none)."""
        return next((rs for name, rs in self.by_grammar if name == grammar_name), self.rest)

    @property
    def used(self) -> Readers:
        """Every reader some grammar reads with: those to run on a frame."""
        return ordered({*self.rest, *(r for _, rs in self.by_grammar for r in rs)})
