"""Verification at work: a frame's regions read for scoring, and what the verdicts make of the free reads.

`Verifier` cuts out the regions the free reading found in a frame (its candidates' boxes), reads each in
its layouts with PP-OCR and, for plates, with the plate-trained slot reader, and scores the expected
texts (vision/verify.py). `apply` turns one identification window's verdicts into the reads the lane
gets. The free read keeps the last word where it is sure: a valid free read stands as it is, matched
or not, so a truck whose plate is not expected is never matched to one that is by a reader that read it
right; a verified text replaces a free read only when that read is not valid (or is outweighed), and the
free text stays in its alternatives (the decision checks them against the watchlist). A verified plate is
judged by the lane's grammar as any read is (`judged`): the list never makes a text valid.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from vision import iso6346
from vision.candidates import Candidate
from vision.hypotheses import Box, Hypothesis, add_layouts, overlap
from vision.identity import Expected, Identification, Read, ReadKind, ReadPath, Verification
from vision.pipeline import Recognizer
from vision.plate_reader import PlateReader, Probs
from vision.plates import Grammar
from vision.read import EMPTY, Image, LineRead, TextReader
from vision.verify import (
    DEFAULT_MARGINS,
    Floats,
    Margins,
    Verdict,
    ctc_line,
    either,
    has_plate_form,
    judged,
    match,
    own_reads,
)
from vision.verify import relative as relative_to_free
from vision.verify import slot_line as slot_scores

_REGION_MARGIN = 0.1  # cut around a region's box, in its smaller side: the plate's frame, not its neighbours
MAX_REGIONS = 3  # the free reading's first regions (the lane keeps its three best reads of a frame too)
_MAX_CONTAINERS = 2  # a truck carries at most two 20 ft or one 40/45 ft container
_CONTAINER_LENGTH = 11
_SAME_PLACE = 0.7  # a candidate's box overlapping a region this much is a read of it (`vouching`, `regions`)


@dataclass(frozen=True, slots=True, eq=False)
class RegionRead:
    """One region read for scoring: PP-OCR's reads of its layouts (one line, two rows joined, ...) with
    their steps, the slot reader's output for a plate ([slots, 37]; None where it did not read), and the
    free reading's own reads of the place that may vouch for their text (`vouching`)."""

    kind: ReadKind
    lines: tuple[LineRead, ...]
    slots: Probs | None
    said: tuple[tuple[str, tuple[float, ...]], ...] = ()


class Verifier:
    """Scores expected texts against a frame's regions with the pipeline's reader and the slot reader."""

    def __init__(
        self,
        reader: TextReader,
        plate_reader: PlateReader | None = None,
        margins: Margins = DEFAULT_MARGINS,
        longest_plate: int = 9,
        grammar: Grammar | None = None,
    ) -> None:
        self._reader = reader
        self._plate_reader = plate_reader
        self.margins = margins
        self.grammar = grammar  # the lane's plates: a verified plate is judged by it
        # O and 0, one glyph on the plates of a grammar that cannot tell them apart (generic, gms)
        members = (grammar.members or (grammar,)) if grammar is not None else ()
        self._one_glyph = "O0" if any("O" in g.ambiguous and "0" in g.ambiguous for g in members) else ""
        self._longest = {ReadKind.PLATE: longest_plate, ReadKind.CONTAINER: _CONTAINER_LENGTH}

    @classmethod
    def for_recognizer(
        cls, recognizer: Recognizer, margins: Margins = DEFAULT_MARGINS, slots: bool = False
    ) -> Verifier:
        """A verifier reading with the recognizer's own sessions: its PP-OCR reader and, with `slots`, its
        plate-trained reader when it has one loaded.

        Not by default: as a mixture with PP-OCR, the slot reader's confident misreads of Vietnamese
        plates (5 for 6: `61F88270` for `51F88270`, PP-OCR 14 nats against) let a plate a look-alike away
        from the truck's pass: 27 % of vn-plate-vito's images with their own plate replaced by its
        look-alikes, against 0.8 % with PP-OCR alone (docs/vision.md)."""
        plate_reader = recognizer.plate_reader if slots else None
        grammar = recognizer.judge.grammar
        return cls(recognizer.reader, plate_reader, margins, grammar.longest, grammar)

    def read(
        self, image: Image, boxes: Sequence[Box], kind: ReadKind, found: Sequence[Candidate] = ()
    ) -> list[RegionRead]:
        """Each region (box) of the image read for scoring: its layouts by PP-OCR, a plate by the slot
        reader too, with the free reading's reads of it (`found`, the frame's candidates) that vouch for
        their text (`vouching`). The crops of all regions go through each reader in one batch."""
        regions = [cut(image, box) for box in boxes]
        crops: list[Image] = []
        views: list[list[list[int]]] = []  # per region, per layout: the crops read one after the other
        for region, box in zip(regions, boxes, strict=True):
            hyps: list[Hypothesis] = []
            add_layouts(region, box, kind, crops, hyps)
            views.append([h.parts for h in hyps])
        lines = self._reader.read(crops, background_pad=kind is ReadKind.CONTAINER) if crops else []
        slots = (
            [s.probs for s in self._plate_reader.read(regions)]
            if kind is ReadKind.PLATE and self._plate_reader is not None and regions
            else [None] * len(regions)
        )
        return [
            RegionRead(
                kind, tuple(line_of(lines, parts) for parts in layouts), probs, vouching(found, box, kind)
            )
            for layouts, probs, box in zip(views, slots, boxes, strict=True)
        ]

    def score(self, reads: Sequence[RegionRead], texts: Sequence[str]) -> list[Floats]:
        """Every text's score in each region read: one array per region, in `texts`' order."""
        out = []
        for region in reads:
            glyph = self._one_glyph if region.kind is ReadKind.PLATE else ""
            readings = [
                ctc_line(line.steps, texts, self._longest[region.kind], line.extra, glyph)
                for line in region.lines
                if line.steps is not None and len(line.steps)
            ]
            ctc = relative_to_free(readings) if readings else np.full(len(texts), -np.inf)
            if region.slots is not None:
                ctc = either(ctc, relative_to_free([slot_scores(region.slots, texts)]))
            if region.said:
                ctc = np.maximum(ctc, own_reads(region.said, texts, glyph))
            out.append(ctc)
        return out

    def scores(
        self,
        image: Image,
        boxes: Sequence[Box],
        kind: ReadKind,
        texts: Sequence[str],
        found: Sequence[Candidate] = (),
    ) -> list[Floats]:
        """Every text's score in each region (box) of the image: `read`, then `score`."""
        return self.score(self.read(image, boxes, kind, found), texts)

    def check(
        self,
        image: Image,
        boxes: Sequence[Box],
        kind: ReadKind,
        texts: Sequence[str],
        found: Sequence[Candidate] = (),
    ) -> list[Verdict]:
        """The verdicts of one frame: one for the plate (its best region), one per container region.
        `found`: the frame's candidates, whose own reads may vouch for their text (`vouching`)."""
        if not boxes or not texts:
            return []
        return verdicts(texts, self.scores(image, boxes, kind, texts, found), kind, self.margins)


def verdicts(
    texts: Sequence[str], scores: Sequence[Floats], kind: ReadKind, margins: Margins
) -> list[Verdict]:
    """A frame's verdicts from its regions' scores: plates are one object (a text takes its best region,
    the others being clutter); each container region is an object of its own."""
    if not scores:
        return []
    if kind is ReadKind.PLATE:
        return [match(texts, np.max(np.array(scores), axis=0), margins)]
    return [match(texts, s, margins) for s in scores]


def vouching(
    found: Sequence[Candidate], box: Box, kind: ReadKind
) -> tuple[tuple[str, tuple[float, ...]], ...]:
    """The free reading's reads of the region (`box`) that may vouch for their own text: at the same
    place (`_SAME_PLACE`), read as is (no character changed by the grammar or a check-digit repair:
    that character is no reader's) and, for a plate, read alike by both plate readers (`agreed`: a
    position where the readers disagreed is the vote's guess, halved, and the list must not settle it).
    A container number is read by PP-OCR alone, its probabilities as read."""
    return tuple(
        (c.text, c.probs)
        for c in found
        if c.kind is kind
        and overlap(c.box, box) >= _SAME_PLACE
        and not c.corrections
        and (kind is ReadKind.CONTAINER or c.agreed)
    )


def regions(candidates: Sequence[Candidate]) -> list[Box]:
    """The boxes of the free reading's first candidates, one per place.

    A container box mostly inside another counts once (a truck's two containers must both find a
    place). A plate is one object, and a box inside another is another view of it: a plate's row cut
    out of its frame (`PP587AO` under the dealer's `KOVOVYROB`, read whole as `26`) counts as its own
    region unless it is about the same box (`same_box`)."""
    boxes: list[Box] = []
    for c in candidates:
        seen = same_box if c.kind is ReadKind.PLATE else _inside
        if not any(seen(c.box, b) for b in boxes):
            boxes.append(c.box)
        if len(boxes) == MAX_REGIONS:
            break
    return boxes


def same_box(a: Box, b: Box) -> bool:
    """Whether two boxes are about the same (intersection over union at least `_SAME_PLACE`)."""
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    union = a[2] * a[3] + b[2] * b[3] - ix * iy
    return union > 0 and ix * iy / union >= _SAME_PLACE


def _inside(a: Box, b: Box) -> bool:
    return overlap(a, b) >= _SAME_PLACE


def cut(image: Image, box: Box, margin: float = _REGION_MARGIN) -> Image:
    """The box with `margin` of its smaller side around it, clipped to the image."""
    x, y, w, h = box
    m = round(margin * min(w, h))
    return np.ascontiguousarray(image[max(0, y - m) : y + h + m, max(0, x - m) : x + w + m])


def one_object(found: Sequence[Verdict], min_frames: int = 1) -> Verdict | None:
    """One object's verdicts over frames: accepted only when every accepting frame names the same text,
    the accepting frames are more than half the frames scored and at least `min_frames`.

    None when nothing was scored; otherwise the best-scoring accepting verdict, or the best-scoring one
    (not accepted) when the frames did not agree so.
    """
    scored = [v for v in found if v.best is not None]
    if not scored:
        return None
    accepting = [v for v in scored if v.verified]
    # One accepting frame among frames that do not accept is a glimpse, not a read of the window.
    agreed = 2 * len(accepting) > len(scored) and len(accepting) >= min_frames
    if agreed and len({v.text for v in accepting}) == 1:
        return max(accepting, key=lambda v: v.score)
    best = max(scored, key=lambda v: v.score)
    return replace(best, text=None)


def apply(
    ident: Identification,
    plate_verdicts: Sequence[Verdict],
    container_verdicts: Sequence[Verdict],
    margins: Margins = DEFAULT_MARGINS,
    grammar: Grammar | None = None,
    min_frames: int = 1,
) -> Identification:
    """The identification with the window's verdicts applied (`resolve`): verified texts where the free
    reads were not valid or were clearly outweighed, and every read that was checked carrying its scores
    (`Read.verification`).

    A verified plate is valid only when the lane's `grammar` holds it as written (none given: not valid);
    a verified text needs `min_frames` accepting frames (`one_object`)."""
    plate = _plate(ident.plate, one_object(plate_verdicts, min_frames), margins, grammar)
    containers = _containers(ident.containers, container_verdicts, margins, min_frames)
    return Identification(plate=plate, containers=containers)


def record(verdict: Verdict) -> Verification:
    """The verdict as the read carries it (no infinities: they do not go into JSON)."""
    return Verification(
        best=verdict.best or "",
        score=_finite(verdict.score),
        runner_up=verdict.runner_up,
        runner_up_score=_finite(verdict.runner_up_score),
        expected=verdict.expected,
        accepted=verdict.verified,
    )


def _finite(score: float | None) -> float | None:
    return round(score, 3) if score is not None and np.isfinite(score) else None


def resolve(
    free: str, free_valid: bool, verdict: Verdict | None, margins: Margins = DEFAULT_MARGINS
) -> tuple[str | None, ReadPath]:
    """Which text identifies one object, and by which path: an accepted verdict's text (verified), unless
    the free read is valid and the verdict does not outweigh it (`outweighs`) or differs from it in more
    than one position (`one_apart`); then the valid free read (free); None when neither holds (the free
    read, not valid, and no accepted verdict)."""
    matched = verdict.text if verdict is not None else None
    overruled = matched is not None and one_apart(free, matched) and outweighs(verdict, margins)
    if free_valid and not overruled:
        return free, ReadPath.FREE
    if matched is not None:
        return matched, ReadPath.VERIFIED
    return None, ReadPath.FREE


def one_apart(free: str, matched: str) -> bool:
    """Whether a valid free read and a match differ in one position (same length): a valid read of
    another plate is overruled only where the readers wavered on one character, never rewritten."""
    return len(free) == len(matched) and sum(a != b for a, b in zip(free, matched, strict=True)) == 1


def outweighs(verdict: Verdict | None, margins: Margins) -> bool:
    """Whether an accepted verdict overrules a valid free read of another text: only when its text is
    within `margins.overrule` of the free reads, about as likely as what the readers read. A truck whose
    plate is not expected, read right and sure, keeps its own plate and no declaration."""
    return verdict is not None and verdict.score >= -margins.overrule


def _plate(
    free: Read | None, verdict: Verdict | None, margins: Margins, grammar: Grammar | None
) -> Read | None:
    if verdict is None:
        return free
    checked = record(verdict)
    _, path = resolve(free.text if free else "", free is not None and free.valid, verdict, margins)
    if path is ReadPath.FREE:
        return replace(free, verification=checked) if free is not None else None
    return _verified(ReadKind.PLATE, verdict, checked, free, grammar)


def _verified(
    kind: ReadKind, verdict: Verdict, checked: Verification, free: Read | None, grammar: Grammar | None = None
) -> Read:
    """The verified text in place of the free read: judged as a free read is (`judged`), its confidence
    the reader's own support for it (`Verdict.confidence`), the free text kept first among the
    alternatives (every one of them is checked against the watchlist)."""
    text = verdict.text or ""
    base = free or Read(kind, text, 0.0, False)
    said = ((base.text, base.confidence),) if base.text and base.text != text else ()
    valid, form = judged(text, kind, grammar)
    return replace(
        base,
        text=text,
        confidence=round(verdict.confidence, 4),
        valid=valid,
        alternatives=(said + tuple(a for a in base.alternatives if a[0] != text)),
        path=ReadPath.VERIFIED,
        verification=checked,
        grammar=form if kind is ReadKind.PLATE else base.grammar,
    )


def _containers(
    free: Sequence[Read], found: Sequence[Verdict], margins: Margins, min_frames: int = 1
) -> tuple[Read, ...]:
    """Each verified container number (accepted by `min_frames` frames at least) replaces the free read
    most like it (or is added): a read that is not valid, or a valid one it outweighs (`outweighs`); a
    valid read of a like number it does not outweigh stands. A free read of a checked number keeps its
    scores. No valid read is ever dropped: a truck carries two containers at most, so a third valid
    number is for the decision to report (a container not declared), never cut off the list."""
    best: dict[str, Verdict] = {}
    accepting: dict[str, int] = {}
    for v in found:
        if v.text is not None:
            accepting[v.text] = accepting.get(v.text, 0) + 1
    for v in found:
        if v.text is None or accepting[v.text] < min_frames:
            continue
        if v.text not in best or v.score > best[v.text].score:
            best[v.text] = v
    out = list(free)
    for text, v in sorted(best.items(), key=lambda kv: -kv[1].score):
        same = [i for i, r in enumerate(out) if r.valid and r.text == text]
        if same:
            out[same[0]] = replace(out[same[0]], verification=record(v))
            continue
        if any(r.valid and _alike(r.text, text) and not outweighs(v, margins) for r in out):
            continue  # a sure read of this container says another number: it stands
        unsure = [i for i, r in enumerate(out) if r.path is ReadPath.FREE and _alike(r.text, text)]
        if unsure:
            i = max(unsure, key=lambda i: _likeness(out[i].text, text))
            out[i] = _verified(ReadKind.CONTAINER, v, record(v), out[i])
        else:
            out.append(_verified(ReadKind.CONTAINER, v, record(v), None))
    return keep_containers(out)


def keep_containers(reads: Sequence[Read]) -> tuple[Read, ...]:
    """Valid reads first, surest first: every valid one, and reads that are not valid only while fewer
    than a truck carries (`_MAX_CONTAINERS`) are listed. A valid number left out would be a container
    the decision never sees: a truck with an undeclared container would pass."""
    ranked = sorted(reads, key=lambda r: (not r.valid, -r.confidence))
    valid = [r for r in ranked if r.valid]
    return tuple(valid + [r for r in ranked if not r.valid][: max(0, _MAX_CONTAINERS - len(valid))])


def _likeness(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()


def _alike(a: str, b: str) -> bool:
    """Two reads of one container number, one of them misread (more than half the characters agree)."""
    return _likeness(a, b) > 0.5


def expected_texts(expected: Expected | None, kind: ReadKind, grammar: Grammar | None = None) -> list[str]:
    """The expected texts of a kind, sorted (an order for the score arrays): with the lane's `grammar`,
    only plates of its form as written (`has_plate_form`), only valid container numbers."""
    if expected is None:
        return []
    if kind is ReadKind.CONTAINER:
        return sorted(c for c in expected.containers if iso6346.is_valid(c))
    return sorted(p for p in expected.plates if grammar is None or has_plate_form(p, grammar))


def line_of(lines: Sequence[LineRead], parts: Sequence[int]) -> LineRead:
    """The reads of `parts` one after the other (their steps joined)."""
    line = EMPTY
    for i in parts:
        line = line + lines[i]
    return line
