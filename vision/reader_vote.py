"""Two readers of one plate, combined: PP-OCR's line read and the plate-trained slot reader's read.

The readers fail differently. PP-OCR (CTC over a text line) merges a run of one digit, reads a plate
frame's words with the plate and sees O/0, B/8, 4/L alike on US plates; the plate reader (nine slots
over a whole plate crop, vision/plate_reader.py) reads two-line plates and US fonts, but misreads the
first digit of many Vietnamese plates, and sometimes an O as a D. Where one is unsure the other often
is not. For one place (a hypothesis box) read by both:

- **agreement** (the same text once the grammar has corrected each read): each character's probability
  becomes 1 - (1 - a)(1 - b), both readers wrong the same way, capped by the product of the two
  readers' distributions, and not raised at all where both hesitate towards the same other character
  (`_SHARED`: a look-alike both confuse, O read as D on Brazilian plates); the read is `agreed`, and
  needs no confirming crop (two readers of the crop are the second read);
- **the same length, characters that differ**: each position is decided by the product of the two
  readers' distributions there (the read character, its runner-up, the rest spread), each first
  restricted to the class the grammar's templates demand at that position (a digit in a Vietnamese
  serial: a plate reader sure of a C there is sure of no digit); among the texts the unsure positions
  allow, one the grammar holds first, then the likeliest. A position where the
  readers read different characters keeps the product's probability only when it is the one such
  position, the chosen character's reader was sure of it (`_SURE`) and the other reader was not sure of
  its own (`_UNSURE`): the Vietnamese province digit the plate reader guesses. Otherwise its probability
  is halved: two sure readers that disagree mean the read is not to be trusted (never valid);
- **different lengths**: the grammatical read first, then the surer; halved, never valid. Unless the
  plate reader was unsure of its read (`_OPINION`): then it has no say, and PP-OCR's reads stand.

Every PP-OCR read of the place that the plate reader did not confirm keeps its text but has its
probabilities halved: a plate reader that reads something else there is a disagreement.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from vision.candidates import Candidate, Judge, contested, ranked
from vision.hypotheses import Box
from vision.plate_reader import ALPHABET, SlotRead
from vision.read import LineRead
from vision.reader_choice import GrammarReaders, PlateReaderKind

PPOCR, CCT = PlateReaderKind.PPOCR, PlateReaderKind.CCT
_BOTH = GrammarReaders.every((PPOCR, CCT))

_CHARS = ALPHABET.replace("_", "")  # what both readers can read: 0-9, A-Z
_FLOOR = 1e-4  # no character is impossible to a reader: a zero would veto the other reader outright
_SURE = 0.9  # a reader this sure of a character it alone read may carry a disagreement...
_UNSURE = 0.5  # ...when the other reader was less sure than this of its own
_DISAGREEMENT = 0.5  # a disagreement not carried: the position's probability is multiplied by this
# A plate reader's read of another length whose weakest character is less sure than this is no opinion
# (a word beside the plate read as `1R6A95`, 0.24): PP-OCR's reads stand, to be confirmed as usual.
_OPINION = 0.5
_SHARED = 0.05  # both readers giving one other character this much: a look-alike they share (no raise)
_OPEN = 0.9  # a position whose best combined character is less sure than this is left open
_MAX_TEXTS = 64  # texts tried over the open positions at most

Dist = npt.NDArray[np.float64]


def slot_line(read: SlotRead) -> LineRead:
    """The plate reader's read as a line read (each kept slot's runner-up included), for the grammar."""
    runners: list[tuple[str, float]] = []
    for slot, ch in zip(_kept(read), read.text, strict=True):
        row = read.probs[slot, : len(_CHARS)].astype(np.float64)
        row[_CHARS.index(ch)] = -1.0
        best = int(row.argmax())
        runners.append((_CHARS[best], float(row[best])))
    return LineRead(read.text, read.char_conf, tuple(runners))


def vote(ppocr: Sequence[Candidate], slots: SlotRead, judge: Judge, box: Box) -> list[Candidate]:
    """The candidates of one place read by both readers: PP-OCR's reads there and the slot read combined."""
    mine = judge.plate(slot_line(slots), box)
    if mine is None:  # the plate reader read nothing: PP-OCR's reads stand, to be confirmed as usual
        return list(ppocr)
    if not ppocr:  # the plate reader alone (PP-OCR not configured): its read stands, confirmed as usual
        return [mine]
    same = [c for c in ppocr if c.text == mine.text]
    if same:
        theirs = max(same, key=lambda c: c.confidence)
        probs = tuple(
            _agreeing(
                _line_dist(theirs, i),
                _slot_dist(mine, slots, i),
                _CHARS.index(ch),
                theirs.probs[i],
                mine.probs[i],
            )
            for i, ch in enumerate(mine.text)
        )
        agreed = replace(theirs, probs=probs, valid=judge.holds(mine.text) and min(probs) >= judge.surest)
        return [replace(agreed, agreed=True), *_doubted(ppocr, mine.text)]
    even = [c for c in ppocr if len(c.text) == len(mine.text)]
    if even:
        merged = _merge(max(even, key=lambda c: c.confidence), mine, slots, judge)
        return [merged, *_doubted(ppocr, merged.text)]
    if mine.confidence < _OPINION:  # the plate reader does not know what it read: no disagreement
        return list(ppocr)
    # Different lengths: the grammatical read, then the surer; never valid.
    pick = max([mine, *ppocr], key=lambda c: (c.grammatical, c.confidence))
    return [_halved(pick), *_doubted(ppocr, pick.text)]


def _doubted(ppocr: Sequence[Candidate], text: str) -> list[Candidate]:
    return [_halved(c) for c in ppocr if c.text != text]


def _halved(c: Candidate) -> Candidate:
    return replace(c, probs=tuple(p * _DISAGREEMENT for p in c.probs), valid=False, agreed=False)


def _merge(theirs: Candidate, mine: Candidate, slots: SlotRead, judge: Judge) -> Candidate:
    """Two reads of one length that differ: each position decided by both readers' distributions,
    each restricted to the class (digit, letter) the grammar's templates demand there."""
    n = len(mine.text)
    lane = judge.grammar
    # A lane's grammars together have no templates of their own: its members' (vietnam's, cambodia's).
    templates = lane.templates or tuple(t for g in lane.members for t in g.templates)
    classes = _classes(templates, (theirs.text, mine.text))
    line_raw = [_normalised(_line_dist(theirs, i)) for i in range(n)]
    slot_raw = [_normalised(_slot_dist(mine, slots, i)) for i in range(n)]
    line = [_restricted(d, c) for d, c in zip(line_raw, classes, strict=True)]
    slot = [_restricted(d, c) for d, c in zip(slot_raw, classes, strict=True)]
    # What each reader reads at each position once the position's class is imposed, and how sure.
    reads = [(_CHARS[int(a.argmax())], _CHARS[int(b.argmax())]) for a, b in zip(line, slot, strict=True)]
    combined = [_normalised(a * b) for a, b in zip(line, slot, strict=True)]
    options = []
    for i, dist in enumerate(combined):
        order = np.argsort(dist)[::-1]
        differ = reads[i][0] != reads[i][1]
        options.append([_CHARS[k] for k in order[: 2 if differ or dist[order[0]] < _OPEN else 1]])
    texts = ("".join(t) for t in itertools.islice(itertools.product(*options), _MAX_TEXTS))
    text = max(
        texts,
        key=lambda t: (
            judge.holds(t),
            sum(math.log(combined[i][_CHARS.index(ch)]) for i, ch in enumerate(t)),
        ),
    )
    differing = [i for i in range(n) if reads[i][0] != reads[i][1]]
    probs = []
    for i, ch in enumerate(text):
        k = _CHARS.index(ch)
        # How sure each reader was of its character of the class: what it gave it before the restriction
        # (a plate reader sure of a C where a digit must be was not sure of any digit).
        a = float(line_raw[i][_CHARS.index(reads[i][0])])
        b = float(slot_raw[i][_CHARS.index(reads[i][1])])
        if reads[i][0] == reads[i][1] == ch:
            p = _agreeing(line[i], slot[i], k, a, b)
        else:
            carried = len(differing) == 1 and (
                (ch == reads[i][0] and a >= _SURE and b < _UNSURE)
                or (ch == reads[i][1] and b >= _SURE and a < _UNSURE)
            )
            p = float(combined[i][k]) * (1.0 if carried else _DISAGREEMENT)
        probs.append(p)
    probs_t = tuple(probs)
    valid = judge.holds(text) and min(probs_t) >= judge.surest
    base = theirs if sum(a == b for a, b in zip(text, theirs.text, strict=True)) >= n / 2 else mine
    grammar = judge.grammar.check(text).grammar  # the form of the text chosen, not of either read
    return replace(
        base,
        text=text,
        probs=probs_t,
        valid=valid,
        grammatical=judge.holds(text),
        agreed=False,
        grammar=grammar,
    )


def _agreeing(line: Dist, slot: Dist, k: int, a: float, b: float) -> float:
    """Both readers' probability of the character k they both read at one position (each sure of it
    by a and b): both wrong the same way, 1 - (1 - a)(1 - b), but no more than the product of their
    distributions gives it.

    Where both readers hesitate towards the same other character (a Brazilian O that both read as a D,
    each giving O a good part), they are not independent there: the surer reader's own probability.
    """
    others_line, others_slot = line.copy(), slot.copy()
    others_line[k] = others_slot[k] = 0.0
    if others_line.argmax() == others_slot.argmax() and min(others_line.max(), others_slot.max()) >= _SHARED:
        return max(a, b)
    product = _normalised(line * slot)
    return min(1.0 - (1.0 - a) * (1.0 - b), float(product[k]))


def _classes(templates: Sequence[str], texts: Sequence[str]) -> list[str]:
    """Per position, the class every template that one of `texts` fits demands there: D (a digit), L (a
    letter) or "" (either, or no template fits)."""
    n = len(texts[0])
    fitting = [t for t in templates if len(t) == n and any(_fits(t, text) for text in texts)]
    out = []
    for i in range(n):
        demanded = {t[i] for t in fitting}
        out.append(demanded.pop() if len(demanded) == 1 and demanded <= {"D", "L"} else "")
    return out


def _fits(template: str, text: str) -> bool:
    return all(
        c == "A" or (c == "D" and ch.isdigit()) or (c == "L" and ch.isalpha())
        for c, ch in zip(template, text, strict=True)
    )


def _restricted(dist: Dist, cls: str) -> Dist:
    """The distribution over the characters of class `cls` only (all for ""), normalised."""
    if cls:
        keep = np.array([(ch.isdigit() if cls == "D" else ch.isalpha()) for ch in _CHARS])
        dist = np.where(keep, dist, 0.0)
    return _normalised(dist)


def _line_dist(c: Candidate, i: int) -> Dist:
    """A PP-OCR read's distribution at position i: its character, its runner-up, the rest spread."""
    rest = 1.0 - c.probs[i]
    dist = np.full(len(_CHARS), 0.0)
    if i < len(c.runners_up) and c.runners_up[i][0] in _CHARS:
        runner, p = c.runners_up[i]
        rest -= p
        dist[_CHARS.index(runner)] = p
    dist = np.where(dist > 0, dist, max(rest, 0.0) / (len(_CHARS) - 2))
    dist[_CHARS.index(c.text[i])] = c.probs[i]
    return np.asarray(np.maximum(dist, _FLOOR), dtype=np.float64)


def _slot_dist(c: Candidate, slots: SlotRead, i: int) -> Dist:
    """The plate reader's softmax at its i-th kept slot, with a character the grammar corrected swapped
    in."""
    dist = slots.probs[_kept(slots)[i], : len(_CHARS)].astype(np.float64)
    read = slots.text[i]
    if read != c.text[i]:
        k, j = _CHARS.index(read), _CHARS.index(c.text[i])
        dist[k], dist[j] = dist[j], c.probs[i]
    return np.asarray(np.maximum(dist, _FLOOR), dtype=np.float64)


def _normalised(dist: Dist) -> Dist:
    return np.asarray(dist / dist.sum(), dtype=np.float64)


def _kept(read: SlotRead) -> list[int]:
    """The slots whose characters make the text (a pad between two characters is skipped, as decoded)."""
    return [s for s, k in enumerate(read.probs.argmax(axis=1).tolist()) if ALPHABET[k] != "_"]


def combine(
    ppocr: Sequence[Candidate],
    reads: dict[Box, SlotRead],
    judge: Judge,
    readers: GrammarReaders = _BOTH,
    aside: Sequence[Candidate] = (),
) -> list[Candidate]:
    """Every place's candidates, PP-OCR's reads voted with the slot read of their box where there is one
    and the grammar the place is read in names both readers (`place`; by default every grammar does).

    `aside`: PP-OCR's A-Z0-9 reads of the places that the grammar set aside for a constrained read (a
    lane with China's plates: `29178725` gave way to `新Z78725`), voted where the plate reader reads
    a plate's form there and PP-OCR's candidates hold nothing it can write.
    """
    out = [c for c in ppocr if c.box not in reads]
    for box, slots in reads.items():
        here = [c for c in ppocr if c.box == box]
        out.extend(place(here, slots, judge, box, readers, [c for c in aside if c.box == box]))
    # A grammar the plate reader reads alone: PP-OCR's reads of its form, left as they were, are not valid.
    unvoted = {id(c) for c in ppocr}
    return [
        replace(c, valid=False) if c.valid and id(c) in unvoted and PPOCR not in readers.of(c.grammar) else c
        for c in out
    ]


def place_grammar(here: Sequence[Candidate]) -> str:
    """The grammar a place is read in: that of its best-ranked read in some grammar's form; "" for none."""
    return next((c.grammar for c in ranked(contested(list(here))) if c.grammar), "")


def place(
    here: Sequence[Candidate],
    slots: SlotRead,
    judge: Judge,
    box: Box,
    readers: GrammarReaders = _BOTH,
    aside: Sequence[Candidate] = (),
) -> list[Candidate]:
    """One place's candidates, read by the readers of the grammar it is read in.

    The grammar is that of PP-OCR's best read there in some grammar's form, else the plate reader's.
    Its readers without the plate reader (a Chinese plate: it has no province characters): PP-OCR's
    reads stand, unvoted. With it: PP-OCR's reads the plate reader can write are voted with its read;
    those it cannot (a constrained read with a province character) stand beside them. A place PP-OCR
    read only in characters the plate reader cannot write stays PP-OCR's, unless the plate reader reads
    a plate's form there and the vote of PP-OCR's reads set `aside` with it makes a valid plate. A vote
    whose best read is of a grammar the plate reader does not read is not taken.
    """
    mine = judge.plate(slot_line(slots), box)
    grammar = place_grammar(here) or (mine.grammar if mine else "")
    use = readers.of(grammar)
    latin = [c for c in here if CCT.writes(c.text)]
    if CCT not in use:
        return list(here)
    set_aside = bool(here) and not latin
    if set_aside:
        latin = [c for c in aside if CCT.writes(c.text)]
        if not (mine and mine.grammar and latin):  # the plate reader alone never stands for PP-OCR here
            return list(here)
    if PPOCR not in use:
        return [mine] if mine else []
    voted = vote(latin, slots, judge, box)
    if set_aside:
        # Brought back only as a valid plate both readers make of it (a Lao plate's `N21234` voted with
        # the plate reader's `7Z1234` is neither's plate: the place stays PP-OCR's, of no form).
        voted = [v for v in voted[:1] if v.valid and all(v is not c for c in latin)]
        if not voted:
            return list(here)
    best = ranked(contested(voted))
    if best and best[0].grammar and CCT not in readers.of(best[0].grammar):
        return list(here)
    return voted + [c for c in here if not CCT.writes(c.text)]
