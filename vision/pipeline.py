"""Detection, layout handling, reading and grammar on one frame or one crop: the per-frame pipeline.

The detector runs on a downscaled frame (or the camera's region of interest); the reader runs on crops
cut from the full-resolution frame, all hypotheses of a frame in one batch. Grammar picks what is a
plate or a container number; nothing here knows about cameras, time or the lane.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vision import iso6346, layout
from vision.detect import Detector, Region, TextDetector, YoloDetector, crop_quad, quad_from_box
from vision.identity import ReadKind
from vision.plates import Grammar
from vision.read import Image, LineRead, TextReader

Box = tuple[int, int, int, int]  # x, y, w, h in frame pixels

_CORRECTED_PENALTY = 0.85  # a character the grammar changed is less certain than the reader said
_UNSURE = 0.9  # below this, the reader's runner-up is worth trying in a check-digit repair


@dataclass(frozen=True, slots=True)
class Candidate:
    """One object read in one frame: text, per-character probabilities, validity and where it is."""

    kind: ReadKind
    text: str
    probs: tuple[float, ...]
    valid: bool
    box: Box
    runners_up: tuple[tuple[str, float], ...] = ()

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


@dataclass(slots=True)
class _Hypothesis:
    box: Box
    parts: list[int] = field(default_factory=list)  # indices of crops read and joined in order


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
        hyps: list[_Hypothesis] = []
        _add_layouts(crop, (0, 0, w, h), kind, crops, hyps)
        return _best(self._judge(crops, hyps, kind))

    def read_frame(self, frame: Image, kind: ReadKind, roi: Box | None = None) -> list[Candidate]:
        """Every plate or container number found in the frame (or its region of interest), best first."""
        x0, y0 = (roi[0], roi[1]) if roi else (0, 0)
        view = frame[roi[1] : roi[1] + roi[3], roi[0] : roi[0] + roi[2]] if roi else frame
        self.timings = Timings()
        found: list[Candidate] = []
        for size in self.det_sizes:
            found = self._read_at(view, kind, size)
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
        regions = _plausible(regions, view.shape[1], view.shape[0])[: self.max_regions]
        self.timings.regions += len(regions)
        crops: list[Image] = []
        hyps: list[_Hypothesis] = []
        for region in regions:
            crop = crop_quad(view, region.quad, pad=0.12)
            _add_layouts(crop, region.box, kind, crops, hyps)
        if kind is ReadKind.CONTAINER:
            _add_columns(view, regions, crops, hyps)
            _add_neighbours(regions, hyps)
        return self._judge(crops, hyps, kind)

    def _judge(self, crops: list[Image], hyps: list[_Hypothesis], kind: ReadKind) -> list[Candidate]:
        start = time.perf_counter()
        lines = self.reader.read(crops)
        self.timings.read_ms += (time.perf_counter() - start) * 1000
        self.timings.crops += len(crops)
        out: dict[tuple[str, Box], Candidate] = {}
        for hyp in hyps:
            line = LineRead("", (), ())
            for i in hyp.parts:
                line = line + lines[i]
            for cand in self._grammar(line, kind, hyp.box):
                key = (cand.text, cand.box)
                if key not in out or cand.confidence > out[key].confidence:
                    out[key] = cand
        # Valid first, then the tallest characters (a plate's number, not the state name above it).
        return sorted(
            out.values(), key=lambda c: (not c.valid, -(min(c.box[2], c.box[3]) // 4), -c.confidence)
        )

    def _grammar(self, line: LineRead, kind: ReadKind, box: Box) -> list[Candidate]:
        if kind is ReadKind.PLATE:
            match = self.grammar.check(line.text)
            if len(match.text) != len(line.text) or not match.text:
                return []
            probs = _penalise(line.probs, line.text, match.text)
            valid = match.valid and min(probs) >= self.min_valid_confidence
            return [Candidate(kind, match.text, probs, valid, box, line.runners_up)]
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
            valid = repaired.valid and min(fixed_probs) >= self.min_valid_confidence
            found.append(Candidate(kind, repaired.text, fixed_probs, valid, box, runners))
        return found


def _penalise(probs: tuple[float, ...], before: str, after: str) -> tuple[float, ...]:
    return tuple(
        p if a == b else p * _CORRECTED_PENALTY for p, a, b in zip(probs, before, after, strict=True)
    )


def _best(candidates: list[Candidate]) -> Candidate | None:
    return candidates[0] if candidates else None


def _shift(c: Candidate, dx: int, dy: int) -> Candidate:
    x, y, w, h = c.box
    return Candidate(c.kind, c.text, c.probs, c.valid, (x + dx, y + dy, w, h), c.runners_up)


def _add_layouts(crop: Image, box: Box, kind: ReadKind, crops: list[Image], hyps: list[_Hypothesis]) -> None:
    """Hypotheses for one region: one line; two rows joined; a vertical stack of characters."""
    h, w = crop.shape[:2]
    if h < 4 or w < 4:
        return
    if layout.is_vertical(w, h):
        stacked = layout.stack_vertical(crop)
        if stacked is not None:
            crops.append(stacked)
            hyps.append(_Hypothesis(box, [len(crops) - 1]))
        return
    crops.append(crop)
    hyps.append(_Hypothesis(box, [len(crops) - 1]))
    if layout.may_be_two_rows(w, h, 3.0 if kind is ReadKind.PLATE else 5.0):
        rows = layout.split_rows(crop)
        if rows is not None:
            crops.extend(rows)
            top, bottom = len(crops) - 2, len(crops) - 1
            hyps.append(_Hypothesis(box, [top, bottom]))
            if kind is ReadKind.CONTAINER:  # the number alone above its size/type code
                hyps.extend([_Hypothesis(box, [top]), _Hypothesis(box, [bottom])])


def _plausible(regions: list[Region], width: int, height: int) -> list[Region]:
    """Regions big enough to read, largest and surest first."""
    keep = []
    for r in regions:
        _, _, w, h = r.box
        if min(w, h) >= 6 and w * h >= 150:
            keep.append(r)
    keep.sort(key=lambda r: -(r.score * np.sqrt(r.box[2] * r.box[3])))
    return keep


def _add_columns(view: Image, regions: Sequence[Region], crops: list[Image], hyps: list[_Hypothesis]) -> None:
    """Characters detected one under another (a vertical code): their union, read as a stack."""
    chars = sorted((r.box for r in regions if r.box[3] < 2.0 * r.box[2]), key=lambda b: b[1])
    used: set[int] = set()
    for i, first in enumerate(chars):
        if i in used:
            continue
        column = [first]
        for j in range(i + 1, len(chars)):
            last = column[-1]
            b = chars[j]
            centre_gap = abs((b[0] + b[2] / 2) - (last[0] + last[2] / 2))
            if centre_gap < 0.6 * max(b[2], last[2]) and b[1] - (last[1] + last[3]) < 1.5 * last[3]:
                column.append(b)
                used.add(j)
        if len(column) < 3:
            continue
        x0 = min(b[0] for b in column)
        y0 = min(b[1] for b in column)
        x1 = max(b[0] + b[2] for b in column)
        y1 = max(b[1] + b[3] for b in column)
        crop = crop_quad(view, quad_from_box(x0, y0, x1 - x0, y1 - y0), pad=0.1)
        stacked = layout.stack_vertical(crop)
        if stacked is not None:
            crops.append(stacked)
            hyps.append(_Hypothesis((x0, y0, x1 - x0, y1 - y0), [len(crops) - 1]))


def _add_neighbours(regions: Sequence[Region], hyps: list[_Hypothesis]) -> None:
    """Container codes split across boxes (owner code, serial, boxed check digit; or two rows): joined."""
    single = [h for h in hyps if len(h.parts) == 1]
    by_box = {h.box: h.parts[0] for h in single}
    boxes = [r.box for r in regions if r.box in by_box]
    for a in boxes:
        for b in boxes:
            if a == b:
                continue
            same_line = abs(a[1] - b[1]) < 0.5 * a[3] and 0 <= b[0] - (a[0] + a[2]) < 3 * a[3]
            next_row = abs(a[0] - b[0]) < 2 * a[3] and 0 <= b[1] - (a[1] + a[3]) < 1.2 * a[3]
            if same_line or next_row:
                union = (
                    min(a[0], b[0]),
                    min(a[1], b[1]),
                    max(a[0] + a[2], b[0] + b[2]) - min(a[0], b[0]),
                    max(a[1] + a[3], b[1] + b[3]) - min(a[1], b[1]),
                )
                hyps.append(_Hypothesis(union, [by_box[a], by_box[b]]))


def build_recognizer(
    det_model: Path,
    rec_model: Path,
    grammar: Grammar,
    threads: int = 2,
    det_sizes: Sequence[int] = (640,),
    max_regions: int = 16,
    rec_batch: int = 8,
    min_valid_confidence: float = 0.8,
    yolo_model: Path | None = None,
    yolo_labels: tuple[str, ...] = ("plate", "container_code"),
) -> Recognizer:
    """Sessions are created here, once; ModelError when a model is missing or not ONNX."""
    detector: Detector = (
        YoloDetector(yolo_model, yolo_labels, threads)
        if yolo_model is not None
        else TextDetector(det_model, threads, det_sizes[0])
    )
    reader = TextReader(rec_model, threads, rec_batch)
    return Recognizer(detector, reader, grammar, det_sizes, max_regions, min_valid_confidence)
