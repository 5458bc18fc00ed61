"""Fusion across frames: reads of one object combined character by character, weighted by confidence.

Reads of the same object are grouped by text similarity; within a group, the most supported length
wins and each position takes the character with the highest summed probability. A position's
confidence is the winner's summed probability over the number of reads in the group, so a character
that frames disagree on stays uncertain. The fused text is checked again by the grammar.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from vision.candidates import Candidate
from vision.identity import Read, ReadKind
from vision.read import Image


@dataclass(frozen=True, slots=True)
class Observation:
    """One candidate read in one frame, with the frame it came from (for evidence)."""

    candidate: Candidate
    frame: Image | None
    camera: str


def _similar(a: str, b: str) -> bool:
    if len(a) != len(b):
        return abs(len(a) - len(b)) <= 1 and (a in b or b in a)
    return sum(x != y for x, y in zip(a, b, strict=True)) <= max(1, len(a) // 3)


def group(observations: Sequence[Observation]) -> list[list[Observation]]:
    """Observations of the same object (similar text, same kind), biggest group first."""
    groups: list[list[Observation]] = []
    for obs in sorted(observations, key=lambda o: -o.candidate.confidence):
        for g in groups:
            head = g[0].candidate
            if head.kind is obs.candidate.kind and _similar(head.text, obs.candidate.text):
                g.append(obs)
                break
        else:
            groups.append([obs])
    groups.sort(key=lambda g: -sum(o.candidate.confidence for o in g))
    return groups


def fuse(
    observations: Sequence[Observation],
    validate: Callable[[str], tuple[str, bool]],
    jpeg_quality: int = 85,
) -> Read | None:
    """Fuse one group's observations; `validate(text)` returns the grammar's (text, valid).

    The read carries its evidence: the best frame as JPEG, region drawn, and that JPEG's SHA-256.
    """
    if not observations:
        return None
    lengths: dict[int, float] = defaultdict(float)
    for o in observations:
        lengths[len(o.candidate.text)] += o.candidate.confidence + 1e-6
    length = max(lengths, key=lambda k: lengths[k])
    same = [o for o in observations if len(o.candidate.text) == length]
    votes: list[dict[str, float]] = [defaultdict(float) for _ in range(length)]
    for o in same:
        c = o.candidate
        for i, (ch, p) in enumerate(zip(c.text, c.probs, strict=True)):
            votes[i][ch] += p
            if i < len(c.runners_up):
                alt, q = c.runners_up[i]
                votes[i][alt] += q
    text = "".join(max(v, key=lambda ch: v[ch]) for v in votes)
    per_char = [v[ch] / len(same) for v, ch in zip(votes, text, strict=True)]
    checked, valid = validate(text)
    confidence = float(min(1.0, min(per_char))) if per_char else 0.0
    if checked != text:
        confidence *= 0.85
    alternatives = _alternatives(observations, votes, text, checked)
    best = max(observations, key=lambda o: (o.candidate.valid, o.candidate.confidence))
    jpeg = evidence_jpeg(best.frame, best.candidate, jpeg_quality) if best.frame is not None else None
    return Read(
        kind=ReadKind(best.candidate.kind),
        text=checked,
        confidence=round(confidence, 4),
        valid=valid,
        alternatives=alternatives,
        source=best.camera,
        evidence_sha256=hashlib.sha256(jpeg).hexdigest() if jpeg else None,
        evidence_jpeg=jpeg,
        evidence_box=_box(best.candidate) if jpeg else None,
    )


def _alternatives(
    observations: Sequence[Observation], votes: list[dict[str, float]], text: str, chosen: str
) -> tuple[tuple[str, float], ...]:
    """Runner-up texts: other whole reads seen, and the fused text with its weakest position swapped."""
    scores: dict[str, float] = defaultdict(float)
    total = len(observations)
    for o in observations:
        scores[o.candidate.text] += o.candidate.confidence / total
    for i, v in enumerate(votes):
        ranked = sorted(v.items(), key=lambda kv: -kv[1])
        if len(ranked) > 1:
            weight = sum(v.values())
            scores[text[:i] + ranked[1][0] + text[i + 1 :]] += ranked[1][1] / max(weight, 1e-9)
    scores.pop(chosen, None)
    scores.pop(text, None)
    top = sorted(scores.items(), key=lambda kv: -kv[1])[:3]
    return tuple((t, round(s, 4)) for t, s in top)


def _box(candidate: Candidate) -> tuple[int, int, int, int]:
    x, y, w, h = candidate.box
    return int(x), int(y), int(w), int(h)


def evidence_jpeg(frame: Image, candidate: Candidate, quality: int = 85) -> bytes | None:
    """The frame as JPEG with the read's region drawn and its text written above it."""
    image = frame.copy()
    x, y, w, h = candidate.box
    thickness = max(2, image.shape[1] // 480)
    colour = (0, 200, 0) if candidate.valid else (0, 140, 255)
    cv2.rectangle(image, (x, y), (x + w, y + h), colour, thickness)
    cv2.putText(
        image,
        candidate.text,
        (x, max(20, y - 8)),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.5 * thickness,
        colour,
        thickness,
    )
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return bytes(np.asarray(buf).tobytes()) if ok else None
