"""Detection, layout handling, reading and grammar on one frame or one crop: the per-frame pipeline.

The detector runs on a downscaled frame (or the camera's region of interest); the reader runs on crops
cut from the full-resolution frame, all hypotheses of a frame in one batch. Grammar picks what is a
plate or a container number; nothing here knows about cameras, time or the lane.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from vision.candidates import Candidate, Judge, contested, ranked
from vision.config import YOLO_KIND_LABELS, VisionConfig
from vision.detect import TEXT_LABEL, Detector, TextDetector, YoloDetector
from vision.hypotheses import (
    Box,
    Hypothesis,
    add_columns,
    add_layouts,
    add_neighbours,
    add_regions,
    add_row_splits,
    add_serial_room,
    overlap,
    plausible,
    restretched,
    wider,
)
from vision.identity import ReadKind
from vision.plates import Grammar, grammar
from vision.read import Image, LineRead, ModelError, TextReader

# The class a region detector gives each kind's regions (checked in VisionConfig and build_recognizer).
_LABEL_OF = dict(zip((ReadKind.PLATE, ReadKind.CONTAINER), YOLO_KIND_LABELS, strict=True))


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
        self.reader = reader
        self.judge = Judge(grammar, min_valid_confidence)
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
            found = ranked(contested(found + self._read_at(crop, kind, max(h, w))))
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
        region_crops, line_of = add_regions(view, regions, kind, crops, hyps, rows=two_rows)
        if kind is ReadKind.CONTAINER:
            add_columns(view, regions, crops, hyps)
        lines = self._read(crops, kind)
        if kind is ReadKind.CONTAINER:
            extended, more = add_serial_room(view, regions, line_of, lines, len(crops), hyps)
            if more:
                crops.extend(more)
                lines.extend(self._read(more, kind))
            regions = regions + extended
        add_neighbours(regions, hyps, kind)
        found = self.judge.score(lines, hyps, kind)
        if two_rows:
            return found
        found = self._confirm(found, lambda c: wider(view, c.box))
        confirmed = {(c.text, c.box) for c in found if c.valid}
        # Second pass, plates: a region as square as a two-line plate that read as nothing valid is cut
        # into its rows. Most regions of a frame are one line or clutter, so most frames need no row crops;
        # none once a plate of the frame has read valid and been confirmed (one vehicle at the stop line).
        if confirmed:
            return found
        taken = [c.box for c in found if c.valid]
        rows = add_row_splits(regions, region_crops, line_of, lines, taken, len(crops), hyps)
        if not rows:
            return found
        found = self.judge.score(lines + self._read(rows, kind), hyps, kind)
        return self._confirm(found, lambda c: wider(view, c.box), confirmed)

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
            second = self.judge.score(lines, mine, ReadKind.PLATE)
            if second and max(second, key=lambda c: c.confidence).text == todo[k].text:
                agreed.add(k)
        refused = {(c.text, c.box) for k, c in enumerate(todo) if k not in agreed}
        return ranked([replace(c, valid=False) if (c.text, c.box) in refused else c for c in found])

    def _judge(self, crops: list[Image], hyps: list[Hypothesis], kind: ReadKind) -> list[Candidate]:
        return self.judge.score(self._read(crops, kind), hyps, kind)

    def _read(self, crops: list[Image], kind: ReadKind) -> list[LineRead]:
        start = time.perf_counter()
        lines = self.reader.read(crops, background_pad=kind is ReadKind.CONTAINER)
        self.timings.read_ms += (time.perf_counter() - start) * 1000
        self.timings.crops += len(crops)
        return lines


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
