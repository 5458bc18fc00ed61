"""A fused read names where its object is in its evidence frame, so the kiosk can show it cut out."""

from __future__ import annotations

import numpy as np

from vision.candidates import Candidate
from vision.fuse import Observation, fuse
from vision.identity import ReadKind


def _validate(text: str) -> tuple[str, bool]:
    return text, True


def test_the_evidence_box_is_the_best_frame_s_region_and_absent_without_a_frame() -> None:
    frame = np.full((120, 240, 3), 200, np.uint8)
    weak = Candidate(ReadKind.PLATE, "51C12345", (0.6,) * 8, True, (5, 6, 40, 12))
    strong = Candidate(ReadKind.PLATE, "51C12345", (0.95,) * 8, True, (100, 50, 70, 22))
    fused = fuse([Observation(weak, frame, "a"), Observation(strong, frame, "b")], _validate)
    assert fused is not None
    assert fused.evidence_box == (100, 50, 70, 22)
    assert all(type(v) is int for v in fused.evidence_box)  # JSON-ready, not numpy integers
    bare = fuse([Observation(strong, None, "b")], _validate)
    assert bare is not None
    assert bare.evidence_box is None  # no frame, no evidence image: no box pointing into nothing
