"""Evaluation on a labelled folder: `labels.csv` with `filename,text[,x,y,w,h]`.

With a box, the whole pipeline runs on the scene (detection included) and the box only says which of
the reads is the labelled object: the best read whose region overlaps the box (none if no read does).
Without a box the image is a crop and the reader (with two-row and vertical handling) runs on it.
`reader_only` cuts the labelled box out instead of detecting: what the reader scores on a perfect
detection, which tells detection misses from misreads.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from vision.candidates import Candidate, ranked
from vision.hypotheses import Box, overlap
from vision.identity import ReadKind
from vision.pipeline import Recognizer
from vision.read import Image


@dataclass(frozen=True, slots=True)
class Sample:
    filename: str
    text: str
    box: Box | None


@dataclass(frozen=True, slots=True)
class Outcome:
    sample: Sample
    read: str
    valid: bool
    confidence: float
    ms: float


@dataclass(frozen=True, slots=True)
class Report:
    n: int
    exact: float
    # Exact when the letter O and the digit 0 count as one character: on many plates (US states,
    # Slovakia) they are one glyph, and reference sets write it either way (openalpr us: always 0; eu: O).
    exact_o_is_0: float
    char_acc: float
    valid_share: float
    valid_precision: float
    p50_ms: float
    p95_ms: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def load_labels(folder: Path) -> list[Sample]:
    """The samples of `folder/labels.csv`; ValueError naming the file when it is missing or malformed."""
    path = folder / "labels.csv"
    if not path.is_file():
        raise ValueError(f"{path}: no labels.csv")
    samples = []
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if not row.get("filename") or row.get("text") is None:
                raise ValueError(f"{path}: rows need filename and text")
            coords = [row.get(k) or "" for k in ("x", "y", "w", "h")]
            box = tuple(int(float(v)) for v in coords) if all(coords) else None
            samples.append(Sample(row["filename"], row["text"].upper(), box))  # type: ignore[arg-type]
    return samples


def pick(candidates: list[Candidate], box: Box) -> Candidate | None:
    """The read of the labelled object: the best of those overlapping the box; None if none does.

    A read elsewhere in the photo is of another object (a second car's plate): scoring it against the
    label would count a right read of that car as a misread of this one, and a miss as a read.
    """
    inside = [c for c in candidates if overlap(c.box, box) > 0.3]
    return ranked(inside)[0] if inside else None


# Around a labelled box cut out for the reader alone, in box heights. Labelled boxes are drawn round the
# plate's frame already; more margin brings in the text around the plate (openalpr, reader only, exact at
# 0.05 / 0.15 / 0.3: us 69.4 / 63.9 / 49.1 %, eu 80.0 / 80.0 / 78.2 %, br 89.1 / 87.3 / 81.8 %).
BOX_MARGIN = 0.05


def run(
    recognizer: Recognizer,
    folder: Path,
    kind: ReadKind,
    progress: Callable[[Outcome], None] | None = None,
    reader_only: bool = False,
) -> tuple[Report, list[Outcome]]:
    """Run the pipeline on every sample and score it."""
    outcomes = []
    for outcome in _outcomes(recognizer, folder, kind, reader_only):
        outcomes.append(outcome)
        if progress:
            progress(outcome)
    return score(outcomes), outcomes


def _outcomes(recognizer: Recognizer, folder: Path, kind: ReadKind, reader_only: bool) -> Iterator[Outcome]:
    for sample in load_labels(folder):
        start = time.perf_counter()
        raw = cv2.imread(str(folder / sample.filename), cv2.IMREAD_COLOR)
        if raw is None:
            yield Outcome(sample, "", False, 0.0, (time.perf_counter() - start) * 1000)
            continue
        image = np.asarray(raw, dtype=np.uint8)
        if sample.box is None:
            found = recognizer.read_crop(image, kind)
        elif reader_only:
            found = recognizer.read_crop(cut_box(image, sample.box), kind)
        else:
            found = pick(recognizer.read_frame(image, kind), sample.box)
        ms = (time.perf_counter() - start) * 1000
        if found is None:
            yield Outcome(sample, "", False, 0.0, ms)
        else:
            yield Outcome(sample, found.text, found.valid, found.confidence, ms)


def cut_box(image: Image, box: Box, margin: float = BOX_MARGIN) -> Image:
    """The labelled box with `margin` box heights around it, clipped to the image."""
    x, y, w, h = box
    m = round(margin * h)
    return np.ascontiguousarray(image[max(0, y - m) : y + h + m, max(0, x - m) : x + w + m])


def char_accuracy(truth: str, read: str) -> float:
    """1 - Levenshtein distance / length of the truth (floored at 0)."""
    previous = list(range(len(read) + 1))
    for i, a in enumerate(truth, 1):
        current = [i]
        for j, b in enumerate(read, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b)))
        previous = current
    return max(0.0, 1.0 - previous[-1] / max(1, len(truth)))


def score(outcomes: list[Outcome]) -> Report:
    """Exact match, character accuracy, share and precision of valid reads, latency percentiles."""
    n = len(outcomes)
    if n == 0:
        return Report(0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    exact = sum(o.read == o.sample.text for o in outcomes)
    exact_o0 = sum(_o_is_0(o.read) == _o_is_0(o.sample.text) for o in outcomes)
    valid = [o for o in outcomes if o.valid]
    ms = np.array([o.ms for o in outcomes])
    return Report(
        n=n,
        exact=round(exact / n, 4),
        exact_o_is_0=round(exact_o0 / n, 4),
        char_acc=round(sum(char_accuracy(o.sample.text, o.read) for o in outcomes) / n, 4),
        valid_share=round(len(valid) / n, 4),
        valid_precision=round(sum(o.read == o.sample.text for o in valid) / len(valid), 4) if valid else 1.0,
        p50_ms=round(float(np.percentile(ms, 50)), 1),
        p95_ms=round(float(np.percentile(ms, 95)), 1),
    )


def _o_is_0(text: str) -> str:
    return text.replace("O", "0")
