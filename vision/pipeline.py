"""Detection, layout handling, reading and grammar on one frame or one crop: the per-frame pipeline.

The detector runs on a downscaled frame (or the camera's region of interest); the reader runs on crops
cut from the full-resolution frame, all hypotheses of a frame in one batch. Grammar picks what is a
plate or a container number; nothing here knows about cameras, time or the lane.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from vision import iso6346, layout
from vision.config import YOLO_KIND_LABELS, VisionConfig
from vision.detect import TEXT_LABEL, Detector, Region, TextDetector, YoloDetector, crop_quad, quad_from_box
from vision.hypotheses import (
    Box as Box,
)
from vision.hypotheses import (
    Hypothesis,
    add_columns,
    add_layouts,
    add_neighbours,
    crop_margin,
    plausible,
    restretched,
    upright_quad,
    wider,
)
from vision.identity import ReadKind
from vision.plates import Grammar, grammar
from vision.read import Image, LineRead, ModelError, TextReader

_CORRECTED_PENALTY = 0.85  # a character the grammar changed is less certain than the reader said
_UNSURE = 0.9  # below this, the reader's runner-up is worth trying in a check-digit repair
# A container read needing more look-alike swaps than this to pass its check digit is likely other text
# (a tare weight, a slogan) that happened to fit: with enough swaps one string in ten passes by chance.
_MAX_CONTAINER_FIXES = 1
# A valid read must beat every different read of the same place by this much (weakest-character
# probability): two readings of one plate that the reader rates alike mean it cannot tell them apart.
_MARGIN = 0.2
# A detected region is cut into two plate rows only when it is about as square as a two-line plate
# (Vietnamese: about 1.4:1) and tall enough for two readable rows.
_TWO_ROW_WIDEST = 2.2
_MIN_ROW_HEIGHT = 10


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

    @property
    def confidence(self) -> float:
        return min(self.probs) if self.probs else 0.0


@dataclass(slots=True)
class Timings:
    """Milliseconds spent per stage on the last frame."""

    detect_ms: float = 0.0
    read_ms: float = 0.0
    regions: int = 0
    crops: int = 0


class Recognizer:
    """The per-frame pipeline: detector + reader + grammar for plates and ISO 6346 for containers."""

    def __init__(
        self,
        detector: Detector,
        reader: TextReader,
        grammar: Grammar,
        det_sizes: Sequence[int] = (640,),
        max_regions: int = 16,
        min_valid_confidence: float = 0.8,
    ) -> None:
        self.detector = detector
        self.min_valid_confidence = min_valid_confidence
        self.reader = reader
        self.grammar = grammar
        self.det_sizes = tuple(det_sizes)
        self.max_regions = max_regions
        self.timings = Timings()

    def read_crop(self, crop: Image, kind: ReadKind) -> Candidate | None:
        """Read a crop that holds one plate or one container code (one row, two rows or vertical)."""
        h, w = crop.shape[:2]
        crops: list[Image] = []
        hyps: list[Hypothesis] = []
        add_layouts(crop, (0, 0, w, h), kind, crops, hyps)
        found = self._judge(crops, hyps, kind)
        if kind is ReadKind.PLATE:
            found = self._confirm(found, lambda c: [restretched(crop)])
        elif not any(c.valid for c in found) and isinstance(self.detector, TextDetector):
            # A container code read as lines gave no valid number: the parts painted apart (the boxed
            # check digit, which a line read drops) are found as regions of their own and joined.
            # Judged together: a valid part-read must still beat a near rival of the line reads.
            found = ranked(_contested(found + self._read_at(crop, kind, max(h, w))))
        return _best(found)

    def read_frame(self, frame: Image, kind: ReadKind, roi: Box | None = None) -> list[Candidate]:
        """Every plate or container number found in the frame (or its region of interest), best first."""
        x0, y0 = (roi[0], roi[1]) if roi else (0, 0)
        view = frame[roi[1] : roi[1] + roi[3], roi[0] : roi[0] + roi[2]] if roi else frame
        self.timings = Timings()
        found: list[Candidate] = []
        # The same detection scale as for the whole frame: a region of interest costs fewer pixels, not
        # finer ones (a quarter of the frame is detected in about a quarter of the time). A finer scale's
        # reads replace the coarser ones' where they overlap, and only there: a plate read (not valid) at
        # one scale may be missed at the next, which reads other things.
        shrink = max(view.shape[:2]) / max(frame.shape[:2])
        # A YOLO export has one input size: a second pass would detect the same regions again.
        sizes = self.det_sizes if isinstance(self.detector, TextDetector) else self.det_sizes[:1]
        for size in sizes:
            finer = self._read_at(view, kind, max(160, round(size * shrink)))
            kept = [c for c in found if not any(overlap(c.box, f.box) > 0.3 for f in finer)]
            found = ranked(finer + kept)
            if any(c.valid for c in found):
                break
        if x0 or y0:
            found = [_shift(c, x0, y0) for c in found]
        return found

    def _read_at(self, view: Image, kind: ReadKind, size: int) -> list[Candidate]:
        start = time.perf_counter()
        if isinstance(self.detector, TextDetector):
            regions = self.detector.detect(view, size)
        else:
            regions = self.detector.detect(view)
        self.timings.detect_ms += (time.perf_counter() - start) * 1000
        # A region detector that names its classes (YOLO): only the sought kind's regions are read.
        regions = [r for r in regions if r.label in (TEXT_LABEL, _LABEL_OF[kind])]
        regions = plausible(regions, kind)[: self.max_regions]
        self.timings.regions += len(regions)
        crops: list[Image] = []
        hyps: list[Hypothesis] = []
        two_rows = kind is ReadKind.CONTAINER  # plates: only where the one-line read gave nothing valid
        region_crops = []
        line_of: list[int] = []  # the index of each region's one-line crop (-1: none)
        for region in regions:
            crop = crop_quad(view, upright_quad(region, kind), pad=crop_margin(region, kind))
            region_crops.append(crop)
            line_of.append(len(crops) if crop.size and not layout.is_vertical(*crop.shape[1::-1]) else -1)
            add_layouts(crop, region.box, kind, crops, hyps, rows=two_rows)
        if kind is ReadKind.CONTAINER:
            add_columns(view, regions, crops, hyps)
        lines = self._read(crops, kind)
        if kind is ReadKind.CONTAINER:
            regions = regions + self._serials_extended(view, regions, line_of, lines, crops, hyps)
        add_neighbours(regions, hyps, kind)
        found = self._score(lines, hyps, kind)
        if two_rows:
            return found
        found = self._confirm(found, lambda c: wider(view, c.box))
        confirmed = {(c.text, c.box) for c in found if c.valid}
        # Second pass, plates: a region as square as a two-line plate that read as nothing valid is cut
        # into its rows. Most regions of a frame are one line or clutter, so most frames need no row crops;
        # none once a plate of the frame has read valid and been confirmed (one vehicle at the stop line).
        more: list[Image] = []
        if confirmed:
            return found
        for region, crop, line in zip(regions, region_crops, line_of, strict=True):
            _, _, w, h = region.box
            if not layout.may_be_two_rows(w, h, _TWO_ROW_WIDEST) or h < 2 * _MIN_ROW_HEIGHT:
                continue
            # Clutter reads as nothing; a two-line plate read as one line still shows some characters.
            if line < 0 or len(lines[line].text) < 2:
                continue
            if any(c.valid and overlap(c.box, region.box) > 0.5 for c in found):
                continue
            split = layout.split_rows(crop)
            if split is not None:
                first = len(crops) + len(more)
                more.extend(split)
                hyps.append(Hypothesis(region.box, [first, first + 1]))
        if not more:
            return found
        found = self._score(lines + self._read(more, kind), hyps, kind)
        return self._confirm(found, lambda c: wider(view, c.box), confirmed)

    def _serials_extended(
        self,
        view: Image,
        regions: list[Region],
        line_of: list[int],
        lines: list[LineRead],
        crops: list[Image],
        hyps: list[Hypothesis],
    ) -> list[Region]:
        """Serials read without their check digit, read again with the room to their right.

        The check digit is painted in a box a little apart from the serial; the detector often finds
        no region for it (`DRYU 213877 [4]`). A region that reads as six digits alone is cut again,
        widened to the right by a character or so, and read; its read joins the others (appended to
        `lines`, with a hypothesis and a region of its own for the joins with the owner code).
        """
        extended: list[Region] = []
        more: list[Image] = []
        for region, line in zip(regions, line_of, strict=True):
            if line < 0 or not _SERIAL_ALONE.fullmatch(lines[line].text):
                continue
            x, y, w, h = region.box
            x, y = max(0, x), max(0, y)  # a YOLO box may start outside the frame
            x1 = min(view.shape[1], x + w + round(_SERIAL_ROOM * h))
            crop = np.ascontiguousarray(view[y : y + h, x:x1])
            if x1 <= x + w or min(crop.shape[:2]) < 4:  # no room to the right: nothing more to read
                continue
            box = (x, y, x1 - x, h)
            more.append(crop)
            hyps.append(Hypothesis(box, [len(crops) + len(more) - 1]))
            extended.append(Region(quad_from_box(*box), region.score))
        if more:
            crops.extend(more)
            lines.extend(self._read(more, ReadKind.CONTAINER))
        return extended

    def _confirm(
        self,
        found: list[Candidate],
        variants: Callable[[Candidate], list[Image]],
        confirmed: set[tuple[str, Box]] | None = None,
    ) -> list[Candidate]:
        """Valid plate reads that a second, differently framed crop of the same place does not read
        alike: not valid.

        One crop can fool the reader in ways another of the same plate does not: a box that cut the
        plate (`SU216` of `6LSU216`: the wider crop shows the rest), a run of one digit merged by CTC
        (`30E9999` of `30E99999`: stretched, the run splits), two letters read swapped. A read is kept
        valid only when the second crop's surest read is the same text (its confidence already passed).
        `confirmed`: reads (text, box) an earlier confirmation of this frame kept valid.
        """
        todo = [c for c in found if c.valid and (c.text, c.box) not in (confirmed or set())]
        if not todo:
            return found
        crops: list[Image] = []
        hyps: list[Hypothesis] = []
        owner: list[int] = []  # for each hypothesis, the index in `todo` it confirms
        for k, cand in enumerate(todo):
            for variant in variants(cand):
                before = len(hyps)
                add_layouts(variant, cand.box, ReadKind.PLATE, crops, hyps)
                owner.extend([k] * (len(hyps) - before))
        lines = self._read(crops, ReadKind.PLATE)
        agreed: set[int] = set()
        for k in range(len(todo)):
            mine = [h for h, o in zip(hyps, owner, strict=True) if o == k]
            second = self._score(lines, mine, ReadKind.PLATE)
            if second and max(second, key=lambda c: c.confidence).text == todo[k].text:
                agreed.add(k)
        refused = {(c.text, c.box) for k, c in enumerate(todo) if k not in agreed}
        return ranked([replace(c, valid=False) if (c.text, c.box) in refused else c for c in found])

    def _judge(self, crops: list[Image], hyps: list[Hypothesis], kind: ReadKind) -> list[Candidate]:
        return self._score(self._read(crops, kind), hyps, kind)

    def _read(self, crops: list[Image], kind: ReadKind) -> list[LineRead]:
        start = time.perf_counter()
        lines = self.reader.read(crops, background_pad=kind is ReadKind.CONTAINER)
        self.timings.read_ms += (time.perf_counter() - start) * 1000
        self.timings.crops += len(crops)
        return lines

    def _score(self, lines: list[LineRead], hyps: list[Hypothesis], kind: ReadKind) -> list[Candidate]:
        out: dict[tuple[str, Box], Candidate] = {}
        for hyp in hyps:
            line = LineRead("", (), ())
            for i in hyp.parts:
                line = line + lines[i]
            for cand in self._grammar(line, kind, hyp.box):
                key = (cand.text, cand.box)
                if key not in out or cand.confidence > out[key].confidence:
                    out[key] = cand
        return ranked(_contested(list(out.values())))

    def _grammar(self, line: LineRead, kind: ReadKind, box: Box) -> list[Candidate]:
        if kind is ReadKind.PLATE:
            whole = self._plate(line, box)
            if whole is None or len(whole.text) <= self.grammar.longest or iso6346.find(line.text):
                return [whole] if whole else []
            return [whole, *self._pieces(line, box)]
        found = []
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
            found.append(
                Candidate(kind, repaired.text, fixed_probs, valid, box, runners, repaired.corrections)
            )
        return found

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
            if (p := self._plate(line.segment(a, b), box)) is not None and p.grammatical and not p.corrections
        ]
        if not pieces:
            return []
        top = max(pieces, key=lambda p: len(p.text))
        alone = all(p.text in top.text for p in pieces)
        return [p if p is top and alone else replace(p, valid=False) for p in pieces]

    def _plate(self, line: LineRead, box: Box) -> Candidate | None:
        match = self.grammar.check(line.text)
        if len(match.text) != len(line.text) or not match.text:
            return None
        probs = _penalise(line.probs, line.text, match.text)
        surest = max(self.min_valid_confidence, self.grammar.min_char_confidence)
        valid = match.valid and min(probs) >= surest
        return Candidate(
            ReadKind.PLATE, match.text, probs, valid, box, line.runners_up, match.corrections, match.valid
        )


# The class a region detector gives each kind's regions (checked in VisionConfig and build_recognizer).
_LABEL_OF = dict(zip((ReadKind.PLATE, ReadKind.CONTAINER), YOLO_KIND_LABELS, strict=True))

# A container serial read without its check digit, and how far (in heights) to widen it to the right.
_SERIAL_ALONE = re.compile(r"[0-9]{6}")
_SERIAL_ROOM = 0.9


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


def overlap(a: Box, b: Box) -> float:
    """Intersection over the smaller box's area."""
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    smaller = min(a[2] * a[3], b[2] * b[3])
    return ix * iy / smaller if smaller > 0 else 0.0


def _contested(candidates: list[Candidate]) -> list[Candidate]:
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


def _differs_little(a: str, b: str) -> bool:
    return len(a) == len(b) and sum(x != y for x, y in zip(a, b, strict=True)) <= 2


def _best(candidates: list[Candidate]) -> Candidate | None:
    return candidates[0] if candidates else None


def _shift(c: Candidate, dx: int, dy: int) -> Candidate:
    x, y, w, h = c.box
    return replace(c, box=(x + dx, y + dy, w, h))


def build_recognizer(config: VisionConfig) -> Recognizer:
    """The configured recognizer: models, threads, detection sizes, grammar and thresholds of `config`.

    Sessions are created here, once; ModelError when a model is missing or not ONNX, or when the YOLO
    model's classes do not name both kinds.
    """
    yolo_model, yolo_labels, threads = config.yolo_model, config.yolo_labels, config.threads
    if yolo_model is not None and not set(YOLO_KIND_LABELS) <= set(yolo_labels):
        raise ModelError(
            f"{yolo_model}: its classes {yolo_labels} must include {', '.join(YOLO_KIND_LABELS)}"
        )
    detector: Detector = (
        YoloDetector(yolo_model, yolo_labels, threads)
        if yolo_model is not None
        else TextDetector(config.det_model, threads, config.det_sizes[0])
    )
    reader = TextReader(config.rec_model, threads, config.rec_batch)
    return Recognizer(
        detector,
        reader,
        grammar(config.grammar),
        config.det_sizes,
        config.max_regions,
        config.min_valid_confidence,
    )
