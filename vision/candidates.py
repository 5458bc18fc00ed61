"""Candidates: what the reads of a frame's hypotheses are taken for, judged by the grammar and each other.

A joined read is a plate when the plate grammar holds (or holds on a piece cut at a word break; or,
for a grammar whose plates hold characters beyond A-Z0-9, when the read decoded constrained to it holds:
vision/plate_decode.py) and a container number when an ISO 6346 window of it passes its check digit,
possibly after a look-alike repair. A valid read must be sure enough and beat every rival reading of the
same place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from vision import iso6346
from vision.hypotheses import Box, Hypothesis, overlap
from vision.identity import ReadKind
from vision.plate_decode import constrained
from vision.plates import Grammar
from vision.read import LineRead

_CORRECTED_PENALTY = 0.85  # a character the grammar changed is less certain than the reader said
_UNSURE = 0.9  # below this, the reader's runner-up is worth trying in a check-digit repair
# A container read needing more look-alike swaps than this to pass its check digit is likely other text
# (a tare weight, a slogan) that happened to fit: with enough swaps one string in ten passes by chance.
_MAX_CONTAINER_FIXES = 1
# A character of a grammar's script (China's province character) read less surely than this was not
# seen: the constrained read only guessed it (Lao plates: 0.000; the cn-plate-lprnet set of 94 x 24 px
# Chinese plates: 98 such guesses, 53 right), and the read has that grammar's form by no evidence.
_SCRIPT_SEEN = 0.02
# A valid read must beat every different read of the same place by this much (weakest-character
# probability): two readings of one plate that the reader rates alike mean it cannot tell them apart.
_MARGIN = 0.2


@dataclass(frozen=True, slots=True)
class Candidate:
    """One object read in one frame: text, per-character probabilities, validity and where it is."""

    kind: ReadKind
    text: str
    probs: tuple[float, ...]
    valid: bool
    box: Box
    runners_up: tuple[tuple[str, float], ...] = ()
    corrections: int = 0  # characters the grammar or the check-digit repair changed
    grammatical: bool = False  # a plate by the grammar's pattern, however unsure its characters
    # Both plate readers read this text here (vision.reader_vote): a second, independent read of the same
    # place, so no confirming crop is needed.
    agreed: bool = False
    grammar: str = ""  # the plate grammar whose form the text has (of a lane's grammars); "" for none

    @property
    def confidence(self) -> float:
        return min(self.probs) if self.probs else 0.0


@dataclass(frozen=True, slots=True)
class Judge:
    """The grammar step: reads of hypotheses to candidates, valid only when sure enough."""

    grammar: Grammar
    min_valid_confidence: float = 0.8

    def score(self, lines: list[LineRead], hyps: list[Hypothesis], kind: ReadKind) -> list[Candidate]:
        """The candidates of each hypothesis's joined read: the surest of each (text, box), judged."""
        return ranked(unshadowed(contested(self.candidates(lines, hyps, kind))))

    def candidates(self, lines: list[LineRead], hyps: list[Hypothesis], kind: ReadKind) -> list[Candidate]:
        """The surest candidate of each (text, box) of the hypotheses' joined reads, not yet contested."""
        out: dict[tuple[str, Box], Candidate] = {}
        for hyp in hyps:
            line = LineRead("", (), ())
            for i in hyp.parts:
                line = line + lines[i]
            for cand in self._candidates(line, kind, hyp.box):
                key = (cand.text, cand.box)
                if key not in out or cand.confidence > out[key].confidence:
                    out[key] = cand
        return list(out.values())

    def _candidates(self, line: LineRead, kind: ReadKind, box: Box) -> list[Candidate]:
        if kind is ReadKind.PLATE:
            scripted = self._scripted(line, box)
            whole = self.plate(line, box)
            if (
                whole is not None
                and not whole.valid
                and scripted
                and (not whole.grammar or any(whole.text in s.text or s.grammatical for s in scripted))
            ):
                # An unsure Latin read: the constrained read is this one with the characters it left out,
                # or at least a plate's form where this is none.
                whole = None
            if whole is None or len(whole.text) <= self.grammar.longest or iso6346.find(line.text):
                return [whole, *scripted] if whole else scripted
            return [whole, *self._pieces(line, box), *scripted]
        found: list[tuple[int, Candidate]] = []
        for start in range(max(0, len(line.text) - 10)):
            window = line.text[start : start + 11]
            if len(window) < 11 or not iso6346.find(window):
                continue
            probs = line.probs[start : start + 11]
            runners = line.runners_up[start : start + 11]
            unsure = [alt if p < _UNSURE else "" for (alt, _), p in zip(runners, probs, strict=True)]
            repaired = iso6346.repair(window, unsure)
            fixed_probs = _penalise(probs, window, repaired.text)
            valid = (
                repaired.valid
                and _risky_fixes(window, repaired.text) <= _MAX_CONTAINER_FIXES
                and min(fixed_probs) >= self.min_valid_confidence
            )
            cand = Candidate(kind, repaired.text, fixed_probs, valid, box, runners, repaired.corrections)
            found.append((start, cand))
        return _one_per_text(found)

    def _pieces(self, line: LineRead, box: Box) -> list[Candidate]:
        """Plates cut out of a read longer than any plate, at the reader's word breaks: a plate read
        together with a word beside it (`ARONA ANW2529`, `383NJP NORTHIAM`).

        Only then: a plate read whole with a separator inside (`HLO KTY1`) is never cut to `KTY1`, and a
        container number in the plate camera's view (`MSKU 3866036`) is never cut at all. Only as read:
        a look-alike swap on a piece would make plates of what is not one. And a piece may be valid only
        when it is the one plate of the line, every other piece part of it: when the plate had an unsure
        character (`AB12CDE` not valid), its surer part (`AB12`) must not stand in for it.
        """
        pieces = [
            p
            for a, b in line.segments(longest=self.grammar.longest)
            if (p := self.plate(line.segment(a, b), box)) is not None and p.grammatical and not p.corrections
        ]
        if not pieces:
            return []
        top = max(pieces, key=lambda p: len(p.text))
        alone = all(p.text in top.text for p in pieces)
        return [p if p is top and alone else replace(p, valid=False) for p in pieces]

    def _scripted(self, line: LineRead, box: Box) -> list[Candidate]:
        """The line read constrained to each of the grammars whose plates hold characters beyond A-Z0-9
        (China's province characters, which the A-Z0-9 read leaves out): a plate's Latin part of about
        the grammar's length only (most lines of a frame are not), as each would be read."""
        out = []
        for g in self.grammar.members or (self.grammar,):
            if not g.script or not 3 <= len(line.text) <= g.longest:
                continue
            read = constrained(line, g)
            if read is None or (cand := self.plate(read, box)) is None:
                continue
            if any(p < _SCRIPT_SEEN for ch, p in zip(read.text, read.probs, strict=True) if ch in g.script):
                cand = replace(cand, valid=False, grammatical=False, grammar="")
            out.append(cand)
        return out

    def plate(self, line: LineRead, box: Box) -> Candidate | None:
        """The read as a plate: corrected where the grammar demands, valid when it holds and is sure."""
        match = self.grammar.check(line.text)
        if len(match.text) != len(line.text) or not match.text:
            return None
        probs = _penalise(line.probs, line.text, match.text)
        # As sure as the grammar that holds asks (of a lane's grammars, generic asks more than vietnam).
        valid = match.valid and min(probs) >= max(self.min_valid_confidence, match.min_char_confidence)
        return Candidate(
            ReadKind.PLATE,
            match.text,
            probs,
            valid,
            box,
            line.runners_up,
            match.corrections,
            match.valid,
            grammar=match.grammar,
        )

    @property
    def surest(self) -> float:
        """How sure every character of a valid plate must be."""
        return max(self.min_valid_confidence, self.grammar.min_char_confidence)

    def holds(self, text: str) -> bool:
        """Whether `text` is a valid plate of the grammar as it stands (no correction needed)."""
        match = self.grammar.check(text)
        return match.valid and match.text == text


def _one_per_text(windows: list[tuple[int, Candidate]]) -> list[Candidate]:
    """Of a line's container windows that share characters, the best only (valid, fewest repairs, surest).

    Two windows that overlap read the same painted characters, so at most one of them is a container
    number; the others are that number shifted into the text beside it. A region joining the number with
    the ISO 6346 size-type code painted under it (`TCLU 414002 0` over `42G1`, read `TCLU414002042G1`)
    gave a second container `LUAJ4002042` (look-alike repairs of `LU414002042`), not valid, so the lane
    held a truck whose number was read right. Windows apart (two numbers read as one line) all stay.
    """
    kept: list[tuple[int, Candidate]] = []
    for start, cand in sorted(windows, key=lambda w: (not w[1].valid, w[1].corrections, -w[1].confidence)):
        if all(abs(start - other) >= 11 for other, _ in kept):
            kept.append((start, cand))
    return [cand for _, cand in sorted(kept, key=lambda w: w[0])]


def _risky_fixes(read: str, fixed: str) -> int:
    """Swaps a container repair made, not counting 0 -> O in the owner code (OOLU read 00LU is the most
    common look-alike, and an owner code full of zeros is no other text that could pass by chance)."""
    return sum(
        a != b and not (i < 3 and (a, b) == ("0", "O"))
        for i, (a, b) in enumerate(zip(read, fixed, strict=True))
    )


def _penalise(probs: tuple[float, ...], before: str, after: str) -> tuple[float, ...]:
    return tuple(
        p if a == b else p * _CORRECTED_PENALTY for p, a, b in zip(probs, before, after, strict=True)
    )


def ranked(candidates: Sequence[Candidate]) -> list[Candidate]:
    """Valid first; plates then by character size (the number, not the state name above it); then surest.

    Container regions are often two rows or a stack joined together, so their size says nothing of the
    characters': containers go by confidence alone.
    """

    def key(c: Candidate) -> tuple[bool, int, float]:
        size = min(c.box[2], c.box[3]) // 4 if c.kind is ReadKind.PLATE else 0
        return (not c.valid, -size, -c.confidence)

    return sorted(candidates, key=key)


def contested(candidates: list[Candidate]) -> list[Candidate]:
    """Valid reads that a rival reading of the same place nearly matches in confidence: not valid.

    A rival is another valid text there, or the same text with one or two characters read otherwise
    (another hypothesis of the same region); a shifted window of a longer line is no rival. A valid read
    that is part of a longer valid read of the same place (`SU216` of `6LSU216`) is a fragment: not valid.
    """
    out = []
    for c in candidates:
        here = [o for o in candidates if o.text != c.text and overlap(o.box, c.box) > 0.5]
        fragment = any(o.valid and c.text in o.text for o in here)
        rivalled = any(
            (o.valid or _differs_little(o.text, c.text))
            and o.text not in c.text
            and o.confidence > c.confidence - _MARGIN
            for o in here
        )
        out.append(replace(c, valid=False) if c.valid and (fragment or rivalled) else c)
    return out


def unshadowed(candidates: list[Candidate]) -> list[Candidate]:
    """Container reads, not valid, of the place of a valid one (overlapping it by half): dropped.

    They are the same painted characters read by another hypothesis: the serial joined with the size-type
    code under it (`5060982` over `42G1`, repaired `SOGU9824261`) beside the whole number `HLXU5060982`.
    Kept, each was a container the lane held the truck on. A second container of a truck stands beside the
    first, not on it; a valid read that a close rival made not valid (`contested`) shadows nothing.
    """
    valid = [c.box for c in candidates if c.valid and c.kind is ReadKind.CONTAINER]
    return [
        c
        for c in candidates
        if c.valid or c.kind is not ReadKind.CONTAINER or not any(overlap(c.box, v) > 0.5 for v in valid)
    ]


def _differs_little(a: str, b: str) -> bool:
    return len(a) == len(b) and sum(x != y for x, y in zip(a, b, strict=True)) <= 2
