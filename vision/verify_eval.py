"""`gate-edge vision eval --expected-from-labels`: verification against every label text of a set.

Each image is read as `vision.evaluate` reads it (the whole pipeline on a scene, the reader on a crop or,
with `reader_only`, on the labelled box) and its regions are verified against the set of all the set's
label texts (`vision.verifier`): on a scene, the regions of the reads that overlap the labelled box (a
read elsewhere is another vehicle's). Its match is the valid free read, else the accepted verified text
(`verifier.resolve`, the rule the lane's identification applies).

- `verified_exact`: the share of images matched to their own label;
- `false_accept`: the share matched to some other label once their own is removed from the list: what
  happens to a truck whose plate the gate does not expect;
- `by_verification`: the share matched to their own label by the verified path (the free read not valid).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from vision import evaluate
from vision.evaluate import Outcome, Report, Sample, cut_box, load_labels, pick
from vision.hypotheses import Box, overlap
from vision.identity import ReadKind, ReadPath
from vision.pipeline import Recognizer
from vision.read import Image
from vision.verifier import Verifier, one_object, regions, resolve, verdicts
from vision.verify import Floats, Margins, Verdict


@dataclass(frozen=True, slots=True)
class Verified:
    """One image: its free read, its match against all labels and against all labels but its own."""

    sample: Sample
    free: str
    free_valid: bool
    matched: str | None
    path: ReadPath
    verdict: Verdict | None
    impostor: str | None  # matched with its own label removed from the list: a false accept


@dataclass(frozen=True, slots=True)
class VerifyReport:
    expected: int  # distinct label texts, the list each image is verified against
    verified_exact: float
    false_accept: float
    by_verification: float
    overruled: float  # matched to their own label by verification over a valid free read of another text

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def run(
    recognizer: Recognizer,
    verifier: Verifier,
    folder: Path,
    kind: ReadKind,
    reader_only: bool = False,
    progress: Callable[[Verified], None] | None = None,
) -> tuple[Report, VerifyReport, list[Verified]]:
    """Read and verify every sample; the free reads scored as `vision eval` scores them, and the matches."""
    samples = load_labels(folder)
    texts = sorted({s.text for s in samples})
    outcomes: list[Outcome] = []
    results: list[Verified] = []
    for sample in samples:
        start = time.perf_counter()
        result = _verify(recognizer, verifier, folder, sample, kind, texts, reader_only)
        outcomes.append(
            Outcome(sample, result.free, result.free_valid, 0.0, (time.perf_counter() - start) * 1000)
        )
        results.append(result)
        if progress:
            progress(result)
    return evaluate.score(outcomes), score(results, len(texts)), results


def run_eval(
    recognizer: Recognizer, folder: Path, kind: ReadKind, reader_only: bool = False
) -> tuple[Report, dict[str, float], list[Outcome], list[str]]:
    """For `gate-edge vision eval --expected-from-labels`: the free reads' report, the verification
    figures, the free outcomes and one line per image not matched to its own label or falsely accepted."""
    report, checked, results = run(recognizer, Verifier.for_recognizer(recognizer), folder, kind, reader_only)
    outcomes = [Outcome(r.sample, r.free, r.free_valid, 0.0, 0.0) for r in results]
    return report, dict(checked.as_dict()), outcomes, [line for r in results if (line := misses(r))]


def misses(r: Verified) -> str:
    """What went wrong for one image ('' when it matched its own label and no other)."""
    said = []
    if r.matched != r.sample.text:
        said.append(f"matched {r.matched or '-'} ({r.path.value})")
    if r.impostor is not None:
        said.append(f"FALSE ACCEPT {r.impostor} without its own label")
    if not said:
        return ""
    v = r.verdict
    scores = (
        f"best {v.best} {v.score:.2f}, runner-up {v.runner_up} {v.runner_up_score or 0:.2f}"
        if v
        else "no region"
    )
    return (
        f"{r.sample.filename}: {r.sample.text} free {r.free or '-'} valid={r.free_valid}: "
        + "; ".join(said)
        + f" [{scores}]"
    )


def score(results: Sequence[Verified], expected: int) -> VerifyReport:
    n = len(results)
    if n == 0:
        return VerifyReport(expected, 0.0, 0.0, 0.0, 0.0)
    exact = [r for r in results if r.matched == r.sample.text]
    return VerifyReport(
        expected=expected,
        verified_exact=round(len(exact) / n, 4),
        false_accept=round(sum(r.impostor is not None for r in results) / n, 4),
        by_verification=round(sum(r.path is ReadPath.VERIFIED for r in exact) / n, 4),
        overruled=round(sum(r.path is ReadPath.VERIFIED and r.free_valid for r in exact) / n, 4),
    )


def _verify(
    recognizer: Recognizer,
    verifier: Verifier,
    folder: Path,
    sample: Sample,
    kind: ReadKind,
    texts: list[str],
    reader_only: bool,
) -> Verified:
    raw = cv2.imread(str(folder / sample.filename), cv2.IMREAD_COLOR)
    if raw is None:
        return Verified(sample, "", False, None, ReadPath.FREE, None, None)
    image = np.asarray(raw, dtype=np.uint8)
    view, boxes, free, free_valid = _reads(recognizer, image, sample.box, kind, reader_only)
    scores = verifier.scores(view, boxes, kind, texts) if boxes else []
    verdict = one_object(verdicts(texts, scores, kind, verifier.margins))
    matched, path = _match(free, free_valid, verdict, set(texts), verifier.margins)
    others = [t for t in texts if t != sample.text]
    keep = np.array([t != sample.text for t in texts])
    without: list[Floats] = [s[keep] for s in scores]
    rival = one_object(verdicts(others, without, kind, verifier.margins))
    impostor, _ = _match(free, free_valid, rival, set(others), verifier.margins)
    return Verified(sample, free, free_valid, matched, path, verdict, impostor)


def _match(
    free: str, free_valid: bool, verdict: Verdict | None, expected: set[str], margins: Margins
) -> tuple[str | None, ReadPath]:
    """The expected text the object is matched to (None for none) and the path: `resolve`, then the
    decision's own look-up (a valid free read matches only when it is expected)."""
    text, path = resolve(free, free_valid, verdict, margins)
    return (text, path) if text in expected else (None, path)


def _reads(
    recognizer: Recognizer, image: Image, box: Box | None, kind: ReadKind, reader_only: bool
) -> tuple[Image, list[Box], str, bool]:
    """What is verified (the image or the labelled box cut out), its regions, and the free read."""
    if box is not None and not reader_only:
        found = recognizer.read_frame(image, kind)
        free = pick(found, box)
        labelled = regions([c for c in found if overlap(c.box, box) > 0.3])
        return image, labelled, free.text if free else "", bool(free and free.valid)
    crop = image if box is None else cut_box(image, box)
    h, w = crop.shape[:2]
    read = recognizer.read_crop(crop, kind)
    return crop, [(0, 0, w, h)], read.text if read else "", bool(read and read.valid)
