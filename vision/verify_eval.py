"""`gate-edge vision eval --expected-from-labels`: verification against every label text of a set.

Each image is read as `vision.evaluate` reads it (the whole pipeline on a scene, the reader on a crop or,
with `reader_only`, on the labelled box) and its regions are verified against the set of all the set's
label texts (`vision.verifier`): on a scene, the regions of the reads that overlap the labelled box (a
read elsewhere is another vehicle's). Its match is the valid free read, else the accepted verified text
(`verifier.resolve`, the rule the lane's identification applies), a verified plate counting only where
the lane's grammar holds it as written (`verify.judged`, as the lane judges it). The list holds the
label texts an expected list could (`edge.decision.expected`): plates of the grammar's form as written.

- `verified_exact`: the share of images matched to their own label;
- `false_accept`: the share matched to some other label once their own is removed from the list: what
  happens to a truck whose plate the gate does not expect;
- `by_verification`: the share matched to their own label by the verified path; `overruled`: those of
  them whose free read was valid but said another text (`verifier.outweighs`);
- `near_false_accept`: the share matched to some text once their own is replaced in the list by every
  text a look-alike away from it (`near`: 8/B, 1/I, 6/G, ... swapped, a character left out or doubled):
  a truck whose plate differs from an expected one by the characters the readers confuse most.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from vision import evaluate, iso6346
from vision.candidates import Candidate
from vision.evaluate import Outcome, Report, Sample, cut_box, load_labels, pick
from vision.hypotheses import Box, overlap
from vision.identity import ReadKind, ReadPath
from vision.pipeline import Recognizer
from vision.plates import Grammar
from vision.read import Image
from vision.verifier import Verifier, one_object, regions, resolve, verdicts
from vision.verify import Floats, Margins, Verdict, has_plate_form, judged


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
    near_impostor: str | None  # matched with its own label replaced by texts a look-alike away
    near_path: ReadPath | None = None  # the path that matched near_impostor


@dataclass(frozen=True, slots=True)
class VerifyReport:
    expected: int  # distinct label texts, the list each image is verified against
    verified_exact: float
    false_accept: float
    by_verification: float
    overruled: float  # matched to their own label by verification over a valid free read of another text
    near_false_accept: float  # matched to a text a look-alike away from their own, their own not expected
    near_by_verification: float  # those of them matched by the verified path (the others: the free read)

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
    grammar = recognizer.judge.grammar
    texts = sorted({s.text for s in samples if kind is ReadKind.CONTAINER or has_plate_form(s.text, grammar)})
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
    recognizer: Recognizer, folder: Path, kind: ReadKind, reader_only: bool = False, slots: bool = False
) -> tuple[Report, dict[str, float], list[Outcome], list[str]]:
    """For `gate-edge vision eval --expected-from-labels`: the free reads' report, the verification
    figures, the free outcomes and one line per image not matched to its own label or falsely accepted.
    `slots`: score with the plate-trained reader too (`Verifier.for_recognizer`)."""
    verifier = Verifier.for_recognizer(recognizer, slots=slots)
    report, checked, results = run(recognizer, verifier, folder, kind, reader_only)
    outcomes = [Outcome(r.sample, r.free, r.free_valid, 0.0, 0.0) for r in results]
    return report, dict(checked.as_dict()), outcomes, [line for r in results if (line := misses(r))]


def misses(r: Verified) -> str:
    """What went wrong for one image ('' when it matched its own label and no other)."""
    said = []
    if r.matched != r.sample.text:
        said.append(f"matched {r.matched or '-'} ({r.path.value})")
    if r.impostor is not None:
        said.append(f"FALSE ACCEPT {r.impostor} without its own label")
    if r.near_impostor is not None:
        said.append(
            f"NEAR FALSE ACCEPT {r.near_impostor} by the {r.near_path.value if r.near_path else '-'} path"
            " (a look-alike away, its own label not expected)"
        )
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
        return VerifyReport(expected, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    exact = [r for r in results if r.matched == r.sample.text]
    return VerifyReport(
        expected=expected,
        verified_exact=round(len(exact) / n, 4),
        false_accept=round(sum(r.impostor is not None for r in results) / n, 4),
        by_verification=round(sum(r.path is ReadPath.VERIFIED for r in exact) / n, 4),
        overruled=round(sum(r.path is ReadPath.VERIFIED and r.free_valid for r in exact) / n, 4),
        near_false_accept=round(sum(r.near_impostor is not None for r in results) / n, 4),
        near_by_verification=round(sum(r.near_path is ReadPath.VERIFIED for r in results) / n, 4),
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
        return Verified(sample, "", False, None, ReadPath.FREE, None, None, None)
    image = np.asarray(raw, dtype=np.uint8)
    view, boxes, found, free, free_valid = _reads(recognizer, image, sample.box, kind, reader_only)
    reads = verifier.read(view, boxes, kind, found) if boxes else []
    scores = verifier.score(reads, texts)
    verdict = one_object(verdicts(texts, scores, kind, verifier.margins))
    grammar = recognizer.judge.grammar

    def match_of(verdict: Verdict | None, listed: set[str]) -> tuple[str | None, ReadPath]:
        return _match(free, free_valid, verdict, listed, verifier.margins, kind, grammar)

    matched, path = match_of(verdict, set(texts))
    others = [t for t in texts if t != sample.text]
    keep = np.array([t != sample.text for t in texts])
    without: list[Floats] = [s[keep] for s in scores]
    rival = one_object(verdicts(others, without, kind, verifier.margins))
    impostor, _ = match_of(rival, set(others))
    # The harder case: its own text replaced by texts a look-alike away, as if a truck came whose plate
    # differs from an expected one by a character the readers confuse most.
    script = grammar.script if kind is ReadKind.PLATE else ""
    close = sorted(set(near(sample.text, kind, _plate_of(recognizer), script)) - set(texts))
    with_close = [np.concatenate([w, c]) for w, c in zip(without, verifier.score(reads, close), strict=True)]
    lookalike = one_object(verdicts(others + close, with_close, kind, verifier.margins))
    near_impostor, near_path = match_of(lookalike, set(others + close))
    return Verified(
        sample,
        free,
        free_valid,
        matched,
        path,
        verdict,
        impostor,
        near_impostor,
        near_path if near_impostor is not None else None,
    )


# What a character is read as most often on plates and container codes. Not O for 0 or 0 for O: on US and
# Slovak plates they are one glyph (openalpr us writes it 0, eu O), which no reader can tell apart.
_LOOK_ALIKES = {
    "0": "DQ8",
    "O": "DQC",
    "D": "0O",
    "Q": "0O",
    "1": "I7LT",
    "I": "1LT",
    "L": "1I",
    "T": "1I7",
    "7": "1T",
    "2": "Z",
    "Z": "27",
    "5": "S6",
    "S": "58",
    "6": "G5B",
    "G": "6C",
    "8": "B06S",
    "B": "863",
    "3": "8B",
    "4": "AH",
    "A": "4",
    "H": "NM4",
    "N": "MHW",
    "M": "NW",
    "W": "NMV",
    "V": "UY",
    "U": "VO",
    "Y": "V",
    "K": "X",
    "X": "K",
    "C": "GO",
    "E": "F",
    "F": "E",
    "P": "R",
    "R": "P",
    "9": "0",
}


def near(
    text: str, kind: ReadKind, plausible: Callable[[str], bool] | None = None, script: str = ""
) -> list[str]:
    """Texts a look-alike away from `text`: each character swapped for each of its look-alikes, and for a
    plate each character left out or written twice, kept only when `plausible` (a plate of the lane's
    grammar: a declaration names real plates). A character of the grammar's `script` (China's province
    character) is swapped for every other: on a 94 x 24 px plate PP-OCR gives it a few hundredths, so a
    truck from another province is the look-alike that matters there. A container number keeps its
    check digit right (a declaration's number passes it), so its near numbers differ in two characters."""
    alike = [_LOOK_ALIKES.get(ch, "") + (script.replace(ch, "") if ch in script else "") for ch in text]
    swaps = [text[:i] + alt + text[i + 1 :] for i in range(len(text)) for alt in alike[i]]
    if kind is ReadKind.CONTAINER:
        if len(text) != 11:
            return []
        shaped = [t for t in swaps if t[:4].isalpha() and t[4:10].isdigit() and t[:10] != text[:10]]
        return sorted({c for t in shaped if iso6346.is_valid(c := iso6346.complete(t[:10]))} - {text})
    edits = [text[:i] + text[i + 1 :] for i in range(len(text))] + [
        text[:i] + text[i] + text[i:] for i in range(len(text))
    ]
    return sorted(
        {t for t in swaps + edits if t != text and len(t) >= 2 and (plausible is None or plausible(t))}
    )


def _plate_of(recognizer: Recognizer) -> Callable[[str], bool]:
    """Whether a text is a plate of the recognizer's grammar as it stands (valid, no look-alike swapped)."""

    def plausible(text: str) -> bool:
        checked = recognizer.judge.grammar.check(text)
        return checked.valid and checked.text == text

    return plausible


def _match(
    free: str,
    free_valid: bool,
    verdict: Verdict | None,
    expected: set[str],
    margins: Margins,
    kind: ReadKind,
    grammar: Grammar,
) -> tuple[str | None, ReadPath]:
    """The expected text the object is matched to (None for none) and the path: `resolve`, a verified
    text judged by the grammar as the lane judges it (`judged`), then the decision's own look-up (a valid
    free read matches only when it is expected)."""
    text, path = resolve(free, free_valid, verdict, margins)
    if text is not None and path is ReadPath.VERIFIED and not judged(text, kind, grammar)[0]:
        return None, path
    return (text, path) if text in expected else (None, path)


def _reads(
    recognizer: Recognizer, image: Image, box: Box | None, kind: ReadKind, reader_only: bool
) -> tuple[Image, list[Box], list[Candidate], str, bool]:
    """What is verified (the image or the labelled box cut out), its regions, the free reading's
    candidates there (whose own reads may vouch for their text) and the free read."""
    if box is not None and not reader_only:
        found = recognizer.read_frame(image, kind)
        free = pick(found, box)
        inside = [c for c in found if overlap(c.box, box) > 0.3]
        return image, regions(inside), inside, free.text if free else "", bool(free and free.valid)
    crop = image if box is None else cut_box(image, box)
    h, w = crop.shape[:2]
    read = recognizer.read_crop(crop, kind)
    whole = [(0, 0, w, h)]
    return crop, whole, [read] if read else [], read.text if read else "", bool(read and read.valid)
